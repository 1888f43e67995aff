"""Entry points of the engine baseline custom resource, called by a CDK ``custom_resources.Provider``.

The same lifecycle as the Model Monitor baseline (``lambdas.baseline.handler``): ``on_event`` starts the work and
returns a physical id derived from the request (a retry finds the work of the first attempt), ``is_complete``
reports it, Update keeps the baseline unless a job-defining property changed, Delete stops a running job and
keeps every file. The difference is where the baseline is computed:

* a dataset of at most ``InFunctionMaxBytes`` is baselined in ``on_event`` itself (seconds, no job start-up);
  ``is_complete`` then finds no job but the two files, and reports them;
* a larger one starts a processing job running the engine image; ``is_complete`` polls it as the Model Monitor
  resource does and fails the stack with its ``FailureReason``.
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

from drift_engine.s3 import read_object

from ..baseline.baseline_job import (
    CONSTRAINTS_FILE,
    STATISTICS_FILE,
    BaselineJobFailedError,
    BaselineJobNotFoundError,
    describe_job,
    job_deadline_seconds,
    poll,
    stop_if_running,
)
from ..baseline.request import derive_job_name, is_job_name
from .engine_job import baseline_in_function, dataset_objects, output_folder, start_or_adopt_job
from .request import needs_new_baseline, parse_engine_properties

__all__ = ["AwsClients", "aws_clients", "is_complete", "on_event"]

CLIENT_CONFIG: Final = Config(
    retries={"mode": "standard", "max_attempts": 5},
    user_agent_extra="sagemaker-model-monitor-as-code/engine-baseline-custom-resource",
)

logger = Logger()


@dataclass(frozen=True)
class AwsClients:
    s3: Any
    sagemaker: Any


@functools.cache
def aws_clients() -> AwsClients:
    """Clients on first use: importing the module must not touch AWS configuration."""
    return AwsClients(
        s3=boto3.client("s3", config=CLIENT_CONFIG), sagemaker=boto3.client("sagemaker", config=CLIENT_CONFIG)
    )


@logger.inject_lambda_context(log_event=False, clear_state=True)
def on_event(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Create/Update compute the baseline or start its job (or keep the old one); Delete stops a running job."""
    request_type = _field(event, "RequestType")
    logger.append_keys(request_type=request_type, logical_resource_id=event.get("LogicalResourceId"))
    if request_type == "Create":
        return _start(event)
    if request_type == "Update":
        new = parse_engine_properties(_field(event, "ResourceProperties"))
        if needs_new_baseline(event.get("OldResourceProperties") or {}, new):
            return _start(event)  # a new physical id: CloudFormation then deletes the old one
        logger.info("No job-defining property changed; keeping the baseline")
        return {"PhysicalResourceId": _field(event, "PhysicalResourceId")}
    if request_type == "Delete":
        physical_id = _field(event, "PhysicalResourceId")
        if is_job_name(physical_id):
            stop_if_running(aws_clients().sagemaker, physical_id)
        return {"PhysicalResourceId": physical_id}
    raise ValueError(f"RequestType must be Create, Update or Delete, got {request_type!r}")


@logger.inject_lambda_context(log_event=False, clear_state=True)
def is_complete(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The processing job's state, or the files the function wrote; Delete never waits."""
    if _field(event, "RequestType") == "Delete":
        return {"IsComplete": True}
    job_name = _field(event, "PhysicalResourceId")
    clients = aws_clients()
    if describe_job(clients.sagemaker, job_name) is not None:
        # The same deadline as Model Monitor's baseline: stopped and reported before CloudFormation's limits.
        return poll(clients.sagemaker, job_name, deadline_seconds=job_deadline_seconds())
    request = parse_engine_properties(_field(event, "ResourceProperties"))
    folder = output_folder(request, job_name)
    for name in (STATISTICS_FILE, CONSTRAINTS_FILE):
        if read_object(clients.s3, folder.bucket, folder.child(name).key) is None:
            raise BaselineJobNotFoundError(f"Baseline {job_name!r}: no processing job and no {folder.child(name).uri}")
    data = {
        "StatisticsUri": folder.child(STATISTICS_FILE).uri,
        "ConstraintsUri": folder.child(CONSTRAINTS_FILE).uri,
        "JobName": job_name,
    }
    return {"IsComplete": True, "Data": data}


def _start(event: Mapping[str, Any]) -> dict[str, Any]:
    request = parse_engine_properties(_field(event, "ResourceProperties"))
    job_name = derive_job_name(
        request.base.job_name_prefix,
        stack_id=_field(event, "StackId"),
        logical_resource_id=_field(event, "LogicalResourceId"),
        request_id=_field(event, "RequestId"),
    )
    logger.append_keys(job_name=job_name)
    clients = aws_clients()
    objects = dataset_objects(clients.s3, request.base.dataset_uri)
    if not objects:
        raise BaselineJobFailedError(f"Baseline dataset {request.base.dataset_uri} holds no object")
    size = sum(item.size for item in objects)
    if size <= request.in_function_max_bytes:
        logger.info("Baselining in the function", extra={"dataset_bytes": size, "objects": len(objects)})
        data = baseline_in_function(clients.s3, request, job_name, objects)
        return {"PhysicalResourceId": job_name, "Data": data}
    logger.info(
        "Dataset over InFunctionMaxBytes: starting a processing job",
        extra={"dataset_bytes": size, "in_function_max_bytes": request.in_function_max_bytes},
    )
    start_or_adopt_job(clients.sagemaker, request, job_name)
    return {"PhysicalResourceId": job_name}


def _field(event: Mapping[str, Any], name: str) -> Any:
    if name not in event:
        raise ValueError(f"Custom resource event has no {name}; keys: {sorted(event)}")
    return event[name]
