"""The handler's clients: made on first use, once, with standard retries, shared with the SDK."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from lambdas.baseline import handler

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def fresh_container() -> Iterator[None]:
    handler.aws_clients.cache_clear()
    handler.sdk_session.cache_clear()
    yield
    handler.aws_clients.cache_clear()
    handler.sdk_session.cache_clear()


# A fresh interpreter: the test session has long imported the SDK. It starts when this module is collected (the
# handler's imports take a few tenths of a second of one core), and the test only collects its result.
_IMPORT_CHECK = subprocess.Popen(
    [
        sys.executable,
        "-c",
        "import sys, lambdas.baseline.handler as h;"
        "assert h.aws_clients.cache_info().currsize == 0;"
        "assert 'sagemaker' not in sys.modules, 'SDK imported at module load'",
    ],
    cwd=REPO_ROOT,
    stderr=subprocess.PIPE,
    text=True,
)


def test_importing_the_handler_makes_no_client_and_loads_no_sdk() -> None:
    _, errors = _IMPORT_CHECK.communicate(timeout=120)
    assert _IMPORT_CHECK.returncode == 0, errors


@pytest.mark.usefixtures("fresh_container")
def test_clients_are_made_once_and_shared_with_the_sdk(region: str) -> None:
    with mock_aws():
        clients = handler.aws_clients()
        assert handler.aws_clients() is clients

        config = clients.sagemaker.meta.config
        assert config.retries["mode"] == "standard"
        assert config.user_agent_extra == handler.USER_AGENT_EXTRA
        assert clients.sagemaker.meta.region_name == region

        sdk = handler.sdk_session()
        assert handler.sdk_session() is sdk
        assert sdk.sagemaker_client is clients.sagemaker
        assert sdk.boto_session is clients.boto_session
        assert sdk.sagemaker_config == {}  # no SDK config file can add role, keys or tags to the job
