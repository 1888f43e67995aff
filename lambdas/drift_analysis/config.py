"""The hourly analysis function's settings: read from the environment once per invocation and validated.

The CDK code sets these variables (names here, so the construct and the tests use the constants). Nothing here
imports boto3 or Powertools.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from drift_engine.s3 import S3Location

#: The monitored endpoint: the ``Endpoint`` dimension and the capture folder ``<capture>/<endpoint>/``.
ENV_ENDPOINT_NAME = "ENDPOINT_NAME"
#: The name the runs are reported under: the ``MonitoringSchedule`` dimension (the alarms' value) and the
#: reports folder ``<reports>/<endpoint>/<schedule>/``, as Model Monitor names both after its schedule.
ENV_MONITORING_SCHEDULE_NAME = "MONITORING_SCHEDULE_NAME"
#: ``s3://bucket/prefix`` the endpoint captures to (its DataCaptureConfig destination).
ENV_CAPTURE_S3_URI = "CAPTURE_S3_URI"
#: ``s3://bucket/prefix`` the reports go under.
ENV_REPORTS_S3_URI = "REPORTS_S3_URI"
#: ``s3://…/statistics.json`` and ``s3://…/constraints.json`` of the baseline.
ENV_BASELINE_STATISTICS_URI = "BASELINE_STATISTICS_URI"
ENV_BASELINE_CONSTRAINTS_URI = "BASELINE_CONSTRAINTS_URI"
#: Namespace of the per-feature metrics (``feature_baseline_drift_<f>``, …) the drift alarms read.
ENV_DRIFT_METRICS_NAMESPACE = "DRIFT_METRICS_NAMESPACE"
#: Namespace of the run metrics (``ViolationPercentage``, ``NoCapturedData``, …); Powertools reads it too.
ENV_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
#: ``START`` (default, as Model Monitor) or ``END``: where the endpoint's output sits among the baseline's columns.
ENV_OUTPUT_COLUMNS_POSITION = "OUTPUT_COLUMNS_POSITION"

#: Optional, 1 (default) to 24: how many hours before the scheduled hour a scheduled run analyzes. 1 for the hourly
#: schedule; the interval for a schedule every N hours or daily (24 at most, Model Monitor's longest window), so
#: every captured record is analyzed once.
ENV_ANALYSIS_WINDOW_HOURS = "ANALYSIS_WINDOW_HOURS"

#: Optional: set (a JSON object, :class:`ProcessingJobSettings`) when the analysis runs on a SageMaker Processing
#: job (``builtin_runtime: processing``); unset, the function analyzes the hours itself.
ENV_PROCESSING_JOB = "PROCESSING_JOB"

_SCHEDULE_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
#: A job name is ``<prefix>-<yyyymmddhh>-<8 hex>`` (20 characters after the prefix) within botocore's
#: ProcessingJobName: at most 63 characters of ``[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}``.
_JOB_NAME_PREFIX = re.compile(r"[a-z0-9](-?[a-z0-9]){0,42}")
JOB_NAME_PREFIX_MAX = 43


class ConfigurationError(RuntimeError):
    """An environment variable is missing or invalid: a deployment error, not a data problem."""


@dataclass(frozen=True)
class Settings:
    endpoint_name: str
    monitoring_schedule_name: str
    capture: S3Location
    reports: S3Location
    baseline_statistics: S3Location
    baseline_constraints: S3Location
    drift_metrics_namespace: str
    metrics_namespace: str
    output_columns_position: Literal["START", "END"] = "START"
    analysis_window_hours: int = 1
    processing: ProcessingJobSettings | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Read and validate; :class:`ConfigurationError` names the variable and the value."""
        schedule = _required(environ, ENV_MONITORING_SCHEDULE_NAME)
        if _SCHEDULE_NAME.fullmatch(schedule) is None:
            raise ConfigurationError(f"{ENV_MONITORING_SCHEDULE_NAME} must be a SageMaker-style name, got {schedule!r}")
        position = environ.get(ENV_OUTPUT_COLUMNS_POSITION, "").strip() or "START"
        if position not in ("START", "END"):
            raise ConfigurationError(f"{ENV_OUTPUT_COLUMNS_POSITION} must be START or END, got {position!r}")
        hours = environ.get(ENV_ANALYSIS_WINDOW_HOURS, "").strip() or "1"
        if not hours.isdigit() or not 1 <= int(hours) <= 24:
            raise ConfigurationError(f"{ENV_ANALYSIS_WINDOW_HOURS} must be a whole number from 1 to 24, got {hours!r}")
        return cls(
            endpoint_name=_required(environ, ENV_ENDPOINT_NAME),
            monitoring_schedule_name=schedule,
            capture=_location(environ, ENV_CAPTURE_S3_URI, object_uri=False),
            reports=_location(environ, ENV_REPORTS_S3_URI, object_uri=False),
            baseline_statistics=_location(environ, ENV_BASELINE_STATISTICS_URI, object_uri=True),
            baseline_constraints=_location(environ, ENV_BASELINE_CONSTRAINTS_URI, object_uri=True),
            drift_metrics_namespace=_required(environ, ENV_DRIFT_METRICS_NAMESPACE),
            metrics_namespace=_required(environ, ENV_METRICS_NAMESPACE),
            output_columns_position="END" if position == "END" else "START",
            analysis_window_hours=int(hours),
            processing=ProcessingJobSettings.from_json(environ[ENV_PROCESSING_JOB])
            if environ.get(ENV_PROCESSING_JOB, "").strip()
            else None,
        )


