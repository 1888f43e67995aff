"""Stage settings: parsed and validated once, in ``app.py``, then passed down as one frozen object.

Where values come from, later ones winning:

1. the defaults below, which synthesize the embedded demo with zero edits;
2. the stage's entry under ``stages`` in ``cdk.json`` (chosen with ``-c stage=NAME``);
3. single overrides on the command line: ``-c settings.sampling_percentage=50``.

Every bad value stops synth with one line naming the setting, the value received and what is allowed.
Values from the command line arrive as strings; they are converted by the setting's type (``"50"`` for an
integer, ``"true"``/``"false"`` for a flag, ``"a@x.org,b@x.org"`` for a list).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import re
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from demo.features import FEATURE_NAMES

DEFAULT_STAGE = "default"
OVERRIDE_PREFIX = "settings."

#: The demo's features: what the drift alarms watch unless a stage says otherwise.
DEMO_FEATURES = FEATURE_NAMES


class SettingsError(ValueError):
    """A setting is missing, unknown or out of range; the message is one line meant for a person."""


# --- validators: each returns None when the value is fine, else what is allowed -------------------------

#: Lower case only: the names end up in job, schedule and role names, and SageMaker writes ARNs lower-cased, so the
#: ARNs built for IAM conditions and metric dimensions (lower case) would not match a mixed-case name.
_NAME_RE = re.compile(r"^[a-z](-?[a-z0-9])*$")
_S3_URI_RE = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<key>\S+)$")
_INSTANCE_TYPE_RE = re.compile(r"^ml\.[a-z0-9]+(-[a-z0-9]+)*\.[a-z0-9]+$")
_EMAIL_RE = re.compile(r"^[^@\s,]+@[^@\s,]+\.[A-Za-z]{2,}$")
_ACCOUNT_RE = re.compile(r"^\d{12}$")
_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_IMAGE_URI_RE = re.compile(
    r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/[a-z0-9._/-]+(:[\w.-]+|@sha256:[0-9a-f]{64})?$"
)
_SUBNET_RE = re.compile(r"^subnet-[0-9a-f]{8,17}$")
_SECURITY_GROUP_RE = re.compile(r"^sg-[0-9a-f]{8,17}$")
_PIPELINE_RE = re.compile(r"^(arn:aws[a-z-]*:codepipeline:[a-z0-9-]+:\d{12}:)?[A-Za-z0-9.@_-]{1,100}$")


def _int_range(low: int, high: int) -> Callable[[int], str | None]:
    def check(value: int) -> str | None:
        return None if low <= value <= high else f"an integer from {low} to {high}"

    return check


def _float_range(low: float, high: float) -> Callable[[float], str | None]:
    def check(value: float) -> str | None:
        return None if low <= value <= high else f"a number from {low} to {high}"

    return check


def _pattern(regex: re.Pattern[str], allowed: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if regex.fullmatch(value) else allowed

    return check


def _each(check: Callable[[str], str | None]) -> Callable[[tuple[str, ...]], str | None]:
    def check_all(values: tuple[str, ...]) -> str | None:
        for value in values:
            problem = check(value)
            if problem:
                return f"a list of {problem} (bad item: {value!r})"
        return None

    return check_all


def _one_of(*choices: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if value in choices else "one of " + ", ".join(repr(choice) for choice in choices)

    return check


def _name_of_length(longest: int) -> Callable[[str], str | None]:
    # Names end up in stack names and in job-name prefixes, which SageMaker caps at 63 characters in all.
    def check(value: str) -> str | None:
        if 1 <= len(value) <= longest and _NAME_RE.fullmatch(value):
            return None
        return f"1 to {longest} lower-case letters, digits or single hyphens, starting with a letter"

    return check


_s3_uri = _pattern(_S3_URI_RE, "an S3 URI of the form s3://bucket/key")
_instance_type = _pattern(_INSTANCE_TYPE_RE, "a SageMaker instance type of the form ml.<family>.<size>")
_email = _pattern(_EMAIL_RE, "an email address")


#: The only cron forms Model Monitor accepts (API reference, ScheduleConfig): hourly, daily at an hour, or every
#: N hours from an hour. Anything else is refused by CreateMonitoringSchedule minutes into a deploy.
_HOURLY_CRON = "cron(0 * ? * * *)"
_SCHEDULE_RE = re.compile(r"^cron\(0 (?:\*|(?P<hour>[01]?\d|2[0-3])(?:/(?P<every>0?[1-9]|1\d|2[0-4]))?) \? \* \* \*\)$")


def _schedule_expression(value: str) -> str | None:
    if _SCHEDULE_RE.fullmatch(value):
        return None
    return (
        "a schedule Model Monitor accepts: hourly cron(0 * ? * * *), daily cron(0 H ? * * *) "
        "or every N hours cron(0 H/N ? * * *), with H 0-23 and N 1-24"
    )


def schedule_hours(schedule_expression: str) -> tuple[int, ...]:
    """The hours of the day (UTC) at which an accepted schedule starts an execution, in order."""
    match = _SCHEDULE_RE.fullmatch(schedule_expression)
    if match is None:
        raise ValueError(f"not a schedule Model Monitor accepts: {schedule_expression!r}")
    if match.group("hour") is None:
        return tuple(range(24))
    first = int(match.group("hour"))
    # "H/N" in a cron hour field: H, H+N, ... up to 23, and again from H the next day.
    step = int(match.group("every") or 24)
    return tuple(range(first, 24, step))


def schedule_period_seconds(schedule_expression: str) -> int:
    """The shortest time between two consecutive executions of an accepted schedule, across midnight too.

    SageMaker refuses a job definition whose MaxRuntimeInSeconds exceeds the schedule's frequency. For
    ``cron(0 5/10 ? * * *)`` (05:00 and 15:00) that is 10 hours, not the 14 from 15:00 to 05:00; for
    ``cron(0 0/2 ? * * *)`` it is 2 hours, including the gap from 22:00 to midnight.
    """
    return min(_gaps(schedule_hours(schedule_expression))) * 3600


def _gaps(hours: tuple[int, ...]) -> list[int]:
    """Hours between consecutive runs, from the last run of a day to the first of the next included."""
    return [later - earlier for earlier, later in itertools.pairwise(hours)] + [hours[0] + 24 - hours[-1]]


#: Model Monitor's namespace for per-feature metrics (the same value as ``cdk_constructs.drift_metrics``; settings
#: import nothing from CDK).
MODEL_MONITOR_METRICS_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"


def _metrics_namespace(value: str) -> str | None:
    # botocore's cloudwatch model, PutMetricData Namespace: 1-255 characters, pattern "[^:].*", printable ASCII;
    # and "you should not specify a namespace that begins with AWS/" (reserved for AWS services).
    if (
        1 <= len(value) <= 255
        and value.isascii()
        and value.isprintable()
        and not value.startswith(":")
        and not value.startswith("AWS/")
    ):
        return None
    return "a CloudWatch namespace: 1 to 255 printable ASCII characters, not starting with ':' or 'AWS/'"


#: The most the baseline job may run (cdk_constructs.suggested_baseline.MAX_RUNTIME_LIMIT): a job still running 48
#: minutes after its creation is stopped so CloudFormation hears why before its one-hour custom-resource limit;
#: 10 of those are the start-up allowance and 2 the upload's.
BASELINE_MAX_RUNTIME_LIMIT_MINUTES = 36


def _baseline_max_runtime(value: int) -> str | None:
    if 5 <= value <= BASELINE_MAX_RUNTIME_LIMIT_MINUTES:
        return None
    return (
        f"an integer from 5 to {BASELINE_MAX_RUNTIME_LIMIT_MINUTES} (CloudFormation waits at most an hour for a "
        "custom resource: the job must end within 48 minutes of its creation, 10 of them start-up and 2 upload)"
    )


def _setting(default: Any, check: Callable[[Any], str | None] | None = None, doc: str = "") -> Any:
    return dataclasses.field(default=default, metadata={"check": check, "doc": doc})


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything a stage can set. Each field documents its default and why it is that."""

    stage: str = _setting(DEFAULT_STAGE, _name_of_length(10), "the stage's name; part of every stack name")
    name: str = _setting("model-monitor", _name_of_length(20), "project name: the prefix of stack names and job names")
    account: str | None = _setting(
        None, _pattern(_ACCOUNT_RE, "a 12-digit AWS account id"), "None: environment-agnostic"
    )
    region: str | None = _setting(
        None, _pattern(_REGION_RE, "an AWS region name such as us-east-1"), "None: environment-agnostic"
    )

    # -- endpoint and data capture --
    endpoint_instance_type: str = _setting("ml.m5.large", _instance_type)
    endpoint_instance_count: int = _setting(1, _int_range(1, 100))
    sampling_percentage: int = _setting(
        100, _int_range(0, 100), "share of requests captured; 100 suits a demo, lower it for busy endpoints"
    )
    capture_expiration_days: int = _setting(
        365, _int_range(1, 3650), "captured requests are deleted after this many days"
    )
    model_data_uri: str | None = _setting(None, _s3_uri, "None: the embedded demo model")
    model_image_uri: str | None = _setting(
        None,
        _pattern(_IMAGE_URI_RE, "an ECR image URI such as 123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:tag"),
        "None: SageMaker's built-in XGBoost image for the stack's region",
    )
    model_network_isolation: bool = _setting(
        True,
        None,
        "the model's container gets no network access (SageMaker still fetches the artifact and captures data); "
        "the built-in XGBoost image supports it, a serving image that calls out needs false",
    )
    subnet_ids: tuple[str, ...] = _setting(
        (), _each(_pattern(_SUBNET_RE, "subnet ids (subnet-...)")), "empty: no VPC for model and jobs"
    )
    security_group_ids: tuple[str, ...] = _setting(
        (), _each(_pattern(_SECURITY_GROUP_RE, "security group ids (sg-...)"))
    )

    # -- baseline --
    baseline_dataset_uri: str | None = _setting(None, _s3_uri, "None: the embedded demo baseline CSV")
    baseline_dataset_format: str = _setting("csv", _one_of("csv", "jsonl"))
    baseline_dataset_header: bool = _setting(True, None, "whether the CSV baseline starts with a header row")
    baseline_output_columns_position: str = _setting(
        "START",
        _one_of("START", "END"),
        "where the model's output (label) column is in each CSV row: first (START, the SageMaker SDK's default) "
        "or last (END); the analyzer takes that column as the output",
    )
    baseline_instance_type: str = _setting("ml.m5.xlarge", _instance_type)
    baseline_max_runtime_minutes: int = _setting(
        30,
        _baseline_max_runtime,
        "the baseline job's MaxRuntimeInSeconds, in minutes; CloudFormation waits at most an hour for a custom "
        "resource, so the job must end within 48 minutes of its creation: 36 of runtime, 10 of start-up, 2 of upload",
    )

    # -- drift engine --
    monitoring_engine: str = _setting(
        "model-monitor",
        _one_of("model-monitor", "builtin"),
        "model-monitor: SageMaker Model Monitor's schedule; builtin: the project's drift engine in a function",
    )
    builtin_runtime: str = _setting(
        "function",
        _one_of("function", "processing"),
        "builtin engine: where the hourly analysis runs: 'function' (Lambda: up to 10 GB of memory and 15 minutes "
        "per run) or 'processing' (a SageMaker Processing job per run on monitoring_instance_count instances of "
        "monitoring_instance_type, running the engine on Spark; needs region)",
    )
    analysis_memory_mb: int = _setting(
        1769,
        _int_range(128, 10240),
        "builtin engine: memory of the analysis function (Lambda's range); 1769 MB is one full vCPU",
    )
    analysis_timeout_seconds: int = _setting(
        900, _int_range(1, 900), "builtin engine: longest analysis run; 900 s is Lambda's limit"
    )
    drift_metrics_namespace: str = _setting(
        MODEL_MONITOR_METRICS_NAMESPACE,
        _metrics_namespace,
        "builtin engine: namespace of the per-feature metrics; Model Monitor's by default, so alarms match",
    )

    # -- monitoring schedule --
    schedule_expression: str = _setting(_HOURLY_CRON, _schedule_expression, "hourly")
    monitoring_instance_type: str = _setting(
        "ml.m5.xlarge", _instance_type, "each run's instances: Model Monitor's, or builtin_runtime 'processing''s"
    )
    monitoring_instance_count: int = _setting(
        1, _int_range(1, 100), "instances per run (Model Monitor, or builtin_runtime 'processing': Spark's)"
    )
    monitoring_volume_size_gb: int = _setting(20, _int_range(1, 16384))
    monitoring_max_runtime_seconds: int = _setting(
        3600,
        _int_range(1, 86400),
        "at most the shortest time between two executions of schedule_expression (3600 s for hourly)",
    )
    enable_network_isolation: bool = _setting(False)
    encrypt_inter_container_traffic: bool = _setting(True)

    # -- alarms and alerts --
    alert_emails: tuple[str, ...] = _setting((), _each(_email), "who is emailed when an alarm fires")
    monitored_features: tuple[str, ...] = _setting(
        DEMO_FEATURES,
        _each(_pattern(re.compile(r"^[A-Za-z0-9_.-]{1,128}$"), "feature names")),
        "features with a drift alarm",
    )
    drift_threshold: float = _setting(
        0.1, _float_range(0.0, 1.0), "baseline distance above which a feature has drifted"
    )
    latency_p99_threshold_ms: int = _setting(500, _int_range(1, 600_000), "p99 ModelLatency alarm threshold")
    errors_5xx_threshold: int = _setting(1, _int_range(1, 1_000_000), "5XX errors in 5 minutes that alarm")

    # -- retrain trigger --
    violation_threshold_percent: float = _setting(
        25.0, _float_range(0.0, 100.0), "violated features / monitored features x 100 that starts a retrain"
    )
    training_data_uri: str | None = _setting(
        None, _s3_uri, "None: the embedded demo training CSV; what the retrain pipeline trains on"
    )
    retrain_instance_type: str = _setting("ml.m5.large", _instance_type)
    retrain_pipeline: str | None = _setting(
        None,
        _pattern(_PIPELINE_RE, "a CodePipeline name or ARN"),
        "None: the stack creates its own retrain pipeline",
    )

    # -- several monitored endpoints (issue 12) --
    endpoints: tuple[MonitoredEndpoint, ...] = _setting(
        (),
        None,
        "empty: the stage monitors the one endpoint it deploys, as set above; see load_settings for the map",
    )

    @property
    def stack_prefix(self) -> str:
        return f"{self.name}-{self.stage}"

    @property
    def endpoint_name(self) -> str:
        """The stage's endpoint: stable, lower case (``name`` and ``stage`` are), at most 31 characters.

        Clients invoke it by this name and Model Monitor's metrics carry it in their ``Endpoint`` dimension.
        """
        return f"{self.name}-{self.stage}"

    @property
    def one_time_schedule_prefix(self) -> str:
        """Names of one-time schedules ``python -m ops run-now`` starts; their results count as the stage's."""
        return f"{self.stack_prefix}-run-now-"


