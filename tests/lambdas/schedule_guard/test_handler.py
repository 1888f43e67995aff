"""The guard holds CloudFormation until the schedule leaves Pending, on creation and before deletion."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from lambdas.schedule_guard import handler
from lambdas.schedule_guard.schedule_state import ScheduleFailedError

NAME = "modelmonitordefaultmonitoring-DataQualitySchedule-1A2B3C4D"


@pytest.fixture(scope="module")
def client() -> Any:
    """One SageMaker client for the module (it has hundreds of methods, built anew for each client); each test puts
    its own Stubber on it."""
    return boto3.client("sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


@pytest.fixture
def stub(client: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    # Stubber: moto keeps no monitoring-schedule status transitions.
    monkeypatch.setattr(handler, "sagemaker_client", lambda: client)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def event(request_type: str, name: str | None = NAME) -> dict[str, Any]:
    properties = {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provider"}
    if name is not None:
        properties["ScheduleName"] = name
    return {"RequestType": request_type, "ResourceProperties": properties, "PhysicalResourceId": f"{NAME}-guard"}


def described(status: str, reason: str | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "MonitoringScheduleArn": f"arn:aws:sagemaker:us-east-1:123456789012:monitoring-schedule/{NAME.lower()}",
        "MonitoringScheduleName": NAME,
        "MonitoringScheduleStatus": status,
        "CreationTime": "2026-11-23T10:00:00Z",
        "LastModifiedTime": "2026-11-23T10:00:00Z",
        "MonitoringScheduleConfig": {},
    }
    if reason:
        response["FailureReason"] = reason
    return response


def expect_describe(stub: Stubber, response: dict[str, Any]) -> None:
    stub.add_response("describe_monitoring_schedule", response, {"MonitoringScheduleName": NAME})


def test_on_event_names_the_guard_after_the_schedule() -> None:
    assert handler.on_event(event("Create"), None) == {"PhysicalResourceId": f"{NAME}-guard"}


def test_missing_schedule_name_fails_at_once() -> None:
    with pytest.raises(ValueError, match="ScheduleName is required"):
        handler.on_event(event("Create", name=None), None)


@pytest.mark.parametrize("request_type", ["Create", "Update", "Delete"])
def test_pending_schedule_holds_every_request(stub: Stubber, request_type: str) -> None:
    expect_describe(stub, described("Pending"))
    assert handler.is_complete(event(request_type), None) == {"IsComplete": False}


@pytest.mark.parametrize("status", ["Scheduled", "Stopped"])
@pytest.mark.parametrize("request_type", ["Create", "Delete"])
def test_settled_schedule_lets_cloudformation_go_on(stub: Stubber, status: str, request_type: str) -> None:
    expect_describe(stub, described(status))
    assert handler.is_complete(event(request_type), None) == {"IsComplete": True}


def test_failed_schedule_fails_the_create_with_its_reason(stub: Stubber) -> None:
    expect_describe(stub, described("Failed", reason="Endpoint modelmonitor-ep is not InService"))
    with pytest.raises(ScheduleFailedError, match="failed: Endpoint modelmonitor-ep is not InService"):
        handler.is_complete(event("Create"), None)


def test_failed_schedule_does_not_block_its_deletion(stub: Stubber) -> None:
    expect_describe(stub, described("Failed", reason="whatever"))
    assert handler.is_complete(event("Delete"), None) == {"IsComplete": True}


def test_schedule_already_gone_completes_a_delete(stub: Stubber) -> None:
    stub.add_client_error(
        "describe_monitoring_schedule", service_error_code="ResourceNotFound", service_message="not found"
    )
    assert handler.is_complete(event("Delete"), None) == {"IsComplete": True}


def test_throttling_means_ask_again_at_the_next_poll(stub: Stubber) -> None:
    stub.add_client_error(
        "describe_monitoring_schedule", service_error_code="ThrottlingException", http_status_code=400
    )
    assert handler.is_complete(event("Create"), None) == {"IsComplete": False}


def test_access_denied_is_not_swallowed(stub: Stubber) -> None:
    stub.add_client_error("describe_monitoring_schedule", service_error_code="AccessDeniedException")
    with pytest.raises(Exception, match="AccessDenied"):
        handler.is_complete(event("Delete"), None)
