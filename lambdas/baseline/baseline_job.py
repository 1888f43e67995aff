"""Start, poll and stop the baseline processing job of one custom resource.

The job is started through ``DefaultModelMonitor.suggest_baseline`` rather than a hand-built
CreateProcessingJob request, so the analyzer image, container paths and environment stay whatever
the SageMaker SDK sends. The SDK (numpy, pandas, scipy: about two seconds) is imported only on the
path that starts a job; polling and deleting need nothing but the SageMaker client.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final, TypeAlias

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from .request import DEFAULT_OUTPUT_COLUMNS_POSITION, BaselineRequest

# This repository has no boto3 type stubs; the clients and the SDK session are typed as Any.
SageMakerClient: TypeAlias = Any
BotoSession: TypeAlias = Any
SdkSession: TypeAlias = Any

STATISTICS_FILE: Final = "statistics.json"
CONSTRAINTS_FILE: Final = "constraints.json"
# The name suggest_baseline gives its single output (model_monitoring._DEFAULT_OUTPUT_NAME).
BASELINE_OUTPUT_NAME: Final = "monitoring_output"

RUNNING_STATUSES: Final = frozenset({"InProgress", "Stopping"})
FAILED_STATUSES: Final = frozenset({"Failed", "Stopped"})

# Throttling codes from botocore.retries.standard (less those of other services). When one
# still reaches us the retries are spent; the Provider polls again later anyway.
_THROTTLING_CODES: Final = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "SlowDown",
    }
)

# The SDK reads defaults (role, KMS keys, tags, VPC) from config files under /etc and the home
# directory, or from S3 when SAGEMAKER_*_CONFIG_OVERRIDE says so. Passing a minimal config skips
# those lookups, so the job is defined by ResourceProperties alone.
_MINIMAL_SDK_CONFIG: Final = {"SchemaVersion": "1.0"}

#: How long after its creation a job may still be running before is_complete stops it and fails: set by the
#: construct (JOB_DEADLINE_SECONDS), under the Provider's and CloudFormation's limits. 48 minutes if unset.
DEFAULT_JOB_DEADLINE_SECONDS: Final = 48 * 60

logger = Logger(child=True)


def job_deadline_seconds() -> int:
    """JOB_DEADLINE_SECONDS from the environment: a positive whole number of seconds."""
    raw = os.environ.get("JOB_DEADLINE_SECONDS", str(DEFAULT_JOB_DEADLINE_SECONDS))
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"JOB_DEADLINE_SECONDS must be a positive whole number of seconds, got {raw!r}")
    return int(raw)


class BaselineJobFailedError(RuntimeError):
    """The job ended without a baseline; the Provider reports this text as the stack event."""


class BaselineJobNotFoundError(RuntimeError):
    """The physical id names no job, so there is no baseline to report."""


def make_sdk_session(boto_session: BotoSession, sagemaker_client: SageMakerClient) -> SdkSession:
    """Build the SDK session over our own clients: our retry config, no default-bucket lookups."""
    from sagemaker.core.helper.session_helper import Session

    session = Session(
        boto_session=boto_session,
        sagemaker_client=sagemaker_client,
        sagemaker_config=dict(_MINIMAL_SDK_CONFIG),
    )
    # A non-empty config is re-validated against the SDK's JSON schema on every lookup (about 25
    # in one suggest_baseline, 0.1 s each); an empty one is what the SDK itself holds when no config
    # file exists, and every lookup then returns None at once.
    session.sagemaker_config = {}
    return session


def start_or_adopt(
    request: BaselineRequest,
    job_name: str,
    *,
    sagemaker_client: SageMakerClient,
    sdk_session: Callable[[], SdkSession],
) -> bool:
    """Make sure a job of this name exists; True when this call started it.

    A retried invocation (Lambda retry, Provider retry) carries the same RequestId, hence the same
    name: it adopts the job the first attempt started instead of failing or starting a second one.
    """
    existing = describe_job(sagemaker_client, job_name)
    if existing is not None:
        logger.info(
            "Adopting the baseline job a previous attempt started",
            extra={"job_name": job_name, "job_status": existing.get("ProcessingJobStatus")},
        )
        return False
    try:
        start_job(request, job_name, sdk_session())
    except ClientError as error:
        if _error_code(error) != "ResourceInUse":
            raise
        # Another attempt created it between our describe and our create.
        logger.info("Adopting the baseline job a concurrent attempt started", extra={"job_name": job_name})
        return False
    logger.info("Started the baseline job", extra={"job_name": job_name})
    return True


def start_job(request: BaselineRequest, job_name: str, session: SdkSession) -> None:
    """Start suggest_baseline without waiting: the Provider's is_complete does the waiting."""
    from sagemaker.core.model_monitor import DatasetFormat, DefaultModelMonitor

    monitor = DefaultModelMonitor(
        role=request.role_arn,
        instance_count=request.instance_count,
        instance_type=request.instance_type,
        volume_size_in_gb=request.volume_size_in_gb,
        volume_kms_key=request.kms_key_arn,
        output_kms_key=request.kms_key_arn,
        max_runtime_in_seconds=request.max_runtime_in_seconds,
        sagemaker_session=session,
    )
    if request.dataset_format == "csv":
        dataset_format = DatasetFormat.csv(
            header=bool(request.header),
            output_columns_position=request.output_columns_position or DEFAULT_OUTPUT_COLUMNS_POSITION,
        )
    else:
        dataset_format = DatasetFormat.json(lines=True)
    monitor.suggest_baseline(
        baseline_dataset=request.dataset_uri,
        dataset_format=dataset_format,
        # One folder per job: a later baseline never overwrites an earlier one, which stays the audit trail.
        output_s3_uri=f"{request.output_uri}/{job_name}",
        wait=False,
        logs=False,
        job_name=job_name,
    )


