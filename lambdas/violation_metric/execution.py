"""What a monitoring execution says about itself, and reading its files from S3.

A Model Monitor execution is a SageMaker processing job. ``DescribeProcessingJob`` tells:

* ``MonitoringScheduleArn``: present only on jobs a monitoring schedule started; the schedule's name is
  the part after ``monitoring-schedule/``.
* ``ProcessingOutputConfig.Outputs[].S3Output``: where the container's ``output_path`` (Environment) is
  uploaded; ``constraint_violations.json`` is written there.
* ``Environment.baseline_constraints``: the *local* path of the constraints file inside the container,
  e.g. ``/opt/ml/processing/baseline/constraints/constraints.json`` ("Container Contract Inputs" in the
  Model Monitor docs). The ``ProcessingInputs[].S3Input`` whose ``LocalPath`` contains that path carries the
  S3 URI, e.g. ``{"InputName": "constraints", "S3Input": {"LocalPath":
  "/opt/ml/processing/baseline/constraints", "S3Uri": "s3://.../constraints.json"}}`` as logged from a
  real execution; the URI may name the object itself or a prefix that holds it.

The functions take the clients as arguments (created once by the handler) and let AWS errors propagate,
except a missing S3 object, which is a report problem (:class:`MissingReportError`).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import ClientError

from .violations import (
    ViolationReportError,
    ViolationSummary,
    parse_monitored_features,
    parse_violations,
    summarize,
)

__all__ = [
    "VIOLATIONS_FILE_NAME",
    "ExecutionReport",
    "InvalidEventError",
    "MissingReportError",
    "S3Client",
    "SageMakerClient",
    "constraints_uri_from_job",
    "describe_processing_job",
    "load_report",
    "parse_s3_uri",
    "processing_job_name",
    "read_s3_object",
    "schedule_name_from_arn",
    "violations_uri",
]

#: The file the prebuilt analyzer writes into the execution's output (the SDK's
#: ``CONSTRAINT_VIOLATIONS_JSON_DEFAULT_FILE_NAME``). The BYOC docs spell it ``constraints_violations.json``;
#: the prebuilt container does not.
VIOLATIONS_FILE_NAME = "constraint_violations.json"

_SCHEDULE_ARN_MARKER = ":monitoring-schedule/"
_PROCESSING_JOB_ARN_MARKER = ":processing-job/"
_MISSING_OBJECT_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "404"})


class SageMakerClient(Protocol):
    """The part of a boto3 SageMaker client this module uses."""

    def describe_processing_job(self, *, ProcessingJobName: str) -> dict[str, Any]: ...  # noqa: N803


class S3Client(Protocol):
    """The part of a boto3 S3 client this module uses."""

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]: ...  # noqa: N803


class InvalidEventError(ValueError):
    """The event is not a "SageMaker Processing Job State Change" that names a processing job."""


class MissingReportError(ViolationReportError):
    """A Completed execution's report cannot be found: no such object, or no way to tell where it is."""


def processing_job_name(event: Mapping[str, Any]) -> str:
    """Return the processing job an EventBridge "SageMaker Processing Job State Change" event is about.

    Uses ``detail.ProcessingJobName``, else the name in ``detail.ProcessingJobArn``.

    Raises:
        InvalidEventError: The event names no processing job.
    """
    detail = event.get("detail")
    if isinstance(detail, Mapping):
        name = detail.get("ProcessingJobName")
        if isinstance(name, str) and name:
            return name
        arn = detail.get("ProcessingJobArn")
        if isinstance(arn, str) and _PROCESSING_JOB_ARN_MARKER in arn:
            return arn.partition(_PROCESSING_JOB_ARN_MARKER)[2]
    raise InvalidEventError(
        "expected an EventBridge 'SageMaker Processing Job State Change' event with "
        f"detail.ProcessingJobName; got detail-type {event.get('detail-type')!r}"
    )


def describe_processing_job(sagemaker: SageMakerClient, job_name: str) -> dict[str, Any]:
    """Call ``DescribeProcessingJob``; errors (throttling after retries, access denied) propagate."""
    return sagemaker.describe_processing_job(ProcessingJobName=job_name)


def schedule_name_from_arn(arn: str | None) -> str | None:
    """Return the schedule name in a ``...:monitoring-schedule/<name>`` ARN, or ``None``."""
    if not arn or _SCHEDULE_ARN_MARKER not in arn:
        return None
    return arn.partition(_SCHEDULE_ARN_MARKER)[2] or None


def violations_uri(description: Mapping[str, Any]) -> str:
    """Return the S3 URI of the execution's ``constraint_violations.json``.

    The output is the ``S3Output`` whose ``LocalPath`` is the ``output_path`` the container was given
    (Environment), or the only ``S3Output`` when the environment does not say.

    Raises:
        MissingReportError: No output, or several and none matches ``output_path``.
    """
    outputs = [
        output["S3Output"]
        for output in description.get("ProcessingOutputConfig", {}).get("Outputs", [])
        if isinstance(output, Mapping) and isinstance(output.get("S3Output"), Mapping)
    ]
    output_path = _environment(description).get("output_path")
    matching = [output for output in outputs if _same_dir(output.get("LocalPath"), output_path)]
    if not matching and len(outputs) == 1:
        matching = outputs
    if len(matching) != 1 or not isinstance(matching[0].get("S3Uri"), str):
        raise MissingReportError(
            f"cannot tell which of the execution's {len(outputs)} S3 output(s) holds "
            f"{VIOLATIONS_FILE_NAME} (output_path={output_path!r})"
        )
    return _join(matching[0]["S3Uri"], VIOLATIONS_FILE_NAME)


