"""Hooks for the whole test run."""

from __future__ import annotations

import functools
import shutil
from collections.abc import Iterator

import botocore.loaders
import botocore.session
import pytest

from tests import lint


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Lint each stage in the background as soon as it is synthesized only when the lint gate will read the
    findings, and start Spark only when its tests run: a run of a few tests then spends no CPU on either, and does
    not wait for them at exit."""
    lint.gate_selected = any("lint_findings" in getattr(item, "fixturenames", ()) for item in items)
    if shutil.which("java") and any(item.nodeid.startswith(SPARK_TESTS) for item in items):
        from tests.drift_engine.test_spark import start_in_background

        start_in_background()


#: The Spark runner's tests: their session starts in the background as soon as they are known to run.
SPARK_TESTS = "tests/drift_engine/test_spark.py::"


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