@dataclasses.dataclass(frozen=True, kw_only=True)
class MonitoredEndpoint:
    """One entry of a stage's ``endpoints``: an endpoint this app deploys, or one deployed elsewhere.

    ``settings`` are the stage's settings with this entry's values applied (and no ``endpoints`` of their own),
    so whatever builds one endpoint's monitoring reads them exactly as it reads a stage's today.
    """

    id: str
    #: The endpoint's name when another pipeline deployed it; None when this app deploys it.
    existing_endpoint_name: str | None
    settings: Settings

    @property
    def is_existing(self) -> bool:
        return self.existing_endpoint_name is not None


def endpoint_settings(settings: Settings, entry: MonitoredEndpoint) -> Settings:
    """The settings one entry's stacks are built with: the entry's, with ``stage`` scoped to ``<stage>-<id>``.

    Everything named from ``stack_prefix`` and ``endpoint_name`` (stacks, exports, job and alarm names, the
    endpoint this app deploys) then reads ``<name>-<stage>-<id>``: one entry's names never collide with another's
    and depend on its id only, never on its position in the map. ``stacks.build_fleet`` builds with these and
    ``python -m ops --endpoint ID`` reads the stacks by them.
    """
    return dataclasses.replace(entry.settings, stage=f"{settings.stage}-{entry.id}")


