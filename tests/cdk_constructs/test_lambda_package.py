"""lambda_package: locked requirements installed once per lock for the Lambda platform, failures in one line.

pip itself is replaced here by a stand-in command (no network); the real install is exercised by every synth and
checked in tests/stacks/test_monitoring_stack.py (the shipped zip and its versions).
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import pytest
from aws_cdk import aws_lambda as lambda_

from cdk_constructs import lambda_package
from cdk_constructs.lambda_package import BundlingError, cached_dependencies, install_command, package_code


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(lambda_package.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def lock(tmp_path: Path) -> Path:
    lock = tmp_path / "requirements.txt"
    lock.write_text("example==1.0 --hash=sha256:00\n", encoding="utf-8")
    return lock


def fake_pip(monkeypatch: pytest.MonkeyPatch, script: str) -> list[Path]:
    """Replace pip with ``python -c script target``; returns the targets it was run for."""
    targets: list[Path] = []

    def command(lock: Path, python_version: str, target: Path) -> list[str]:
        targets.append(target)
        return [sys.executable, "-c", script, str(target)]

    monkeypatch.setattr(lambda_package, "install_command", command)
    return targets


def test_install_command_installs_exactly_the_lock_as_lambda_platform_wheels(lock: Path, tmp_path: Path) -> None:
    command = install_command(lock, "3.14", tmp_path / "out")
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    for flag in ("--no-deps", "--require-hashes", "--only-binary=:all:", "--no-compile"):
        assert flag in command
    options = dict(itertools.pairwise(command))
    assert options["--platform"] == "manylinux2014_x86_64"
    assert options["--implementation"] == "cp"
    assert options["--python-version"] == "3.14"
    assert options["--target"] == str(tmp_path / "out")
    assert options["--requirement"] == str(lock)


def test_a_lock_is_installed_once_and_then_read_from_the_cache(
    cache: Path, lock: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    targets = fake_pip(monkeypatch, "import pathlib, sys; (pathlib.Path(sys.argv[1]) / 'pkg.py').write_text('x')")

    first = cached_dependencies(lock, "3.14")
    second = cached_dependencies(lock, "3.14")

    assert first == second
    assert first.parent == cache
    assert (first / "pkg.py").read_text() == "x"
    assert len(targets) == 1
    assert [path.name for path in cache.iterdir()] == [first.name]  # the build folder is gone


def test_another_lock_or_python_version_is_another_cache_entry(
    cache: Path, lock: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_pip(monkeypatch, "pass")
    one = cached_dependencies(lock, "3.14")
    other_python = cached_dependencies(lock, "3.13")
    lock.write_text("example==1.1 --hash=sha256:01\n", encoding="utf-8")
    other_lock = cached_dependencies(lock, "3.14")
    assert len({one, other_python, other_lock}) == 3


def test_a_failed_install_is_one_line_and_leaves_no_cache_entry(
    cache: Path, lock: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_pip(monkeypatch, "import sys; print('Collecting example', file=sys.stderr); sys.exit('ERROR: no such wheel')")

    with pytest.raises(BundlingError) as raised:
        cached_dependencies(lock, "3.14")

    message = str(raised.value)
    assert "\n" not in message
    assert str(lock) in message
    assert message.endswith("ERROR: no such wheel")
    assert "Collecting example" in raised.value.output
    assert list(cache.iterdir()) == []


def test_a_package_with_a_lock_needs_a_python_runtime() -> None:
    with pytest.raises(ValueError, match="Python runtime"):
        package_code("violation_metric")
    with pytest.raises(ValueError, match="Python runtime"):
        package_code("violation_metric", runtime=lambda_.Runtime.NODEJS_22_X)
    with pytest.raises(ValueError, match=r"handler\.py"):
        package_code("no_such_package")
