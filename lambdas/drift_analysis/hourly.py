"""One hourly analysis of the builtin engine, as plain functions over an S3 client and two metric sinks.

What a run does, in order (each step's reason in its function):

1. :func:`parse_request`: the window. A scheduled run analyzes the hour *before* the scheduled time (EventBridge
   Scheduler substitutes ``<aws.scheduler.scheduled-time>`` into the event), as a Model Monitor execution started
   at 14:00 analyzes 13:00-14:00. ``ops run-now`` sends an explicit window and a run name of its own.
2. :func:`drift_analysis.runs.claim_run`: the hour's ``run.json`` claim, so a retry never publishes twice.
3. Baseline, capture objects, analysis: ``drift_engine.s3`` and the engine's profile and checks.
4. Reports: ``statistics.json`` and ``constraint_violations.json`` under
   ``<reports>/<endpoint>/<schedule>/yyyy/mm/dd/hh/`` (the scheduled hour, where Model Monitor writes an
   execution's output), or ``<reports>/<endpoint>/<run name>/…`` for a run now (Model Monitor names a one-time
   run's folder after its one-time schedule).
5. Metrics: the per-feature metrics through the engine's publisher (PutMetricData, Model Monitor's names and
   dimensions), then the violation percentage computed by the violation-metric function's own parser and
   summary from the file just written, and the run metrics (:mod:`drift_analysis.metric_names`).

Known end states (``run.json`` ``status``): ``completed``; ``no-data`` (``NoCapturedData=1``, no violation
percentage: an idle hour is not a clean hour); ``failed`` (baseline missing or unusable: one error line and
``ExecutionFailed=1``). AWS errors propagate after the claim is released (``error``), so Lambda's retry can run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, NamedTuple, Protocol

from aws_lambda_powertools.metrics import Metrics

from drift_engine.capture import CaptureOptions, parse_time
from drift_engine.checks import analyze_profile
from drift_engine.metrics import FeatureMetrics, MetricPublisher, metric_data
from drift_engine.s3 import (
    BaselineUnavailableError,
    S3Location,
    list_capture_objects,
    profile_capture_objects,
    put_json,
    read_baseline,
)

from ..violation_metric.metric_names import EXECUTION_FAILED
from ..violation_metric.metric_names import METRIC_UNITS as VIOLATION_METRIC_UNITS
from ..violation_metric.publishing import MetricTarget, publish_execution_failed, publish_summary
from ..violation_metric.violations import ViolationSummary, parse_violations, summarize
from . import runs
from .config import Settings
from .metric_names import ANALYZED_RECORDS, MALFORMED_CAPTURE_RECORDS, METRIC_UNITS, NO_CAPTURED_DATA

__all__ = [
    "STATISTICS_FILE",
    "VIOLATIONS_FILE",
    "InvalidRequestError",
    "RunRequest",
    "RunResult",
    "parse_request",
    "reports_location",
    "run_analysis",
]

STATISTICS_FILE: Final = "statistics.json"
VIOLATIONS_FILE: Final = "constraint_violations.json"
_RUN_NAME: Final = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
#: ``ops run-now`` may analyze up to 24 hours, Model Monitor's longest one-time window.
_MAX_WINDOW: Final = timedelta(hours=24)


class InvalidRequestError(ValueError):
    """The event is neither a scheduled run nor a run now; the message says what is wrong."""


#: Powertools ``Metrics`` (EMF), as the violation-metric function publishes.
RunMetrics = Metrics


@dataclass(frozen=True)
class RunRequest:
    """What to analyze: ``[start, end)``, and the folder name (``None``: the schedule's)."""

    start: datetime
    end: datetime
    scheduled_time: datetime
    run_name: str | None = None


@dataclass(frozen=True)
class RunResult:
    """How a run ended; also what the handler returns and logs."""

    status: str
    reports_uri: str
    window_start: str
    window_end: str
    analyzed_records: int = 0
    malformed_records: int = 0
    violations: int = 0
    violation_percentage: float | None = None
    error: str | None = None
    #: ``builtin_runtime: processing``: the Processing job that analyzes (or analyzed) the window.
    job_name: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}


def window_result(status: str, folder: S3Location, window: Mapping[str, str], **details: Any) -> RunResult:
    """A run's result for its report folder and window (as ``run.json`` records them), with ``details``."""
    return RunResult(
        status=status,
        reports_uri=folder.uri,
        window_start=window["window_start"],
        window_end=window["window_end"],
        **details,
    )


