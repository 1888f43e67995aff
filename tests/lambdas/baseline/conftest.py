"""Fixtures for the baseline custom resource: fake credentials, moto, the handler's clients, a recorder.

Building a boto3 session, its SageMaker client and the SDK session costs about half a second, so
each region's set is built once, through the handler's own factories, and reused by every test;
moto's state is fresh for each test. test_clients.py checks the factories themselves.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext
from moto import mock_aws

from lambdas.baseline import handler
from lambdas.baseline.baseline_job import SdkSession, make_sdk_session

from .support import ApiCalls, FakeContext

_CLIENTS: dict[str, handler.AwsClients] = {}
_SDK_SESSIONS: dict[str, SdkSession] = {}
_ACTIVE_RECORDERS: list[ApiCalls] = []


def _record_active(model: Any, params: dict[str, Any], **kwargs: Any) -> None:
    for recorder in _ACTIVE_RECORDERS:
        recorder.record(model, params, **kwargs)


def _clients_for(region: str) -> handler.AwsClients:
    if region not in _CLIENTS:
        handler.aws_clients.cache_clear()
        clients = handler.aws_clients()
        handler.aws_clients.cache_clear()
        # First, so it sees the calls a Stubber answers too (the Stubber stops the chain).
        clients.sagemaker.meta.events.register_first("before-call.*.*", _record_active)
        # Clients copy their session's hooks when created: every client the SDK session makes
        # later (S3, STS, IAM, ...) reports its calls here.
        clients.boto_session.events.register("before-call", _record_active)
        _CLIENTS[region] = clients
    return _CLIENTS[region]


def _sdk_session_for(region: str) -> SdkSession:
    if region not in _SDK_SESSIONS:
        clients = _CLIENTS[region]
        _SDK_SESSIONS[region] = make_sdk_session(clients.boto_session, clients.sagemaker)
    return _SDK_SESSIONS[region]


@pytest.fixture
def context() -> LambdaContext:
    return cast(LambdaContext, FakeContext())


@pytest.fixture
def region() -> str:
    """Overridden by tests that parametrize over regions."""
    return "us-east-1"


@pytest.fixture(autouse=True)
def fake_aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, region: str) -> None:
    """Fake credentials and region, no shared config: nothing here can reach a real account."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", region)
    monkeypatch.setenv("AWS_REGION", region)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, region: str) -> Iterator[handler.AwsClients]:
    """moto for every AWS call; the handler uses this region's (reused) clients and SDK session."""
    with mock_aws():
        clients = _clients_for(region)
        monkeypatch.setattr(handler, "aws_clients", lambda: clients)
        monkeypatch.setattr(handler, "sdk_session", lambda: _sdk_session_for(region))
        yield clients


@pytest.fixture
def api_calls(aws: handler.AwsClients) -> Iterator[ApiCalls]:
    """Every request any client of the handler or the SDK sends during the test."""
    recorder = ApiCalls()
    _ACTIVE_RECORDERS.append(recorder)
    yield recorder
    _ACTIVE_RECORDERS.remove(recorder)


@pytest.fixture(scope="session", autouse=True)
def sdk_imported_once() -> None:
    """Import the SDK once, then exempt its objects from garbage collection.

    The SDK leaves millions of long-lived objects (pydantic schemas, pandas, scipy); every full
    collection walked them again, adding seconds to the suite. The handler still imports it lazily:
    test_clients.py checks that in a fresh interpreter.
    """
    import sagemaker.core.model_monitor  # noqa: F401

    gc.freeze()