def constraints_uri_from_job(description: Mapping[str, Any]) -> str | None:
    """Return the S3 URI of the constraints the execution was checked against, if the job says.

    Finds the ``S3Input`` whose ``LocalPath`` is a directory containing ``Environment.baseline_constraints``
    (the deepest one if several do). If its ``S3Uri`` ends with the file's path relative to that directory,
    it names the object; otherwise it is a prefix and the relative path is appended.

    Returns:
        The URI, or ``None`` when the job has no ``baseline_constraints`` entry or no input that holds it.
    """
    local_file = _environment(description).get("baseline_constraints")
    if not isinstance(local_file, str) or not local_file:
        return None
    best: tuple[str, str] | None = None  # (local directory, S3 URI)
    for processing_input in description.get("ProcessingInputs", []):
        s3_input = processing_input.get("S3Input") if isinstance(processing_input, Mapping) else None
        if not isinstance(s3_input, Mapping):
            continue
        local_dir, uri = s3_input.get("LocalPath"), s3_input.get("S3Uri")
        if not isinstance(local_dir, str) or not isinstance(uri, str) or not local_dir.strip("/"):
            continue
        local_dir = local_dir.rstrip("/")
        if local_file.startswith(local_dir + "/") and (best is None or len(local_dir) > len(best[0])):
            best = (local_dir, uri)
    if best is None:
        return None
    local_dir, uri = best
    relative = local_file[len(local_dir) + 1 :]
    return uri if uri.endswith("/" + relative) else _join(uri, relative)


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """Split ``s3://bucket/key`` into ``(bucket, key)``.

    Raises:
        MissingReportError: The URI is not an ``s3://`` URI with a bucket and a key.
    """
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket or not key:
        raise MissingReportError(f"not an s3://bucket/key URI: {uri!r}")
    return bucket, key


def read_s3_object(s3: S3Client, uri: str) -> bytes:
    """Read a whole S3 object.

    Raises:
        MissingReportError: The object (or bucket) does not exist. S3 answers 403, not 404, for a missing
            key when the caller lacks ``s3:ListBucket``: that AccessDenied propagates like any other error.
    """
    bucket, key = parse_s3_uri(uri)
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in _MISSING_OBJECT_CODES:
            raise MissingReportError(f"{uri}: no such object") from error
        raise
    body: bytes = response["Body"].read()
    return body


@dataclass(frozen=True)
class ExecutionReport:
    """The result of a Completed execution, with where it was read from.

    Attributes:
        violations_uri: The ``constraint_violations.json`` that was read.
        constraints_uri: The ``constraints.json`` that was read.
        constraints_from_job: ``True`` when the job named the constraints (its ``baseline_constraints``
            input), ``False`` when the fallback URI was used.
        summary: The computed metrics.
    """

    violations_uri: str
    constraints_uri: str
    constraints_from_job: bool
    summary: ViolationSummary


def load_report(
    description: Mapping[str, Any], s3: S3Client, *, fallback_constraints_uri: str | None
) -> ExecutionReport:
    """Read a Completed execution's violations and constraints from S3 and summarize them.

    Args:
        description: The execution's ``DescribeProcessingJob`` response.
        s3: An S3 client.
        fallback_constraints_uri: The constraints to use when the job does not name its own.

    Raises:
        ViolationReportError: A file is missing, malformed or of the wrong shape, the constraints cannot
            be located, or they list no features (:class:`MissingReportError` for the first two).
        botocore.exceptions.ClientError: Any other S3 error (access denied, throttling after retries).
    """
    violations_location = violations_uri(description)
    job_constraints = constraints_uri_from_job(description)
    constraints_location = job_constraints or fallback_constraints_uri
    if constraints_location is None:
        raise MissingReportError(
            "the execution names no baseline constraints (no input holds its 'baseline_constraints' "
            "path) and no fallback constraints URI is configured"
        )
    # A Completed execution without constraint_violations.json is an error (MissingReportError), not
    # "no violations". The docs say the file "is generated as the output of a MonitoringExecution" and
    # show a "violations" list that is always there; nothing public documents that the analyzer skips
    # the file when it finds nothing (the SDK's MonitoringExecution.constraint_violations() just returns
    # None on NoSuchKey and does not say why). A missing object more likely means a wrong output path,
    # another container or a lost upload, and reading it as 0 % would turn the drift alarm green on a
    # broken pipeline. If real executions prove the file is skipped on clean runs, revisit this here.
    violations = parse_violations(read_s3_object(s3, violations_location), source=violations_location)
    features = parse_monitored_features(read_s3_object(s3, constraints_location), source=constraints_location)
    try:
        summary = summarize(violations, features)
    except ViolationReportError as error:
        raise ViolationReportError(f"{constraints_location}: {error}") from error
    return ExecutionReport(
        violations_uri=violations_location,
        constraints_uri=constraints_location,
        constraints_from_job=job_constraints is not None,
        summary=summary,
    )


def _environment(description: Mapping[str, Any]) -> Mapping[str, Any]:
    environment = description.get("Environment")
    return environment if isinstance(environment, Mapping) else {}


def _same_dir(left: object, right: object) -> bool:
    return isinstance(left, str) and isinstance(right, str) and left.rstrip("/") == right.rstrip("/")


def _join(prefix: str, name: str) -> str:
    return f"{prefix.rstrip('/')}/{name}"
