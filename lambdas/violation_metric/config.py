"""The function's settings: read from the environment once per invocation and validated.

The CDK code sets these variables; the names are constants here so that a test (or the construct) can use
them instead of repeating the strings. Nothing here imports boto3 or Powertools.
"""

from collections.abc import Mapping
from dataclasses import dataclass

#: Name of the monitoring schedule whose executions this function reports on (required). Executions of
#: other schedules, and processing jobs that belong to no schedule, are ignored.
ENV_MONITORING_SCHEDULE_NAME = "MONITORING_SCHEDULE_NAME"
#: Name of the monitored endpoint (required): the value of the ``Endpoint`` dimension.
ENV_ENDPOINT_NAME = "ENDPOINT_NAME"
#: CloudWatch namespace of the published metrics (required). Powertools reads the same variable.
ENV_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
#: Prefix of one-time schedules started by ``python -m ops run-now`` (optional). Their executions are reported
#: under the main schedule's dimension, so that running monitoring now moves the same alarm as the hourly run.
ENV_ONE_TIME_SCHEDULE_PREFIX = "ONE_TIME_SCHEDULE_PREFIX"
#: S3 URI of the baseline ``constraints.json`` (optional): used only when an execution does not say which
#: constraints it was checked against (no ``baseline_constraints`` input).
ENV_BASELINE_CONSTRAINTS_URI = "BASELINE_CONSTRAINTS_URI"


class ConfigurationError(RuntimeError):
    """An environment variable is missing or invalid: a deployment error, not a data problem."""


@dataclass(frozen=True)
class Settings:
    """Validated settings of one invocation.

    Attributes:
        monitoring_schedule_name: From ``MONITORING_SCHEDULE_NAME``.
        endpoint_name: From ``ENDPOINT_NAME``.
        metrics_namespace: From ``POWERTOOLS_METRICS_NAMESPACE``.
        baseline_constraints_uri: From ``BASELINE_CONSTRAINTS_URI``, or ``None`` when unset or empty.
        one_time_schedule_prefix: From ``ONE_TIME_SCHEDULE_PREFIX``, or ``None`` when unset or empty.
    """

    monitoring_schedule_name: str
    endpoint_name: str
    metrics_namespace: str
    baseline_constraints_uri: str | None = None
    one_time_schedule_prefix: str | None = None

    def reports_on(self, schedule_name: str | None) -> bool:
        """Whether executions of ``schedule_name`` count: our schedule, or a one-time run of it.

        SageMaker names are case-insensitive and ARNs may carry them lowercased.
        """
        if schedule_name is None:
            return False
        name = schedule_name.lower()
        if name == self.monitoring_schedule_name.lower():
            return True
        return bool(self.one_time_schedule_prefix) and name.startswith(str(self.one_time_schedule_prefix).lower())

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> "Settings":
        """Read and validate the settings.

        Raises:
            ConfigurationError: A required variable is missing or blank, or ``BASELINE_CONSTRAINTS_URI``
                is set but is not an ``s3://bucket/key`` URI. The message names the variable and the value.
        """
        fallback = environ.get(ENV_BASELINE_CONSTRAINTS_URI, "").strip() or None
        if fallback is not None and not _is_s3_object_uri(fallback):
            raise ConfigurationError(f"{ENV_BASELINE_CONSTRAINTS_URI} must be an s3://bucket/key URI, got {fallback!r}")
        return cls(
            monitoring_schedule_name=_required(environ, ENV_MONITORING_SCHEDULE_NAME),
            endpoint_name=_required(environ, ENV_ENDPOINT_NAME),
            metrics_namespace=_required(environ, ENV_METRICS_NAMESPACE),
            baseline_constraints_uri=fallback,
            one_time_schedule_prefix=environ.get(ENV_ONE_TIME_SCHEDULE_PREFIX, "").strip() or None,
        )


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is required and must not be blank")
    return value


def _is_s3_object_uri(uri: str) -> bool:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return uri.startswith("s3://") and bool(bucket) and bool(key) and not key.endswith("/")