_FIELDS = {field.name: field for field in dataclasses.fields(Settings)}

# --- several endpoints per stage ----------------------------------------------------------------------------
#
# A stage's ``endpoints`` maps an id (lower case: it becomes part of stack and resource names) to that endpoint's
# settings: the keys below, each defaulting to the stage's value, plus ``existing_endpoint_name`` for an endpoint
# deployed elsewhere. Everything else (name, account, region, alert_emails, VPC, ...) is stage-wide.
#
# Validation stays hand-written rather than moving to pydantic. The new level is the same settings again: an
# entry is a subset of the stage's keys, so each value goes through that field's own converter and check, and
# the message is the same one line with "endpoint <id>: " in front. pydantic would add a compiled dependency
# to every synth (pydantic-core), its lax coercions differ from the documented command-line conversions ("1"
# and "yes" become True; strict mode refuses command-line strings altogether), and each ValidationError would
# have to be rendered back into these one-liners. It would pay off with deeper nesting or lists of structured
# objects; one level of id -> known keys does not need it.

#: Keys an entry of ``endpoints`` may set; every other setting is the stage's. A renamed setting must be renamed
#: here too (tests/test_settings_endpoints.py checks that each is a setting).
ENDPOINT_KEYS: frozenset[str] = frozenset(
    {
        # deployed by this app only
        "endpoint_instance_type",
        "endpoint_instance_count",
        "sampling_percentage",
        "capture_expiration_days",
        "model_data_uri",
        "model_image_uri",
        "model_network_isolation",
        # baseline
        "baseline_dataset_uri",
        "baseline_dataset_format",
        "baseline_dataset_header",
        "baseline_instance_type",
        "baseline_output_columns_position",
        "baseline_max_runtime_minutes",
        # engine and schedule
        "monitoring_engine",
        "builtin_runtime",
        "analysis_memory_mb",
        "analysis_timeout_seconds",
        "schedule_expression",
        "monitoring_instance_type",
        "monitoring_instance_count",
        "monitoring_volume_size_gb",
        "monitoring_max_runtime_seconds",
        # alarms and retrain
        "monitored_features",
        "drift_threshold",
        "latency_p99_threshold_ms",
        "errors_5xx_threshold",
        "violation_threshold_percent",
        "training_data_uri",
        "retrain_instance_type",
        "retrain_pipeline",
    }
)
#: Keys about the model and endpoint this app deploys: meaningless for an endpoint deployed elsewhere.
DEPLOYED_ONLY_KEYS: frozenset[str] = frozenset(
    {
        "endpoint_instance_type",
        "endpoint_instance_count",
        "sampling_percentage",
        "capture_expiration_days",
        "model_data_uri",
        "model_image_uri",
        "model_network_isolation",
    }
)
#: Keys an endpoint deployed elsewhere must set: the demo's baseline, features and training data describe the
#: demo model, never someone else's.
EXISTING_REQUIRED_KEYS: tuple[str, ...] = ("baseline_dataset_uri", "monitored_features")
EXISTING_KEY = "existing_endpoint_name"
#: ``EndpointName`` in botocore's SageMaker model: 1 to 63 letters, digits and hyphens.
_ENDPOINT_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
#: Ids become part of stack names and of names built from ``<name>-<stage>-<id>``, which must stay well within
#: SageMaker's 63 characters with their suffixes: 20 + 1 + 10 + 1 + 16 = 48.
_ENDPOINT_ID_LENGTH = 16


