"""The Makefile's Python check: an older Python stops `make` with one line naming the minimum (issue 9, item 11)."""

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAKE = shutil.which("make")
needs_make = pytest.mark.skipif(MAKE is None, reason="make is not installed")


def python_min() -> str:
    match = re.search(r"^PYTHON_MIN := (\S+)$", (ROOT / "Makefile").read_text(encoding="utf-8"), re.MULTILINE)
    assert match is not None, "Makefile sets PYTHON_MIN"
    return match.group(1)


def fake_python(tmp_path: Path, version: str) -> Path:
    """A stand-in that answers the Makefile's check the way a Python of ``version`` does."""
    script = tmp_path / "python"
    script.write_text(f"#!/bin/sh\necho {version}\n", encoding="utf-8")
    script.chmod(0o755)
    return script


def make(*args: str) -> subprocess.CompletedProcess[str]:
    assert MAKE is not None
    # Run as a user runs it, also under `make test`: no variables or "Entering directory" lines inherited from a
    # parent make.
    env = {key: value for key, value in os.environ.items() if key not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    # -n: print the recipes, run none (nothing is installed); the check runs when make reads the Makefile.
    command = [MAKE, "-n", "--no-print-directory", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)  # noqa: S603


def test_the_minimum_is_the_one_pyproject_declares() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["requires-python"] == f">={python_min()}"


@needs_make
@pytest.mark.parametrize("target", ["synth", "test", "diff"])
def test_an_older_python_stops_make_with_one_line_naming_the_minimum(tmp_path: Path, target: str) -> None:
    result = make(target, f"PYTHON={fake_python(tmp_path, '3.10.12')}")

    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert f"Python {python_min()} or newer is needed" in result.stderr
    assert "is 3.10.12" in result.stderr


@needs_make
def test_a_missing_python_is_the_same_one_line(tmp_path: Path) -> None:
    result = make("synth", f"PYTHON={tmp_path / 'no-such-python'}")

    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert f"Python {python_min()} or newer is needed" in result.stderr


@needs_make
def test_a_supported_python_passes_the_check_and_clean_needs_none(tmp_path: Path) -> None:
    assert make("synth", f"PYTHON={fake_python(tmp_path, 'ok')}").returncode == 0
    assert make("clean", f"PYTHON={tmp_path / 'no-such-python'}").returncode == 0
