"""moto S3 and CloudWatch, the demo baseline, an hour of demo capture, and the handler's printed EMF."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from drift_engine import build_baseline
from lambdas.drift_analysis import config, handler

REGION = "us-east-1"
BUCKET = "monitoring-data"
CAPTURE_BUCKET = "capture-data"
ENDPOINT = "demo-endpoint"
SCHEDULE = "demo-schedule"
NAMESPACE = "ModelMonitorAsCode/Test"
DRIFT_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
#: The hour analyzed by the event scheduled at 14:00.
HOUR = datetime(2024, 6, 11, 13, tzinfo=UTC)
SCHEDULED = "2024-06-11T14:00:00Z"
REPORTS = f"reports/{ENDPOINT}/{SCHEDULE}/2024/06/11/14"
BASELINE_CSV = Path(__file__).resolve().parents[3] / "demo" / "data" / "baseline.csv"

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
}
ENVIRONMENT = {
    config.ENV_ENDPOINT_NAME: ENDPOINT,
    config.ENV_MONITORING_SCHEDULE_NAME: SCHEDULE,
    config.ENV_CAPTURE_S3_URI: f"s3://{CAPTURE_BUCKET}/capture",
    config.ENV_REPORTS_S3_URI: f"s3://{BUCKET}/reports",
    config.ENV_BASELINE_STATISTICS_URI: f"s3://{BUCKET}/baseline/statistics.json",
    config.ENV_BASELINE_CONSTRAINTS_URI: f"s3://{BUCKET}/baseline/constraints.json",
    config.ENV_DRIFT_METRICS_NAMESPACE: DRIFT_NAMESPACE,
    config.ENV_METRICS_NAMESPACE: NAMESPACE,
}


@dataclass(frozen=True)
class FakeLambdaContext:
    function_name: str = "drift-analysis"
    memory_limit_in_mb: int = 1769
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:drift-analysis"
    aws_request_id: str = "request-1"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {**FAKE_CREDENTIALS, **ENVIRONMENT, "POWERTOOLS_SERVICE_NAME": "drift-analysis"}.items():
        monkeypatch.setenv(name, value)
    for name in (
        "POWERTOOLS_METRICS_DISABLED",
        "POWERTOOLS_DEV",
        "AWS_PROFILE",
        config.ENV_OUTPUT_COLUMNS_POSITION,
        config.ENV_ANALYSIS_WINDOW_HOURS,
    ):
        monkeypatch.delenv(name, raising=False)
    factory = handler.aws_clients  # the real, cached factory (``aws`` patches the module attribute)
    factory.cache_clear()
    handler.metrics.clear_metrics()
    yield
    handler.metrics.clear_metrics()
    factory.cache_clear()


@pytest.fixture(scope="session")
def demo_baseline() -> tuple[bytes, bytes]:
    """The engine's baseline of the demo's baseline.csv (statistics, constraints)."""
    baseline = build_baseline([BASELINE_CSV], dataset_format="csv", header=True, workers=1)
    return json.dumps(baseline.statistics).encode(), json.dumps(baseline.constraints).encode()


@pytest.fixture(scope="session")
def steady_hour() -> dict[str, bytes]:
    from demo.capture import capture_hour

    return capture_hour(endpoint_name=ENDPOINT, hour=HOUR, records=3600, seed=1)


@pytest.fixture(scope="session")
def drifted_hour() -> dict[str, bytes]:
    from demo.capture import capture_hour

    return capture_hour(endpoint_name=ENDPOINT, hour=HOUR, records=3600, drift=True, seed=2)


@pytest.fixture(scope="module")
def module_clients() -> Iterator[handler.AwsClients]:
    """The function's clients, made by its own factory once per module, as once per Lambda container: a client is
    built anew each time (SageMaker's has hundreds of methods), and the tests here made a set of three per test.

    moto intercepts every client once imported, also those created before ``mock_aws`` starts, and each test's
    ``mock_aws`` starts from empty state.
    """
    with pytest.MonkeyPatch.context() as patch:
        for name, value in FAKE_CREDENTIALS.items():
            patch.setenv(name, value)
        patch.delenv("AWS_PROFILE", raising=False)
        handler.aws_clients.cache_clear()
        yield handler.aws_clients()
    handler.aws_clients.cache_clear()


class Aws:
    def __init__(self, clients: handler.AwsClients, baseline: tuple[bytes, bytes]) -> None:
        self.s3 = clients.s3
        self.cloudwatch = clients.cloudwatch
        for bucket in (BUCKET, CAPTURE_BUCKET):
            self.s3.create_bucket(Bucket=bucket)
        self.put(BUCKET, "baseline/statistics.json", baseline[0])
        self.put(BUCKET, "baseline/constraints.json", baseline[1])

    def put(self, bucket: str, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=bucket, Key=key, Body=body)

    def capture(self, files: dict[str, bytes]) -> None:
        for key, body in files.items():
            self.put(CAPTURE_BUCKET, f"capture/{key}", body)

    def json(self, key: str) -> Any:
        return json.loads(self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())

    def keys(self, prefix: str) -> list[str]:
        listing = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def feature_metric_names(self) -> set[str]:
        listing = self.cloudwatch.list_metrics(Namespace=DRIFT_NAMESPACE)
        return {metric["MetricName"] for metric in listing["Metrics"]}


@pytest.fixture
def aws(
    module_clients: handler.AwsClients, demo_baseline: tuple[bytes, bytes], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Aws]:
    monkeypatch.setattr(handler, "aws_clients", lambda: module_clients)
    with mock_aws():
        yield Aws(module_clients, demo_baseline)


class _CurrentStdout:
    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@dataclass
class Output:
    emf: list[dict[str, Any]] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)

    def values(self) -> dict[str, float]:
        """Metric name → value of the printed EMF (one document: every metric once)."""
        found: dict[str, float] = {}
        for document in self.emf:
            (directive,) = document["_aws"]["CloudWatchMetrics"]
            if "ConstraintCheckType" in document:
                continue
            assert directive["Namespace"] == NAMESPACE
            assert directive["Dimensions"] == [["Endpoint", "MonitoringSchedule"]]
            assert (document["Endpoint"], document["MonitoringSchedule"]) == (ENDPOINT, SCHEDULE)
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                found[metric["Name"]] = value[0] if isinstance(value, list) else value
        return found


@pytest.fixture
def output(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[[], Output]:
    monkeypatch.setattr(handler.logger.registered_handler, "stream", _CurrentStdout())

    def read() -> Output:
        result = Output()
        for line in capsys.readouterr().out.splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                (result.emf if "_aws" in record else result.logs).append(record)
        return result

    return read


def invoke(event: dict[str, Any], request_id: str = "request-1") -> dict[str, Any]:
    result: dict[str, Any] = handler.lambda_handler(event, FakeLambdaContext(aws_request_id=request_id))
    return result
