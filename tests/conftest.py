"""Hooks for the whole test run."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import botocore.loaders
import botocore.session
import pytest

from tests import lint


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Lint each stage in the background as soon as it is synthesized only when the lint gate will read the
    findings: a run of a few tests then spends no CPU on linting, and does not wait for it at exit."""
    lint.gate_selected = any("lint_findings" in getattr(item, "fixturenames", ()) for item in items)


@pytest.fixture(autouse=True, scope="session")
def _one_botocore_loader_per_run() -> Iterator[None]:
    """Every boto3 session of the run shares one botocore data loader.

    moto resets ``boto3.DEFAULT_SESSION`` each time a mock starts, so each handler test made fresh sessions whose
    loaders decoded the same service models again (SageMaker's alone is megabytes of JSON): most of a moto test's
    setup time. Loaders are keyed by their search path, as botocore builds them; what a client does is unchanged,
    only its models are read once per run.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session, "create_loader", functools.cache(botocore.loaders.create_loader))
        yield
