"""ResourceProperties of the baseline custom resource, validated into one immutable request.

CloudFormation hands every property over as a string, and a wrong one would otherwise surface
only when the processing job fails minutes later (or never, for an ignored typo). Everything is
checked here, before any AWS call, and each error names the property and the value received.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

DatasetFormatName = Literal["csv", "jsonl"]
OutputColumnsPosition = Literal["START", "END"]

DEFAULT_INSTANCE_TYPE: Final = "ml.m5.xlarge"
DEFAULT_INSTANCE_COUNT: Final = 1
DEFAULT_VOLUME_SIZE_IN_GB: Final = 30
DEFAULT_MAX_RUNTIME_IN_SECONDS: Final = 3600

# Ranges of ProcessingClusterConfig and ProcessingStoppingCondition in the SageMaker API reference:
# checking them here fails the stack at once instead of at CreateProcessingJob.
_INSTANCE_COUNT_RANGE: Final = (1, 100)
_VOLUME_SIZE_RANGE: Final = (1, 16384)
_MAX_RUNTIME_RANGE: Final = (1, 777600)

JOB_NAME_PREFIX_MAX_LENGTH: Final = 40
_HASH_LENGTH: Final = 16

_PREFIX_RE: Final = re.compile(rf"[a-zA-Z0-9][a-zA-Z0-9-]{{0,{JOB_NAME_PREFIX_MAX_LENGTH - 1}}}")
# ProcessingJobName pattern and length from the SageMaker API reference.
_JOB_NAME_RE: Final = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
_S3_URI_RE: Final = re.compile(r"s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<key>.+)")
_ROLE_ARN_RE: Final = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+")
_KMS_ARN_RE: Final = re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/[\w/-]+")
_INSTANCE_TYPE_RE: Final = re.compile(r"ml\.[a-z0-9-]+\.[a-z0-9]+")
_DIGITS_RE: Final = re.compile(r"[0-9]+")

_DATASET_FORMATS: Final[tuple[DatasetFormatName, ...]] = ("csv", "jsonl")
# Where the model's output columns sit in a CSV row (DatasetFormat.csv in sagemaker-core; START by default).
_OUTPUT_COLUMNS_POSITIONS: Final[tuple[OutputColumnsPosition, ...]] = ("START", "END")
DEFAULT_OUTPUT_COLUMNS_POSITION: Final[OutputColumnsPosition] = "START"

KNOWN_PROPERTIES: Final = frozenset(
    {
        "ServiceToken",
        # The resource's own ServiceTimeout, like ServiceToken, may arrive with the properties: accepted, never
        # job-defining (the template sets it, and aws-cdk-lib passes it through to the framework).
        "ServiceTimeout",
        "DatasetUri",
        "DatasetFormat",
        "Header",
        "OutputColumnsPosition",
        "OutputUri",
        "RoleArn",
        "JobNamePrefix",
        "InstanceType",
        "InstanceCount",
        "VolumeSizeInGB",
        "MaxRuntimeInSeconds",
        "KmsKeyArn",
    }
)

# Fields whose change makes a different baseline, so an Update must start a new job. RoleArn and
# JobNamePrefix only say who runs the job and how it is called: changing them keeps the baseline.
JOB_DEFINING_FIELDS: Final = (
    "dataset_uri",
    "dataset_format",
    "header",
    "output_columns_position",
    "output_uri",
    "instance_type",
    "instance_count",
    "volume_size_in_gb",
    "max_runtime_in_seconds",
    "kms_key_arn",
)


class InvalidPropertiesError(ValueError):
    """A ResourceProperties value the job cannot be started with; the stack fails with its text."""


@dataclass(frozen=True, kw_only=True)
class BaselineRequest:
    """One baseline job, with the defaults applied so that Updates compare like with like."""

    dataset_uri: str
    dataset_format: DatasetFormatName
    # None for jsonl: the header only means something for csv, so it must not tell two jsonl
    # requests apart.
    header: bool | None
    # None for jsonl, like the header. The analyzer takes the first (START) or last (END) column of a CSV row as
    # the model's output; a label elsewhere than where this says gives constraints for the wrong columns.
    output_columns_position: OutputColumnsPosition | None
    output_uri: str
    role_arn: str
    job_name_prefix: str
    instance_type: str
    instance_count: int
    volume_size_in_gb: int
    max_runtime_in_seconds: int
    kms_key_arn: str | None


def parse_properties(properties: Mapping[str, Any]) -> BaselineRequest:
    """Validate ResourceProperties; raises InvalidPropertiesError before anything reaches AWS."""
    unknown = sorted(set(properties) - KNOWN_PROPERTIES)
    if unknown:
        # A misspelt optional property would otherwise be ignored in silence.
        raise InvalidPropertiesError(
            f"ResourceProperties has unknown properties {unknown}; allowed: {sorted(KNOWN_PROPERTIES)}"
        )

    dataset_format = _dataset_format(properties)
    header = _boolean("Header", _text(properties, "Header"), default=True)
    return BaselineRequest(
        dataset_uri=_s3_uri(properties, "DatasetUri"),
        dataset_format=dataset_format,
        header=header if dataset_format == "csv" else None,
        output_columns_position=_output_columns_position(properties) if dataset_format == "csv" else None,
        output_uri=_s3_uri(properties, "OutputUri").rstrip("/"),
        role_arn=_matching(properties, "RoleArn", _ROLE_ARN_RE, "an IAM role ARN"),
        job_name_prefix=_matching(
            properties,
            "JobNamePrefix",
            _PREFIX_RE,
            f"1 to {JOB_NAME_PREFIX_MAX_LENGTH} characters of [a-zA-Z0-9-] starting with a letter or digit",
        ),
        instance_type=_matching(
            properties,
            "InstanceType",
            _INSTANCE_TYPE_RE,
            "an ml.* instance type",
            default=DEFAULT_INSTANCE_TYPE,
        ),
        instance_count=_integer(properties, "InstanceCount", DEFAULT_INSTANCE_COUNT, _INSTANCE_COUNT_RANGE),
        volume_size_in_gb=_integer(properties, "VolumeSizeInGB", DEFAULT_VOLUME_SIZE_IN_GB, _VOLUME_SIZE_RANGE),
        max_runtime_in_seconds=_integer(
            properties, "MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME_IN_SECONDS, _MAX_RUNTIME_RANGE
        ),
        kms_key_arn=_optional_matching(properties, "KmsKeyArn", _KMS_ARN_RE, "a KMS key or alias ARN"),
    )


def needs_new_job(old_properties: Mapping[str, Any], new: BaselineRequest) -> bool:
    """Whether an Update changes what the baseline is computed from, or where it is written."""
    try:
        old = parse_properties(old_properties)
    except InvalidPropertiesError:
        # Old properties this code cannot read describe no job it can vouch for: start afresh.
        return True
    return any(getattr(old, field) != getattr(new, field) for field in JOB_DEFINING_FIELDS)


def derive_job_name(prefix: str, *, stack_id: str, logical_resource_id: str, request_id: str) -> str:
    """Name the job after the request, so that a retried invocation finds the job it started.

    The same StackId, LogicalResourceId and RequestId always give the same name; a new request
    (another stack, resource, or Update) gives a new one. At most 40 + 1 + 16 = 57 characters.
    """
    seed = "\n".join((stack_id, logical_resource_id, request_id)).encode()
    digest = hashlib.sha256(seed).hexdigest()[:_HASH_LENGTH]
    return f"{prefix}-{digest}"


def is_job_name(value: str) -> bool:
    """Whether a physical id can name a processing job (not so when Create failed before one)."""
    return len(value) <= 63 and _JOB_NAME_RE.fullmatch(value) is not None


def _text(properties: Mapping[str, Any], name: str) -> str | None:
    value = properties.get(name)
    if value is None:
        return None
    # CloudFormation stringifies scalars, but a caller building the event by hand may not.
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        raise InvalidPropertiesError(
            f"ResourceProperties.{name} must be a string, got {type(value).__name__} {value!r}"
        )
    # CDK renders an unset optional value as an empty string in some constructs: treat as absent.
    return value if value != "" else None


def _required_text(properties: Mapping[str, Any], name: str) -> str:
    value = _text(properties, name)
    if value is None:
        raise InvalidPropertiesError(f"ResourceProperties.{name} is required, got {properties.get(name)!r}")
    return value


def _matching(
    properties: Mapping[str, Any],
    name: str,
    pattern: re.Pattern[str],
    expected: str,
    *,
    default: str | None = None,
) -> str:
    value = _text(properties, name)
    if value is None and default is not None:
        return default
    if value is None:
        value = _required_text(properties, name)
    if pattern.fullmatch(value) is None:
        raise InvalidPropertiesError(f"ResourceProperties.{name} must be {expected}, got {value!r}")
    return value


def _optional_matching(properties: Mapping[str, Any], name: str, pattern: re.Pattern[str], expected: str) -> str | None:
    if _text(properties, name) is None:
        return None
    return _matching(properties, name, pattern, expected)


def _s3_uri(properties: Mapping[str, Any], name: str) -> str:
    value = _required_text(properties, name)
    match = _S3_URI_RE.fullmatch(value)
    if match is None or match.group("key").strip("/") == "" or value != value.strip():
        raise InvalidPropertiesError(f"ResourceProperties.{name} must be s3://<bucket>/<key>, got {value!r}")
    return value


def _dataset_format(properties: Mapping[str, Any]) -> DatasetFormatName:
    value = _text(properties, "DatasetFormat") or "csv"
    for known in _DATASET_FORMATS:
        if value == known:
            return known
    raise InvalidPropertiesError(
        f"ResourceProperties.DatasetFormat must be one of {list(_DATASET_FORMATS)}, got {value!r}"
    )


def _output_columns_position(properties: Mapping[str, Any]) -> OutputColumnsPosition:
    value = _text(properties, "OutputColumnsPosition") or DEFAULT_OUTPUT_COLUMNS_POSITION
    for known in _OUTPUT_COLUMNS_POSITIONS:
        if value == known:
            return known
    raise InvalidPropertiesError(
        f"ResourceProperties.OutputColumnsPosition must be one of {list(_OUTPUT_COLUMNS_POSITIONS)}, got {value!r}"
    )


def _boolean(name: str, value: str | None, *, default: bool) -> bool:
    if value is None:
        return default
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise InvalidPropertiesError(f"ResourceProperties.{name} must be 'true' or 'false', got {value!r}")
    return lowered == "true"


def _integer(properties: Mapping[str, Any], name: str, default: int, bounds: tuple[int, int]) -> int:
    value = _text(properties, name)
    if value is None:
        return default
    low, high = bounds
    if _DIGITS_RE.fullmatch(value) is None or not low <= int(value) <= high:
        raise InvalidPropertiesError(
            f"ResourceProperties.{name} must be a whole number from {low} to {high}, got {value!r}"
        )
    return int(value)