def _describe(value: Any) -> str:
    return repr(value) if not isinstance(value, str) else f'"{value}"'


def _convert(name: str, raw: Any) -> Any:
    """Turn a raw JSON or command-line value into the setting's type, or raise SettingsError."""
    annotation = typing.get_type_hints(Settings)[name]
    args = typing.get_args(annotation)
    optional = isinstance(annotation, types.UnionType) and type(None) in args
    target = next(arg for arg in args if arg is not type(None)) if optional else annotation

    if optional and (raw is None or raw == ""):
        return None
    if target is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in {"true", "false"}:
            return raw.lower() == "true"
        raise SettingsError(f"setting {name}: got {_describe(raw)}; expected true or false")
    if target is int:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and re.fullmatch(r"-?\d+", raw.strip()):
            return int(raw)
        raise SettingsError(f"setting {name}: got {_describe(raw)}; expected an integer")
    if target is float:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return float(raw)
        if isinstance(raw, str):
            try:
                return float(raw)
            except ValueError:
                pass
        raise SettingsError(f"setting {name}: got {_describe(raw)}; expected a number")
    if typing.get_origin(target) is tuple:
        if isinstance(raw, str):
            return tuple(item.strip() for item in raw.split(",") if item.strip())
        if isinstance(raw, list | tuple) and all(isinstance(item, str) for item in raw):
            return tuple(raw)
        raise SettingsError(f"setting {name}: got {_describe(raw)}; expected a list of strings")
    if isinstance(raw, str):
        return raw
    raise SettingsError(f"setting {name}: got {_describe(raw)}; expected a string")


