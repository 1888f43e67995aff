"""Hooks for the whole test run."""

from __future__ import annotations

import functools
import shutil
from collections.abc import Iterator

import botocore.loaders
import botocore.session
import pytest

from tests import synth


def pytest_sessionstart(session: pytest.Session) -> None:
    """A run of the whole suite (``make test``: no paths, keywords or markers chosen) starts synthesizing cdk.json's
    stages now. Collection is about 5 CPU s of this process alone, importing every module, and the synth worker
    has the other core to itself meanwhile; the rest of the prefetch starts once the modules are collected."""
    config = session.config
    option = config.option
    whole_suite = (
        config.args_source is pytest.Config.ArgsSource.TESTPATHS
        and not (option.keyword or option.markexpr or option.deselect or option.collectonly)
        and not getattr(option, "lf", False)
    )
    if whole_suite:
        synth.prefetch(stages_only=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Start what the selected tests will wait for in the background, then run those tests last.

    - The lint gate selected (a full run): every app the modules declared is synthesized in the synth worker
      (tests/synth.py), and each stage linted as soon as it is, in the lint worker.
    - Spark's tests selected: their session starts.

    A run of a few tests spends no CPU on either and does not wait for them at exit. The tests that read those
    inputs then run after all the others (stable: each module's tests stay together and in order), so this
    process runs the others on one core while the inputs are made on the other.
    """
    running = not config.option.collectonly
    prefetching = running and any("lint_findings" in getattr(item, "fixturenames", ()) for item in items)
    if prefetching:
        synth.prefetch()
    spark_starting = (
        running and shutil.which("java") is not None and any(item.nodeid.startswith(SPARK_TESTS) for item in items)
    )
    if spark_starting:
        from tests.drift_engine.test_spark import start_in_background

        start_in_background()

    def background_inputs(item: pytest.Item) -> int:
        if prefetching and item.nodeid.startswith(SYNTH_TESTS):
            return 2
        return 1 if spark_starting and item.nodeid.startswith(SPARK_TESTS) else 0

    items.sort(key=background_inputs)


def pytest_unconfigure(config: pytest.Config) -> None:
    """A run that ends early (collection errors, ``-x``, Ctrl-C) neither waits for the synths it will not read nor
    lints them while the interpreter shuts down."""
    synth.stop()


#: The Spark runner's tests: their session starts in the background as soon as they are known to run.
SPARK_TESTS = "tests/drift_engine/test_spark.py::"
#: The tests of the stages' templates and of the constructs in them: in a full run, after the synth worker's start.
SYNTH_TESTS = ("tests/stacks/", "tests/cdk_constructs/")


@pytest.fixture(autouse=True, scope="session")
def _one_botocore_loader_per_run() -> Iterator[None]:
    """Every boto3 session of the run shares one botocore data loader.

    moto resets ``boto3.DEFAULT_SESSION`` each time a mock starts, so each handler test made fresh sessions whose
    loaders decoded the same service models again (SageMaker's alone is megabytes of JSON): most of a moto test's
    setup time. Loaders are keyed by their search path, as botocore builds them; what a client does is unchanged,
    only its models are read once per run.
    """
    with pytest.MonkeyPatch.context() as patch:
        shared_loader = functools.cache(botocore.loaders.create_loader)
        patch.setattr(botocore.session, "create_loader", shared_loader)
        # The SageMaker SDK builds its own loader for each endpoint lookup (sagemaker.core.common_utils
        # ._botocore_resolver, on every DefaultModelMonitor): the same one serves it, so endpoints.json is decoded
        # once per run, not once per baseline handler test (about 1.3 s of them).
        patch.setattr(botocore.loaders, "create_loader", shared_loader)
        yield