@dataclass(frozen=True)
class ProcessingJobSettings:
    """How each run's Processing job is made (``PROCESSING_JOB``, written by the CDK construct).

    ``network``: the request's ``NetworkConfig`` as is (inter-container encryption, an optional VPC).
    """

    job_name_prefix: str
    image_uri: str
    role_arn: str
    instance_type: str
    instance_count: int
    volume_size_gb: int
    max_runtime_seconds: int
    kms_key_arn: str
    network: dict[str, Any]

    @classmethod
    def from_json(cls, text: str) -> ProcessingJobSettings:
        try:
            document = json.loads(text)
            values = {name: document[name] for name in _PROCESSING_FIELDS}
        except (ValueError, KeyError, TypeError) as error:
            raise ConfigurationError(
                f"{ENV_PROCESSING_JOB} must be a JSON object with {', '.join(_PROCESSING_FIELDS)}: {error}"
            ) from error
        for name in ("instance_count", "volume_size_gb", "max_runtime_seconds"):
            if not isinstance(values[name], int) or values[name] < 1:
                raise ConfigurationError(
                    f"{ENV_PROCESSING_JOB}: {name} must be a positive integer, got {values[name]!r}"
                )
        prefix = values["job_name_prefix"]
        if not isinstance(prefix, str) or _JOB_NAME_PREFIX.fullmatch(prefix) is None:
            raise ConfigurationError(
                f"{ENV_PROCESSING_JOB}: job_name_prefix must be 1-{JOB_NAME_PREFIX_MAX} lower-case letters, digits "
                f"and single hyphens, got {prefix!r}"
            )
        if not isinstance(values["network"], dict):
            raise ConfigurationError(f"{ENV_PROCESSING_JOB}: network must be an object, got {values['network']!r}")
        return cls(**values)


_PROCESSING_FIELDS = tuple(field.name for field in dataclasses.fields(ProcessingJobSettings))


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is required and must not be blank")
    return value


def _location(environ: Mapping[str, str], name: str, *, object_uri: bool) -> S3Location:
    value = _required(environ, name)
    try:
        location = S3Location.parse(value)
    except ValueError as error:
        raise ConfigurationError(f"{name}: {error}") from error
    if object_uri and (not location.key or value.endswith("/")):
        raise ConfigurationError(f"{name} must name an object (s3://bucket/key), got {value!r}")
    return location
