"""Hooks for the whole test run."""

from __future__ import annotations

import pytest

from tests import lint


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Lint each stage in the background as soon as it is synthesized only when the lint gate will read the
    findings: a run of a few tests then spends no CPU on linting, and does not wait for it at exit."""
    lint.gate_selected = any("lint_findings" in getattr(item, "fixturenames", ()) for item in items)