def parse_request(event: Mapping[str, Any], *, window_hours: int = 1) -> RunRequest:
    """The window of a scheduled event (``scheduledTime``) or of a run now (``windowStart``/``windowEnd``).

    A scheduled run analyzes the ``window_hours`` whole hours before the scheduled hour (the function's
    ``ANALYSIS_WINDOW_HOURS``: 1 for an hourly schedule, the interval for one every N hours or daily).

    Raises:
        InvalidRequestError: No ``scheduledTime``, a time that is not ISO 8601, a window that is empty or longer
            than 24 hours, or a ``runName`` that is not a SageMaker-style name.
    """
    scheduled = _time(event, "scheduledTime")
    if "windowStart" not in event and "windowEnd" not in event:
        end = scheduled.replace(minute=0, second=0, microsecond=0)
        return RunRequest(start=end - timedelta(hours=window_hours), end=end, scheduled_time=scheduled)
    start, end = _time(event, "windowStart"), _time(event, "windowEnd")
    if not timedelta(0) < end - start <= _MAX_WINDOW:
        raise InvalidRequestError(f"window {start.isoformat()} to {end.isoformat()} must be over 0 and at most 24 h")
    name = event.get("runName")
    if not isinstance(name, str) or _RUN_NAME.fullmatch(name) is None:
        raise InvalidRequestError(f"runName must be 1-63 characters of [a-zA-Z0-9-], got {name!r}")
    return RunRequest(start=start, end=end, scheduled_time=scheduled, run_name=name)


def reports_location(settings: Settings, request: RunRequest) -> S3Location:
    """``<reports>/<endpoint>/<schedule or run name>/yyyy/mm/dd/hh`` of the scheduled hour."""
    hour = request.scheduled_time.astimezone(UTC).strftime("%Y/%m/%d/%H")
    return settings.reports.child(settings.endpoint_name, request.run_name or settings.monitoring_schedule_name, hour)


class ClaimedHour(NamedTuple):
    """An hour this attempt owns: its report folder, its window (as written in ``run.json``) and the claim."""

    folder: S3Location
    window: dict[str, str]
    claim: runs.Claim


def claim_hour(
    request: RunRequest,
    settings: Settings,
    *,
    s3: Any,
    attempt_id: str,
    now: datetime,
    deadline: datetime | None = None,
) -> ClaimedHour | RunResult:
    """Claim the request's report folder through ``run.json``, for either runtime: the claimed hour, or the
    "duplicate" result when another attempt holds it (that attempt publishes; this one publishes nothing)."""
    folder = reports_location(settings, request)
    window = {"window_start": _iso(request.start), "window_end": _iso(request.end)}
    claim = runs.claim_run(
        s3, folder.child(runs.RUN_FILE), attempt_id=attempt_id, window=window, now=now, deadline=deadline
    )
    if not claim.owned:
        return window_result(
            "duplicate",
            folder,
            window,
            error=f"already claimed by attempt {claim.record.get('attempt_id')} ({claim.record.get('status')})",
        )
    return ClaimedHour(folder, window, claim)


def run_analysis(
    request: RunRequest,
    settings: Settings,
    *,
    s3: Any,
    publisher: MetricPublisher,
    metrics: RunMetrics,
    attempt_id: str,
    now: datetime,
    deadline: datetime | None = None,
) -> RunResult:
    """Claim the hour, analyze it, write the reports, publish; see the module docstring for the end states."""
    claimed = claim_hour(request, settings, s3=s3, attempt_id=attempt_id, now=now, deadline=deadline)
    if isinstance(claimed, RunResult):
        return claimed
    folder, window, claim = claimed
    target = metric_target(settings, request)
    try:
        result, publish = _analyze(request, settings, s3, folder, window)
    except BaselineUnavailableError as error:
        claim = runs.update_claim(s3, claim, status=runs.PUBLISHING)
        publish_execution_failed(metrics, target)
        result = window_result(runs.FAILED, folder, window, error=str(error))
        runs.update_claim(s3, claim, **_final(result, now))
        return result
    except Exception as error:
        # An AWS error (throttling after retries, access denied): give the hour back so a retry can run it.
        runs.update_claim(s3, claim, status=runs.ERROR, error=f"{type(error).__name__}: {error}")
        raise
    claim = runs.update_claim(s3, claim, status=runs.PUBLISHING)
    publish(publisher, metrics, target)
    runs.update_claim(s3, claim, **_final(result, now))
    return result


class _Publish(Protocol):
    def __call__(self, publisher: MetricPublisher, metrics: RunMetrics, target: MetricTarget) -> None: ...


