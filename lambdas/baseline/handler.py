"""Entry points of the baseline custom resource, called by a CDK ``custom_resources.Provider``.

``on_event`` starts (or stops) the job and returns at once; ``is_complete`` is polled until the job
ends, so CloudFormation waits for the baseline and fails with the job's FailureReason. The logic
lives in plain modules; this file only routes requests and owns the clients, which are made on
first use (not at import) and then reused by every warm invocation.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from .baseline_job import (
    BotoSession,
    SageMakerClient,
    SdkSession,
    job_deadline_seconds,
    make_sdk_session,
    poll,
    start_or_adopt,
    stop_if_running,
)
from .request import derive_job_name, is_job_name, needs_new_job, parse_properties

USER_AGENT_EXTRA: Final = "sagemaker-model-monitor-as-code/baseline-custom-resource"
# Standard mode retries throttling and transient errors with backoff, up to max_attempts in all.
CLIENT_CONFIG: Final = Config(
    retries={"mode": "standard", "max_attempts": 5},
    user_agent_extra=USER_AGENT_EXTRA,
)

logger = Logger()


@dataclass(frozen=True)
class AwsClients:
    """The boto session and the SageMaker client every request of this container shares."""

    boto_session: BotoSession
    sagemaker: SageMakerClient


@functools.cache
def aws_clients() -> AwsClients:
    """Clients on first use: importing the module (cold start, tests) must not touch AWS config."""
    session = boto3.Session()
    return AwsClients(boto_session=session, sagemaker=session.client("sagemaker", config=CLIENT_CONFIG))


@functools.cache
def sdk_session() -> SdkSession:
    """The SageMaker SDK session, built (and the SDK imported) only when a job must be started."""
    clients = aws_clients()
    return make_sdk_session(clients.boto_session, clients.sagemaker)


@logger.inject_lambda_context(log_event=False, clear_state=True)
def on_event(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Create/Update start the job (or keep the old one); Delete stops it if it still runs."""
    request_type = _field(event, "RequestType")
    logger.append_keys(request_type=request_type, logical_resource_id=event.get("LogicalResourceId"))
    if "PhysicalResourceId" in event:  # not on Create
        logger.append_keys(physical_resource_id=event["PhysicalResourceId"])
    if request_type == "Create":
        return {"PhysicalResourceId": _start(event)}
    if request_type == "Update":
        return _update(event)
    if request_type == "Delete":
        return _delete(event)
    raise ValueError(f"RequestType must be Create, Update or Delete, got {request_type!r}")


@logger.inject_lambda_context(log_event=False, clear_state=True)
def is_complete(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Report the job named by the physical id; Delete never waits (the job is only stopped)."""
    request_type = _field(event, "RequestType")
    physical_id = _field(event, "PhysicalResourceId")
    logger.append_keys(request_type=request_type, physical_resource_id=physical_id)
    if request_type == "Delete":
        return {"IsComplete": True}
    return poll(aws_clients().sagemaker, physical_id, deadline_seconds=job_deadline_seconds())


def _start(event: Mapping[str, Any]) -> str:
    request = parse_properties(_field(event, "ResourceProperties"))
    job_name = derive_job_name(
        request.job_name_prefix,
        stack_id=_field(event, "StackId"),
        logical_resource_id=_field(event, "LogicalResourceId"),
        request_id=_field(event, "RequestId"),
    )
    start_or_adopt(request, job_name, sagemaker_client=aws_clients().sagemaker, sdk_session=sdk_session)
    return job_name


def _update(event: Mapping[str, Any]) -> dict[str, Any]:
    new = parse_properties(_field(event, "ResourceProperties"))
    old_physical_id = _field(event, "PhysicalResourceId")
    if needs_new_job(event.get("OldResourceProperties") or {}, new):
        # A new physical id makes CloudFormation send Delete for the old one after the update.
        return {"PhysicalResourceId": _start(event)}
    logger.info("No job-defining property changed; keeping the baseline", extra={"job_name": old_physical_id})
    return {"PhysicalResourceId": old_physical_id}


def _delete(event: Mapping[str, Any]) -> dict[str, Any]:
    physical_id = _field(event, "PhysicalResourceId")
    # Properties are not validated: a resource must stay deletable even with bad properties.
    if is_job_name(physical_id):
        stop_if_running(aws_clients().sagemaker, physical_id)
    else:
        logger.info("Physical id names no job (Create failed before one started); nothing to stop")
    return {"PhysicalResourceId": physical_id}


def _field(event: Mapping[str, Any], name: str) -> Any:
    if name not in event:
        raise ValueError(f"Custom resource event has no {name}; keys: {sorted(event)}")
    return event[name]
