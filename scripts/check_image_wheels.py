#!/usr/bin/env python3
"""Check that every package of every Lambda lock resolves to a wheel for the platform it ships to.

    python scripts/check_image_wheels.py          # or: make check-image-wheels

For each lock (``make lock`` writes them, every package pinned with its hashes) pip downloads exactly the locked
files, wheels only, for x86_64 manylinux and the Python that runs them: the baseline image's (its Dockerfile's
``FROM public.ecr.aws/lambda/python:X.Y``) and the violation-metric function's runtime. A package with no such
wheel would make the image build compile it from source, or fail; here it fails with pip's reason. Needs PyPI;
wheels land in pip's cache, so a second run downloads nothing.

Exit status: 0 when every lock resolves, 1 when one does not, 2 when a lock or a Dockerfile cannot be read.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", re.MULTILINE)
_BASE_IMAGE = re.compile(r"^FROM\s+public\.ecr\.aws/lambda/python:(\d+\.\d+)\b", re.MULTILINE)
#: Lambda's Python 3.12+ runtimes run on Amazon Linux 2023 (glibc 2.34): a wheel for manylinux glibc 2.34 or older
#: loads there. pip expands only the legacy manylinux2014 tag to older ones, so every tag is named.
LAMBDA_PLATFORM = "manylinux_2_34_x86_64"
PLATFORM_TAGS = (
    *(f"manylinux_2_{minor}_x86_64" for minor in range(34, 4, -1)),
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
)
_RUNTIME = re.compile(r"^RUNTIME = lambda_\.Runtime\.PYTHON_(\d+)_(\d+)$", re.MULTILINE)


class CheckError(Exception):
    """A lock or a Dockerfile that cannot be read."""


@dataclass(frozen=True)
class Lock:
    path: Path
    python_version: str

    @property
    def shown(self) -> str:
        return str(self.path.relative_to(REPO_ROOT)) if self.path.is_relative_to(REPO_ROOT) else str(self.path)


def normalized(name: str) -> str:
    """A distribution name as PEP 503 compares it (``Typing_Extensions`` is ``typing-extensions``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_packages(lock: Path) -> dict[str, str]:
    """``{normalized name: version}`` of every ``name==version`` line of a lock."""
    try:
        text = lock.read_text(encoding="utf-8")
    except OSError as error:
        raise CheckError(f"cannot read {lock}: {error}") from error
    pins = {normalized(name): version for name, version in _PIN.findall(text)}
    if not pins:
        raise CheckError(f"{lock} pins no package (name==version)")
    return pins


def image_python_version(dockerfile: Path) -> str:
    """The Python version of a Lambda base image Dockerfile: ``3.13`` of ``FROM public.ecr.aws/lambda/python:3.13``."""
    try:
        match = _BASE_IMAGE.search(dockerfile.read_text(encoding="utf-8"))
    except OSError as error:
        raise CheckError(f"cannot read {dockerfile}: {error}") from error
    if match is None:
        raise CheckError(f"{dockerfile} does not start FROM public.ecr.aws/lambda/python:<version>")
    return match.group(1)


def wheel_package(filename: str) -> tuple[str, str] | None:
    """``(normalized name, version)`` of a wheel's file name (PEP 427), or None for anything else (an sdist)."""
    if not filename.endswith(".whl"):
        return None
    name, version = filename.split("-")[:2]
    return normalized(name), version


def download_command(lock: Lock, destination: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--disable-pip-version-check",
        "--no-color",
        "--no-deps",
        "--require-hashes",
        "--only-binary=:all:",
        *(option for tag in PLATFORM_TAGS for option in ("--platform", tag)),
        "--implementation",
        "cp",
        "--python-version",
        lock.python_version,
        "--dest",
        str(destination),
        "--requirement",
        str(lock.path),
    ]


def check(lock: Lock) -> list[str]:
    """Problems with ``lock`` (empty when every package has its wheel)."""
    pins = locked_packages(lock.path)
    with tempfile.TemporaryDirectory(prefix="lambda-wheels-") as scratch:
        result = subprocess.run(  # noqa: S603 - the command is built here from the repository's files
            download_command(lock, Path(scratch)), capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")] or ["(no output)"]
            return [f"pip download failed (exit {result.returncode}): {' '.join(errors)}"]
        files = sorted(path.name for path in Path(scratch).iterdir())
    downloaded = {package for name in files if (package := wheel_package(name)) is not None}
    problems = [f"not a wheel: {name}" for name in files if wheel_package(name) is None]
    problems += [
        f"no wheel of {name}=={version}" for name, version in sorted(pins.items()) if (name, version) not in downloaded
    ]
    return problems


def function_python_version(construct_module: Path) -> str:
    """The Python of ``RUNTIME = lambda_.Runtime.PYTHON_3_14`` in a construct's module (read, not imported: importing
    aws-cdk-lib starts its JavaScript runtime)."""
    try:
        match = _RUNTIME.search(construct_module.read_text(encoding="utf-8"))
    except OSError as error:
        raise CheckError(f"cannot read {construct_module}: {error}") from error
    if match is None:
        raise CheckError(f"{construct_module} sets no RUNTIME = lambda_.Runtime.PYTHON_<major>_<minor>")
    return f"{match.group(1)}.{match.group(2)}"


def default_locks() -> list[Lock]:
    """The locks that ship: the baseline and engine images' (their Dockerfiles' Python) and the violation-metric
    function's."""
    return [
        Lock(
            REPO_ROOT / "lambdas" / "baseline" / "requirements.txt",
            image_python_version(REPO_ROOT / "lambdas" / "baseline" / "Dockerfile"),
        ),
        Lock(
            REPO_ROOT / "lambdas" / "violation_metric" / "requirements.txt",
            function_python_version(REPO_ROOT / "cdk_constructs" / "violation_metric.py"),
        ),
        Lock(
            REPO_ROOT / "drift_engine" / "image-requirements.txt",
            image_python_version(REPO_ROOT / "drift_engine" / "Dockerfile"),
        ),
    ]


def main() -> int:
    try:
        locks = default_locks()
        failed = False
        for lock in locks:
            problems = check(lock)
            count = len(locked_packages(lock.path))
            where = f"{LAMBDA_PLATFORM}, Python {lock.python_version}"
            if problems:
                failed = True
                print(f"{lock.shown}: {len(problems)} of {count} packages have no wheel for {where}:")
                print("\n".join(f"  {problem}" for problem in problems))
            else:
                print(f"{lock.shown}: all {count} packages resolve to wheels for {where}")
    except CheckError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