def _validated(name: str, value: Any) -> Any:
    check = _FIELDS[name].metadata["check"]
    if value is not None and check is not None:
        allowed = check(value)
        if allowed:
            shown = ",".join(value) if isinstance(value, tuple) else value
            raise SettingsError(f"setting {name}: got {_describe(shown)}; expected {allowed}")
    return value


#: Settings that were replaced, and what to write instead: an old cdk.json gets one line that says so.
_REPLACED = {
    "baseline_timeout_minutes": "baseline_max_runtime_minutes (the job's own runtime, at most "
    f"{BASELINE_MAX_RUNTIME_LIMIT_MINUTES}; how long CloudFormation waits is fixed under its one-hour limit)",
}


def _apply(values: dict[str, Any], source: Mapping[str, Any], where: str) -> None:
    for key, raw in source.items():
        if key in _REPLACED:
            raise SettingsError(f"setting {key} in {where} was replaced by {_REPLACED[key]}")
        if key not in _FIELDS or key == "stage":
            known = ", ".join(sorted(name for name in _FIELDS if name != "stage"))
            raise SettingsError(f"unknown setting {key!r} in {where}; known settings: {known}")
        if key == "endpoints":
            continue  # a map of entries, parsed by _endpoints once the stage's own values are known
        values[key] = _validated(key, _convert(key, raw))