def _analyze(
    request: RunRequest, settings: Settings, s3: Any, folder: S3Location, window: dict[str, str]
) -> tuple[RunResult, _Publish]:
    """Read and analyze; write the reports. Returns the result and what to publish (nothing published here)."""
    baseline, constraints = read_baseline(s3, settings.baseline_statistics, settings.baseline_constraints)
    options = CaptureOptions(
        baseline_columns=[feature.name for feature in constraints.features] or [f.name for f in baseline.features],
        output_columns_position=settings.output_columns_position,
        start=request.start,
        end=request.end,
    )
    objects = list_capture_objects(s3, settings.capture, settings.endpoint_name, start=request.start, end=request.end)
    profile = profile_capture_objects(s3, objects, options=options, domains=constraints.domains() or None)
    if profile.item_count == 0:
        result = window_result(runs.NO_DATA, folder, window, malformed_records=profile.malformed)

        def no_data(publisher: MetricPublisher, metrics: RunMetrics, target: MetricTarget) -> None:
            publish_no_data(metrics, target, malformed=profile.malformed)

        return result, no_data

    analysis = analyze_profile(profile, baseline, constraints)
    violations_document = analysis.violations_document()
    put_json(s3, folder.child(STATISTICS_FILE), analysis.statistics)
    put_json(s3, folder.child(VIOLATIONS_FILE), violations_document)
    # The violation percentage from the file as written, by the violation-metric function's own parser.
    summary = summarize(
        parse_violations(json.dumps(violations_document), source=folder.child(VIOLATIONS_FILE).uri),
        tuple(dict.fromkeys(feature.name for feature in constraints.features)),
    )
    result = window_result(
        runs.COMPLETED,
        folder,
        window,
        analyzed_records=profile.item_count,
        malformed_records=profile.malformed,
        violations=len(analysis.violations),
        violation_percentage=summary.violation_percentage,
    )

    def completed(publisher: MetricPublisher, metrics: RunMetrics, target: MetricTarget) -> None:
        publish_completed(
            publisher,
            metrics,
            target,
            settings=settings,
            feature_metrics=analysis.feature_metrics,
            summary=summary,
            analyzed=profile.item_count,
            malformed=profile.malformed,
        )

    return result, completed


def publish_no_data(metrics: RunMetrics, target: MetricTarget, *, malformed: int) -> None:
    """A run whose window held no captured record: ``NoCapturedData=1``, no violation percentage, not a failure."""
    for name, value in target.dimensions().items():
        metrics.add_dimension(name=name, value=value)
    metrics.add_metadata(key="ProcessingJobName", value=target.processing_job_name)
    _run_metrics(metrics, no_data=1, analyzed=0, malformed=malformed)
    _add(metrics, EXECUTION_FAILED, 0)


def publish_completed(
    publisher: MetricPublisher,
    metrics: RunMetrics,
    target: MetricTarget,
    *,
    settings: Settings,
    feature_metrics: Sequence[FeatureMetrics],
    summary: ViolationSummary,
    analyzed: int,
    malformed: int,
) -> None:
    """A completed run: the per-feature metrics (PutMetricData), then the violation percentage and the run metrics."""
    publisher.publish(
        settings.drift_metrics_namespace,
        metric_data(
            feature_metrics,
            endpoint_name=settings.endpoint_name,
            monitoring_schedule_name=settings.monitoring_schedule_name,
        ),
    )
    publish_summary(metrics, target, summary)  # adds the dimensions
    _run_metrics(metrics, no_data=0, analyzed=analyzed, malformed=malformed)


def metric_target(settings: Settings, request: RunRequest, *, processing_job_name: str | None = None) -> MetricTarget:
    """The run metrics' namespace and dimensions; the job name (EMF metadata) is the run's when it has one."""
    window_end = _iso(request.end)
    return MetricTarget(
        namespace=settings.metrics_namespace,
        endpoint_name=settings.endpoint_name,
        monitoring_schedule_name=settings.monitoring_schedule_name,
        processing_job_name=processing_job_name
        or f"builtin/{request.run_name or settings.monitoring_schedule_name}/{window_end}",
    )


def _run_metrics(metrics: RunMetrics, *, no_data: int, analyzed: int, malformed: int) -> None:
    _add(metrics, NO_CAPTURED_DATA, no_data)
    _add(metrics, ANALYZED_RECORDS, analyzed)
    _add(metrics, MALFORMED_CAPTURE_RECORDS, malformed)


def _add(metrics: RunMetrics, name: str, value: float) -> None:
    metrics.add_metric(name=name, unit={**VIOLATION_METRIC_UNITS, **METRIC_UNITS}[name], value=value)


def _final(result: RunResult, now: datetime) -> dict[str, Any]:
    return {**result.to_json(), "finished_at": _iso(now)}


def _time(event: Mapping[str, Any], key: str) -> datetime:
    value = event.get(key)
    if not isinstance(value, str):
        raise InvalidRequestError(
            f"expected {key!r} (an ISO 8601 time) in the event, e.g. from EventBridge Scheduler's "
            f"<aws.scheduler.scheduled-time>; got keys {sorted(event)}"
        )
    try:
        return parse_time(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise InvalidRequestError(f"{key} {value!r} is not an ISO 8601 time") from error


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