def describe_job(sagemaker_client: SageMakerClient, job_name: str) -> dict[str, Any] | None:
    """DescribeProcessingJob, with "no such job" as None rather than an error."""
    try:
        response: dict[str, Any] = sagemaker_client.describe_processing_job(ProcessingJobName=job_name)
    except ClientError as error:
        if _is_not_found(error):
            return None
        raise
    return response


def poll(sagemaker_client: SageMakerClient, job_name: str, *, deadline_seconds: int | None = None) -> dict[str, Any]:
    """The Provider's is_complete answer for the job: wait, done with the baseline's URIs, or fail.

    A job still running ``deadline_seconds`` after its creation is stopped and reported as failed, with the
    reason: CloudFormation then learns what happened before its own limits expire, instead of failing the
    stack later with a bare timeout while the job keeps running.
    """
    try:
        description = describe_job(sagemaker_client, job_name)
    except ClientError as error:
        if _error_code(error) in _THROTTLING_CODES:
            logger.warning("DescribeProcessingJob throttled; polling again later", extra={"job_name": job_name})
            return {"IsComplete": False}
        raise
    if description is None:
        raise BaselineJobNotFoundError(f"Baseline job {job_name!r} does not exist")

    status = description["ProcessingJobStatus"]
    logger.info("Baseline job status", extra={"job_name": job_name, "job_status": status})
    if status in RUNNING_STATUSES:
        if deadline_seconds is not None:
            _enforce_deadline(sagemaker_client, description, deadline_seconds)
        return {"IsComplete": False}
    if status in FAILED_STATUSES:
        reason = description.get("FailureReason") or description.get("ExitMessage") or "no reason given"
        raise BaselineJobFailedError(f"Baseline job {job_name} {status}: {reason}")
    if status != "Completed":
        raise BaselineJobFailedError(f"Baseline job {job_name} has unexpected status {status!r}")

    output_uri = _output_uri(description)
    return {
        "IsComplete": True,
        "Data": {
            "StatisticsUri": f"{output_uri}/{STATISTICS_FILE}",
            "ConstraintsUri": f"{output_uri}/{CONSTRAINTS_FILE}",
            "JobName": job_name,
        },
    }


def stop_if_running(sagemaker_client: SageMakerClient, job_name: str) -> str | None:
    """Stop a job that is still running; returns the status it was found in (None: no such job).

    Baseline files are never deleted: they are the audit trail of what the monitor compared to.
    """
    description = describe_job(sagemaker_client, job_name)
    if description is None:
        logger.info("No baseline job to stop", extra={"job_name": job_name})
        return None
    status: str = description["ProcessingJobStatus"]
    if status != "InProgress":
        logger.info("Baseline job is not running; nothing to stop", extra={"job_name": job_name, "job_status": status})
        return status
    _stop(sagemaker_client, job_name)
    return status


def _enforce_deadline(sagemaker_client: SageMakerClient, description: dict[str, Any], deadline_seconds: int) -> None:
    """Stop and fail a job that has been running for ``deadline_seconds`` since SageMaker created it."""
    job_name = description["ProcessingJobName"]
    created: datetime = description["CreationTime"]
    age = (datetime.now(UTC) - created).total_seconds()
    if age < deadline_seconds:
        return
    status = description["ProcessingJobStatus"]
    if status == "InProgress":
        _stop(sagemaker_client, job_name)
    raise BaselineJobFailedError(
        f"Baseline job {job_name} was still {status} {int(age // 60)} minutes after it was created; stopped at "
        f"the {deadline_seconds // 60}-minute deadline, so that CloudFormation hears this before its one-hour "
        "custom-resource limit. Deploy again (instances sometimes start slowly), or make the job faster: a larger "
        "baseline_instance_type or a smaller baseline dataset"
    )


def _stop(sagemaker_client: SageMakerClient, job_name: str) -> None:
    try:
        sagemaker_client.stop_processing_job(ProcessingJobName=job_name)
    except ClientError as error:
        # It finished (or vanished) between the describe and the stop: nothing left to do.
        if not (_is_not_found(error) or _error_code(error) == "ValidationException"):
            raise
        logger.info("Baseline job ended before it could be stopped", extra={"job_name": job_name})
        return
    logger.info("Stopping the baseline job", extra={"job_name": job_name})


def _output_uri(description: dict[str, Any]) -> str:
    outputs = description.get("ProcessingOutputConfig", {}).get("Outputs", [])
    for output in outputs:
        if output.get("OutputName") == BASELINE_OUTPUT_NAME and "S3Output" in output:
            uri: str = output["S3Output"]["S3Uri"]
            return uri.rstrip("/")
    raise BaselineJobFailedError(
        f"Baseline job {description.get('ProcessingJobName')} has no {BASELINE_OUTPUT_NAME!r} S3 output"
    )


def _error_code(error: ClientError) -> str:
    code: str = error.response.get("Error", {}).get("Code", "")
    return code


def _is_not_found(error: ClientError) -> bool:
    # SageMaker answers an unknown processing job with ValidationException "Could not find ..."
    # (moto: "Could not find processing job ..."); ResourceNotFound is the documented code.
    code = _error_code(error)
    if code in ("ResourceNotFound", "ResourceNotFoundException"):
        return True
    message = str(error.response.get("Error", {}).get("Message", "")).lower()
    return code == "ValidationException" and ("could not find" in message or "not found" in message)