def load_settings(
    *,
    stage: str | None,
    stages: Mapping[str, Mapping[str, Any]] | None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build the settings of ``stage`` from the ``stages`` table (cdk.json) and single overrides.

    ``overrides`` maps setting names (without the ``settings.`` prefix) to raw values.
    """
    stages = dict(stages or {})
    stages.setdefault(DEFAULT_STAGE, {})
    stage_name = stage or DEFAULT_STAGE
    if stage_name not in stages:
        raise SettingsError(
            f"unknown stage {stage_name!r}; known stages: {', '.join(sorted(stages))} (cdk.json context 'stages')"
        )
    stage_values = stages[stage_name]
    if not isinstance(stage_values, Mapping):
        raise SettingsError(f"stage {stage_name!r} in cdk.json must be an object of settings")
    values: dict[str, Any] = {"stage": _validated("stage", stage_name)}
    overrides = dict(overrides or {})
    endpoint_overrides = {key: overrides.pop(key) for key in list(overrides) if key.startswith("endpoints.")}
    if "endpoints" in overrides:
        raise SettingsError(
            "setting endpoints: the map is set in cdk.json; on the command line override one value of one entry "
            "with -c settings.endpoints.ID.NAME=VALUE"
        )
    _apply(values, stage_values, f"stage {stage_name!r}")
    _apply(values, overrides, "the command line (-c settings.NAME=VALUE)")
    settings = Settings(**values)
    _check_combinations(settings)
    endpoints = _endpoints(values, stage_values.get("endpoints"), endpoint_overrides)
    return dataclasses.replace(settings, endpoints=endpoints) if endpoints else settings


def _endpoints(
    stage_values: Mapping[str, Any], raw: Any, overrides: Mapping[str, Any]
) -> tuple[MonitoredEndpoint, ...]:
    """The entries of a stage's ``endpoints``, each validated on top of the stage's values.

    ``overrides`` maps ``endpoints.ID.NAME`` (from ``-c settings.endpoints.ID.NAME=VALUE``) to raw values.
    """
    if raw is None and not overrides:
        return ()
    if raw is None:
        raise SettingsError(
            f"unknown endpoint in the command line (-c settings.{next(iter(overrides))}); this stage has no endpoints"
        )
    if not isinstance(raw, Mapping) or not raw:
        raise SettingsError(
            f"setting endpoints: got {_describe(raw)}; expected an object mapping endpoint ids to their settings"
        )
    entries: dict[str, dict[str, Any]] = {}
    for endpoint_id, entry in raw.items():
        if not (1 <= len(endpoint_id) <= _ENDPOINT_ID_LENGTH and _NAME_RE.fullmatch(endpoint_id)):
            raise SettingsError(
                f"setting endpoints: got id {_describe(endpoint_id)}; expected 1 to {_ENDPOINT_ID_LENGTH} lower-case "
                "letters, digits or single hyphens, starting with a letter (ids become part of names)"
            )
        if not isinstance(entry, Mapping):
            raise SettingsError(f"endpoint {endpoint_id}: got {_describe(entry)}; expected an object of settings")
        entries[endpoint_id] = dict(entry)
    for key, value in overrides.items():
        endpoint_id, _, name = key.removeprefix("endpoints.").partition(".")
        if endpoint_id not in entries or not name:
            raise SettingsError(
                f"unknown endpoint in the command line (-c settings.{key}); known endpoints: {', '.join(entries)}"
            )
        entries[endpoint_id][name] = value
    endpoints = tuple(_endpoint(endpoint_id, entry, stage_values) for endpoint_id, entry in entries.items())
    names: dict[str, str] = {}
    for endpoint in endpoints:
        if endpoint.existing_endpoint_name in names:
            raise SettingsError(
                f"endpoint {endpoint.id}: setting {EXISTING_KEY}: got {_describe(endpoint.existing_endpoint_name)}; "
                f"endpoint {names[endpoint.existing_endpoint_name]} already monitors it"
            )
        if endpoint.existing_endpoint_name is not None:
            names[endpoint.existing_endpoint_name] = endpoint.id
    return endpoints


def _endpoint(endpoint_id: str, entry: Mapping[str, Any], stage_values: Mapping[str, Any]) -> MonitoredEndpoint:
    """One entry: its keys checked, then converted and validated exactly as the stage's own."""
    where = f"endpoint {endpoint_id}"
    existing = entry.get(EXISTING_KEY)
    if existing is not None and not (isinstance(existing, str) and _ENDPOINT_NAME_RE.fullmatch(existing)):
        raise SettingsError(
            f"{where}: setting {EXISTING_KEY}: got {_describe(existing)}; expected a SageMaker endpoint name "
            "(1 to 63 letters, digits or hyphens, starting and ending with a letter or digit)"
        )
    values = {key: value for key, value in stage_values.items() if key not in DEPLOYED_ONLY_KEYS or existing is None}
    for key, raw in entry.items():
        if key == EXISTING_KEY:
            continue
        if key not in ENDPOINT_KEYS:
            if key in _FIELDS:
                raise SettingsError(f"{where}: setting {key} is stage-wide; set it on the stage, not on one endpoint")
            known = ", ".join(sorted({*ENDPOINT_KEYS, EXISTING_KEY}))
            raise SettingsError(f"{where}: unknown setting {key!r}; known settings: {known}")
        if existing is not None and key in DEPLOYED_ONLY_KEYS:
            raise SettingsError(
                f"{where}: setting {key}: got {_describe(raw)}; an endpoint deployed elsewhere ({EXISTING_KEY} "
                f"{existing}) is not deployed by this app: leave {key} out"
            )
        try:
            values[key] = _validated(key, _convert(key, raw))
        except SettingsError as error:
            raise SettingsError(f"{where}: {error}") from None
    if existing is not None:
        missing = [key for key in EXISTING_REQUIRED_KEYS if key not in entry]
        if missing:
            raise SettingsError(
                f"{where}: setting {missing[0]}: missing; an endpoint deployed elsewhere ({EXISTING_KEY} "
                f"{existing}) needs its own {' and '.join(EXISTING_REQUIRED_KEYS)}: the demo's describe the demo model"
            )
        if "retrain_pipeline" not in entry and "training_data_uri" not in entry:
            raise SettingsError(
                f"{where}: settings retrain_pipeline and training_data_uri: both missing; an endpoint deployed "
                f"elsewhere ({EXISTING_KEY} {existing}) retrains with its own pipeline or on its own training data"
            )
    settings = Settings(**values)
    try:
        _check_combinations(settings)
    except SettingsError as error:
        raise SettingsError(f"{where}: {error}") from None
    return MonitoredEndpoint(id=endpoint_id, existing_endpoint_name=existing, settings=settings)


def _check_combinations(settings: Settings) -> None:
    """Rules that involve more than one setting."""
    if bool(settings.subnet_ids) != bool(settings.security_group_ids):
        raise SettingsError(
            "settings subnet_ids and security_group_ids: got "
            f"{len(settings.subnet_ids)} subnet(s) and {len(settings.security_group_ids)} security group(s); "
            "expected both set or both empty"
        )
    period = schedule_period_seconds(settings.schedule_expression)
    if settings.monitoring_max_runtime_seconds > period:
        # SageMaker refuses it at CreateDataQualityJobDefinition/CreateMonitoringSchedule ("cannot exceed the
        # frequency of the job"), minutes into a deploy.
        raise SettingsError(
            f"setting monitoring_max_runtime_seconds: got {settings.monitoring_max_runtime_seconds}; "
            f"expected at most {period}, the shortest time between two runs of {settings.schedule_expression}"
        )
    if settings.monitoring_engine != "builtin" and settings.drift_metrics_namespace != MODEL_MONITOR_METRICS_NAMESPACE:
        raise SettingsError(
            f"setting drift_metrics_namespace: got {_describe(settings.drift_metrics_namespace)}; Model Monitor "
            f"always publishes to {MODEL_MONITOR_METRICS_NAMESPACE}: only monitoring_engine 'builtin' can choose"
        )
    hours = schedule_hours(settings.schedule_expression)
    if settings.monitoring_engine == "builtin" and len({*_gaps(hours)}) > 1:
        # Each builtin run analyzes a fixed number of hours before it (ANALYSIS_WINDOW_HOURS): with uneven gaps
        # some hours would be analyzed twice or never.
        raise SettingsError(
            f"setting schedule_expression: got {_describe(settings.schedule_expression)}; the builtin engine needs "
            "runs evenly spaced over the day (cron(0 H/N ? * * *) with N dividing 24 and H below N)"
        )
    if settings.builtin_runtime == "processing":
        _check_processing_runtime(settings)
    if settings.baseline_dataset_format != "csv" and settings.baseline_output_columns_position != "START":
        raise SettingsError(
            "setting baseline_output_columns_position: got "
            f"{_describe(settings.baseline_output_columns_position)}; it applies to CSV baselines only: "
            f"leave it at 'START' with baseline_dataset_format {_describe(settings.baseline_dataset_format)}"
        )
    if settings.baseline_dataset_format != "csv" and settings.baseline_dataset_uri is None:
        raise SettingsError(
            f"setting baseline_dataset_format: got {_describe(settings.baseline_dataset_format)}; "
            "the embedded demo baseline is CSV: set baseline_dataset_uri too, or use 'csv'"
        )


#: botocore's sagemaker model, ProcessingInstanceType: the instance types a Processing job accepts (generated; a
#: test compares it with the installed botocore). Read here, not imported: settings import nothing from CDK.
PROCESSING_INSTANCE_TYPES_PATH = Path(__file__).with_name("cdk_constructs") / "processing_instance_types.json"


@functools.cache
def processing_instance_types() -> frozenset[str]:
    document = json.loads(PROCESSING_INSTANCE_TYPES_PATH.read_text(encoding="utf-8"))
    return frozenset(document["instance_types"])


def _check_processing_runtime(settings: Settings) -> None:
    """``builtin_runtime: processing``: what a Processing job running Spark needs of the other settings."""
    if settings.monitoring_engine != "builtin":
        raise SettingsError(
            f'setting builtin_runtime: got "processing"; it chooses where the builtin engine runs: set '
            f"monitoring_engine 'builtin' too (got {_describe(settings.monitoring_engine)})"
        )
    if settings.region is None:
        raise SettingsError(
            'setting region: missing; builtin_runtime "processing" builds its image from SageMaker\'s Spark image '
            "of the stack's region, which must be known at synth: set region (e.g. us-east-1)"
        )
    if settings.monitoring_instance_type not in processing_instance_types():
        raise SettingsError(
            f"setting monitoring_instance_type: got {_describe(settings.monitoring_instance_type)}; expected an "
            "instance type SageMaker Processing accepts (botocore's ProcessingInstanceType), such as ml.m5.xlarge"
        )
    if settings.enable_network_isolation:
        raise SettingsError(
            'setting enable_network_isolation: got true; builtin_runtime "processing" reads the capture from S3 '
            "inside the job (Spark), which network isolation forbids: set it to false"
        )


def overrides_from_context(context: Mapping[str, Any]) -> dict[str, Any]:
    """Pick the ``settings.NAME`` keys out of the whole CDK context."""
    return {key[len(OVERRIDE_PREFIX) :]: value for key, value in context.items() if key.startswith(OVERRIDE_PREFIX)}
