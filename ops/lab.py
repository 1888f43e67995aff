"""``python -m ops lab`` (``make lab``): the whole builtin-engine loop on a laptop, with no AWS account.

Everything AWS is moto, in memory, and every step is the project's real code:

1. **Baseline**: the demo's ``baseline.csv`` is uploaded and the engine baseline custom resource's own
   ``on_event``/``is_complete`` (``lambdas.engine_baseline``) compute ``statistics.json`` and ``constraints.json``
   in the function, as CloudFormation would have them computed at deploy time.
2. **Traffic**: one steady hour and one drifted hour of demo requests, answered by the demo model, written as
   SageMaker's data capture writes them (``demo.capture``).
3. **Hourly analysis**: for each hour, the event EventBridge Scheduler sends at the top of the next hour goes into
   the function's real entry point (``lambdas.drift_analysis.handler.lambda_handler``): reports to S3,
   per-feature metrics to (moto's) CloudWatch, and the violation percentage as the EMF the function prints.
4. **Alarm decision**: the violation percentage against the stage's ``violation_threshold_percent`` (the
   violation alarm's ``>=``), and each ``feature_baseline_drift_<f>`` against ``drift_threshold``.
5. **Report**: ``report.png`` and ``report.html`` per hour, drawn by ``ops report`` from the files in S3.

Nothing leaks into the caller's process: the environment variables the lab sets (fake credentials, the
function's settings) are restored afterwards, and the functions' cached clients and Powertools metrics are
cleared before and after.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from .tables import format_table

__all__ = ["HourResult", "LabResult", "run_lab"]

_REGION = "us-east-1"
_ENDPOINT = "lab-endpoint"
_SCHEDULE = "lab-drift"
_CAPTURE_BUCKET = "lab-capture"
_DATA_BUCKET = "lab-monitoring-data"
_DRIFT_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
_METRICS_NAMESPACE = "ModelMonitorAsCode"
_FIRST_HOUR = datetime(2024, 6, 11, 10, tzinfo=UTC)
_BASELINE_CSV = Path(__file__).resolve().parents[1] / "demo" / "data" / "baseline.csv"


@dataclass(frozen=True)
class HourResult:
    label: str
    window: str
    status: str
    records: int
    violations: int
    violation_percentage: float | None
    alarm: str
    drifted_features: tuple[str, ...]
    seconds: float
    report_html: Path | None


@dataclass(frozen=True)
class LabResult:
    baseline_seconds: float
    hours: tuple[HourResult, ...]


@contextlib.contextmanager
def _environment(values: dict[str, str], removed: tuple[str, ...]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in (*values, *removed)}
    try:
        for name in removed:
            os.environ.pop(name, None)
        os.environ.update(values)
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _function_environment() -> dict[str, str]:
    from lambdas.drift_analysis import config

    return {
        config.ENV_ENDPOINT_NAME: _ENDPOINT,
        config.ENV_MONITORING_SCHEDULE_NAME: _SCHEDULE,
        config.ENV_CAPTURE_S3_URI: f"s3://{_CAPTURE_BUCKET}/datacapture",
        config.ENV_REPORTS_S3_URI: f"s3://{_DATA_BUCKET}/reports",
        config.ENV_DRIFT_METRICS_NAMESPACE: _DRIFT_NAMESPACE,
        config.ENV_METRICS_NAMESPACE: _METRICS_NAMESPACE,
        "POWERTOOLS_SERVICE_NAME": "lab",
    }


@dataclass(frozen=True)
class _Context:
    """The LambdaContext attributes Powertools reads."""

    aws_request_id: str
    function_name: str = "lab-function"
    memory_limit_in_mb: int = 1769
    invoked_function_arn: str = f"arn:aws:lambda:{_REGION}:123456789012:function:lab-function"
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/lab"
    log_stream_name: str = "lab"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def run_lab(
    out_dir: Path,
    *,
    requests_per_second: float = 2.0,
    violation_threshold_percent: float = 25.0,
    drift_threshold: float = 0.1,
    out: TextIO,
) -> LabResult:
    """Run the lab; print what happens and write the reports under ``out_dir``."""
    with tempfile.TemporaryDirectory(prefix="ops-lab-") as scratch:
        fake = {
            "AWS_ACCESS_KEY_ID": "lab",
            "AWS_SECRET_ACCESS_KEY": "lab",
            "AWS_SESSION_TOKEN": "lab",
            "AWS_DEFAULT_REGION": _REGION,
            "AWS_REGION": _REGION,
            # No profile, no config file: nothing here can reach a real account even if moto were bypassed.
            "AWS_CONFIG_FILE": str(Path(scratch) / "no-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(Path(scratch) / "no-credentials"),
        }
        removed = ("AWS_PROFILE", "AWS_ENDPOINT_URL", "POWERTOOLS_METRICS_DISABLED", "POWERTOOLS_DEV")
        with _environment({**fake, **_function_environment()}, removed):
            from moto import mock_aws

            with mock_aws():
                return _lab(out_dir, requests_per_second, violation_threshold_percent, drift_threshold, out)


def _lab(out_dir: Path, rate: float, violation_threshold: float, drift_threshold: float, out: TextIO) -> LabResult:
    import boto3

    from demo.capture import capture_hour
    from lambdas.drift_analysis import handler as analysis
    from lambdas.engine_baseline import handler as baseline_handler

    s3 = boto3.client("s3", region_name=_REGION)
    for bucket in (_CAPTURE_BUCKET, _DATA_BUCKET):
        s3.create_bucket(Bucket=bucket)
    print("Lab: the builtin engine end to end, in memory (moto): no AWS account, no Docker", file=out)

    # 1. Baseline, through the custom resource's own handler.
    s3.put_object(Bucket=_DATA_BUCKET, Key="baseline/dataset/baseline.csv", Body=_BASELINE_CSV.read_bytes())
    baseline_handler.aws_clients.cache_clear()
    started = time.perf_counter()
    event = {
        "RequestType": "Create",
        "StackId": f"arn:aws:cloudformation:{_REGION}:123456789012:stack/lab-baseline/1",
        "RequestId": "lab-create",
        "LogicalResourceId": "Baseline",
        "ResourceType": "Custom::DriftEngineBaseline",
        "ResourceProperties": {
            "DatasetUri": f"s3://{_DATA_BUCKET}/baseline/dataset/baseline.csv",
            "DatasetFormat": "csv",
            "Header": "true",
            "OutputUri": f"s3://{_DATA_BUCKET}/baseline/results",
            "RoleArn": "arn:aws:iam::123456789012:role/lab-processing",
            "JobNamePrefix": "lab-baseline",
            "ImageUri": f"123456789012.dkr.ecr.{_REGION}.amazonaws.com/lab-engine:latest",
        },
    }
    with _quiet(baseline_handler.logger):
        created = baseline_handler.on_event(event, _Context("lab-baseline"))  # type: ignore[arg-type]
        done = baseline_handler.is_complete(
            {**event, "PhysicalResourceId": created["PhysicalResourceId"]},
            _Context("lab-baseline-complete"),  # type: ignore[arg-type]
        )
    baseline_seconds = time.perf_counter() - started
    baseline_handler.aws_clients.cache_clear()
    data = done["Data"]
    print(
        f"1. baseline of demo/data/baseline.csv by the engine baseline custom resource, in the function, "
        f"{baseline_seconds:.2f} s:\n   {data['StatisticsUri']}\n   {data['ConstraintsUri']}",
        file=out,
    )

    # 2. Traffic: a steady hour, then a drifted one.
    hours = [("steady", _FIRST_HOUR, False), ("drifted", _FIRST_HOUR + timedelta(hours=1), True)]
    files = 0
    for index, (_, hour, drift) in enumerate(hours):
        captured = capture_hour(endpoint_name=_ENDPOINT, hour=hour, requests_per_second=rate, drift=drift, seed=index)
        for key, body in captured.items():
            s3.put_object(Bucket=_CAPTURE_BUCKET, Key=f"datacapture/{key}", Body=body)
        files += len(captured)
    print(
        f"2. demo traffic at {rate:g} request(s)/s: {hours[0][1]:%H:%M}-{hours[1][1]:%H:%M} steady, "
        f"{hours[1][1]:%H:%M}-{hours[1][1] + timedelta(hours=1):%H:%M} drifted (fractional passenger_count, "
        f"inflated total_amount, missing values); {files} capture files in "
        f"s3://{_CAPTURE_BUCKET}/datacapture/{_ENDPOINT}/AllTraffic/yyyy/mm/dd/hh/",
        file=out,
    )

    # 3-5. The scheduled runs, through the function's real entry point.
    os.environ["BASELINE_STATISTICS_URI"] = data["StatisticsUri"]
    os.environ["BASELINE_CONSTRAINTS_URI"] = data["ConstraintsUri"]
    results = []
    for label, hour, _ in hours:
        results.append(_analyze_hour(analysis, s3, label, hour, out_dir, violation_threshold, drift_threshold))
    for name in ("BASELINE_STATISTICS_URI", "BASELINE_CONSTRAINTS_URI"):
        os.environ.pop(name, None)
    print(
        f"3. hourly analysis: the event EventBridge Scheduler sends at the top of the next hour, into "
        f"lambdas.drift_analysis.handler.lambda_handler; alarm when ViolationPercentage >= {violation_threshold:g} %",
        file=out,
    )
    rows = [
        [
            result.window,
            result.label,
            result.status,
            str(result.records),
            str(result.violations),
            "-" if result.violation_percentage is None else f"{result.violation_percentage:.1f}",
            result.alarm,
            ", ".join(result.drifted_features) or "-",
            f"{result.seconds:.2f}",
        ]
        for result in results
    ]
    headers = ["HOUR", "TRAFFIC", "STATUS", "RECORDS", "VIOLATIONS", "VIOLATION %", "ALARM", "DRIFT > THRESHOLD", "S"]
    print("   " + format_table(headers, rows).replace("\n", "\n   "), file=out)
    print("4. reports (ops report on the files in S3):", file=out)
    for result in results:
        print(f"   {result.label}: {result.report_html}", file=out)
    return LabResult(baseline_seconds=baseline_seconds, hours=tuple(results))


def _analyze_hour(
    analysis: Any,
    s3: Any,
    label: str,
    hour: datetime,
    out_dir: Path,
    violation_threshold: float,
    drift_threshold: float,
) -> HourResult:
    from .report_inputs import inputs_from_folder_uri, print_report

    scheduled = hour + timedelta(hours=1)
    event = {"scheduledTime": scheduled.strftime("%Y-%m-%dT%H:%M:%SZ"), "executionId": f"lab-{label}"}
    analysis.aws_clients.cache_clear()
    analysis.metrics.clear_metrics()
    sent: list[dict[str, Any]] = []
    # What the function sends to CloudWatch, as sent: PutMetricData's parameters.
    analysis.aws_clients().cloudwatch.meta.events.register(
        "provide-client-params.cloudwatch.PutMetricData", lambda params, **_: sent.append(params)
    )
    printed = io.StringIO()
    started = time.perf_counter()
    with _quiet(analysis.logger, printed), contextlib.redirect_stdout(printed):
        result = analysis.lambda_handler(event, _Context(f"lab-{label}"))
    seconds = time.perf_counter() - started
    analysis.aws_clients.cache_clear()
    analysis.metrics.clear_metrics()
    emf = _emf_values(printed.getvalue())
    percentage = emf.get("ViolationPercentage")
    alarm = "-" if percentage is None else ("ALARM" if percentage >= violation_threshold else "OK")
    drifted = tuple(
        sorted(
            name.removeprefix("feature_baseline_drift_")
            for name, value in _drift_values(sent).items()
            if value > drift_threshold
        )
    )
    html = None
    if result["status"] == "completed":
        folder = out_dir / label
        with contextlib.redirect_stdout(io.StringIO()):
            inputs = inputs_from_folder_uri(
                s3,
                statistics_uri=os.environ["BASELINE_STATISTICS_URI"],
                constraints_uri=os.environ["BASELINE_CONSTRAINTS_URI"],
                folder_uri=result["reports_uri"],
                title=f"Lab, {label} hour {hour:%H:%M}-{scheduled:%H:%M} (builtin engine)",
                save_dir=folder,
            )
            html = print_report(inputs, folder, out=io.StringIO()).html
    return HourResult(
        label=label,
        window=f"{hour:%H:%M}-{scheduled:%H:%M}",
        status=str(result["status"]),
        records=int(result.get("analyzed_records", 0)),
        violations=int(result.get("violations", 0)),
        violation_percentage=percentage,
        alarm=alarm,
        drifted_features=drifted,
        seconds=seconds,
        report_html=html,
    )


def _emf_values(printed: str) -> dict[str, float]:
    """Metric name -> value of the EMF documents the function printed (the run-level ones)."""
    values: dict[str, float] = {}
    for line in printed.splitlines():
        if not line.startswith("{"):
            continue
        document = json.loads(line)
        if "_aws" not in document or "ConstraintCheckType" in document:
            continue
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                values[metric["Name"]] = float(value[0] if isinstance(value, list) else value)
    return values


def _drift_values(requests: list[dict[str, Any]]) -> dict[str, float]:
    """``feature_baseline_drift_<f>`` values of the PutMetricData requests the function sent."""
    return {
        datum["MetricName"]: float(datum["Value"])
        for request in requests
        for datum in request.get("MetricData", [])
        if str(datum["MetricName"]).startswith("feature_baseline_drift_")
    }


@contextlib.contextmanager
def _quiet(logger: Any, sink: io.StringIO | None = None) -> Iterator[None]:
    """Send a Powertools logger's JSON lines to ``sink`` (or nowhere) for the duration."""
    handler = logger.registered_handler
    previous = handler.stream
    handler.stream = sink if sink is not None else io.StringIO()
    try:
        yield
    finally:
        handler.stream = previous
