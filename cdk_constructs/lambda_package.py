"""Code of a zip-packaged function kept in ``lambdas/<package>/``, shipped as a package of that name.

The asset root is ``lambdas/`` so that the function's modules keep their package and can import each other
relatively, exactly as the tests import them (``lambdas.<package>.handler``); only that package's ``.py``
files are shipped.

A package with a ``requirements.txt`` (a lock with hashes, compiled by ``make lock`` from its
``requirements.in``) gets those packages bundled into its zip, installed for the Lambda platform. That is why
no Lambda layer is looked up: a layer's ARN per region (Powertools publishes it in a public SSM parameter) may be
missing in a region, and was once missing for a whole release (aws-powertools/powertools-lambda-python#7689).

Bundling needs no Docker engine. It runs here, in Python: ``pip install --only-binary=:all: --platform
manylinux2014_x86_64 --python-version <runtime>`` into a cache keyed by the lock's content, then a copy of the
cache and the package's files into the asset. The first synth on a machine downloads the wheels (PyPI); every
later one copies them, and a synth into a cloud assembly that already holds the asset skips bundling, as the
asset's hash is computed from the package's files and its lock before bundling.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, ILocalBundling
from aws_cdk import aws_lambda as lambda_

LAMBDAS_DIR = Path(__file__).resolve().parents[1] / "lambdas"
LOCK_FILE = "requirements.txt"
#: The wheels' platform: Lambda's x86_64 functions run on Amazon Linux 2023 (glibc 2.34), so manylinux2014
#: (glibc 2.17) wheels and pure-Python ones load there. pip accepts the legacy alias of manylinux_2_17_x86_64.
LAMBDA_PLATFORM = "manylinux2014_x86_64"
#: Part of the cache key: change it when what the cache holds changes for the same lock.
CACHE_FORMAT = "1"
CACHE_ENV = "MODEL_MONITOR_LAMBDA_CACHE"


class BundlingError(Exception):
    """The function's packages could not be installed: one line for a person, pip's output kept apart."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


def package_code(package: str, *, runtime: lambda_.Runtime | None = None) -> lambda_.Code:
    """The code of ``lambdas/<package>``; with its locked requirements bundled if it has a ``requirements.txt``.

    :param runtime: the function's runtime, whose Python version the wheels are chosen for. Required when the
        package has requirements.
    """
    folder = LAMBDAS_DIR / package
    if not (folder / "handler.py").is_file():
        raise ValueError(f"package must name a folder of {LAMBDAS_DIR} with a handler.py, got {package!r}")
    source_files = ["*", f"!{package}", f"!{package}/*.py"]
    lock = folder / LOCK_FILE
    if not lock.is_file():
        return lambda_.Code.from_asset(str(LAMBDAS_DIR), exclude=source_files)
    if runtime is None or runtime.family != lambda_.RuntimeFamily.PYTHON:
        raise ValueError(f"runtime must be a Python runtime to install {lock.name} of {package!r}, got {runtime}")
    python_version = runtime.name.removeprefix("python")
    return lambda_.Code.from_asset(
        str(LAMBDAS_DIR),
        # The lock is part of the source: a new pin changes the asset's hash, and so the function.
        exclude=[*source_files, f"!{package}/{LOCK_FILE}"],
        asset_hash_type=AssetHashType.SOURCE,
        bundling=BundlingOptions(
            # Required by CDK, used only if local bundling declines, which it does not: the same install in the
            # runtime's build image, for whoever swaps the local bundler out.
            image=runtime.bundling_image,
            command=[
                "bash",
                "-c",
                f"pip install --no-deps --require-hashes --only-binary=:all: -r {package}/{LOCK_FILE} "
                f"--target /asset-output && mkdir /asset-output/{package} "
                f"&& cp {package}/*.py /asset-output/{package}/",
            ],
            # Installed now, in Python, so that a failure stops synth with one line (app.py), not a jsii trace.
            local=LockedPackages(package=package, dependencies=cached_dependencies(lock, python_version)),
        ),
    )


@jsii.implements(ILocalBundling)
class LockedPackages:
    """Local bundling of ``lambdas/<package>``: its installed requirements (``dependencies``, a folder of the
    cache) and its ``.py`` files."""

    def __init__(self, *, package: str, dependencies: Path) -> None:
        self.package = package
        self.dependencies = dependencies

    def try_bundle(self, output_dir: str, *args: Any, **kwargs: Any) -> bool:
        """Called by CDK with the asset's bundling options, which this ignores: it was built with what it needs."""
        output = Path(output_dir)
        shutil.copytree(self.dependencies, output, dirs_exist_ok=True)
        (output / self.package).mkdir()
        for source in sorted((LAMBDAS_DIR / self.package).glob("*.py")):
            shutil.copyfile(source, output / self.package / source.name)
        return True


def cache_root() -> Path:
    """``$MODEL_MONITOR_LAMBDA_CACHE``, else the user's cache folder: shared by every checkout on the machine
    (the offline diff synthesizes its base in a temporary folder)."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "model-monitor-as-code" / "lambda-packages"


def cached_dependencies(lock: Path, python_version: str) -> Path:
    """A folder holding the packages of ``lock`` installed for the Lambda platform and ``python_version``.

    Built once per lock content; concurrent synths each build into a folder of their own and the first to
    finish publishes it with an atomic rename.
    """
    key_source = f"{CACHE_FORMAT}\n{LAMBDA_PLATFORM}\n{python_version}\n".encode() + lock.read_bytes()
    key = hashlib.sha256(key_source).hexdigest()[:32]
    cached = cache_root() / f"python{python_version}-{key}"
    if cached.is_dir():
        return cached
    cached.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{cached.name}-", dir=cached.parent))
    try:
        install_locked(lock, python_version, building)
        try:
            building.rename(cached)
        except OSError:
            if not cached.is_dir():
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return cached


def install_command(lock: Path, python_version: str, target: Path) -> list[str]:
    """pip, installing exactly the lock (every package pinned with its hashes, no resolution) as wheels for
    the Lambda platform, not for this machine."""
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-color",
        "--no-compile",  # Lambda compiles on import; .pyc of this machine's Python would not be used
        "--no-deps",
        "--require-hashes",
        "--only-binary=:all:",
        "--platform",
        LAMBDA_PLATFORM,
        "--implementation",
        "cp",
        "--python-version",
        python_version,
        "--target",
        str(target),
        "--requirement",
        str(lock),
    ]


def install_locked(lock: Path, python_version: str, target: Path) -> None:
    result = subprocess.run(  # noqa: S603 - the command is built here from the repository's files
        install_command(lock, python_version, target), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise BundlingError(
            f"installing {_shown(lock)} for {LAMBDA_PLATFORM}, Python {python_version} "
            f"failed (pip exit {result.returncode}; PyPI must be reachable once per lock): {last}",
            result.stderr,
        )


def _shown(path: Path) -> str:
    return str(path.relative_to(LAMBDAS_DIR.parent)) if path.is_relative_to(LAMBDAS_DIR.parent) else str(path)
