"""The handler end to end, with the EMF it prints captured and checked.

S3 is moto, holding the real fixture files. DescribeProcessingJob is stubbed with botocore's Stubber on the
handler's own SageMaker client: moto's processing jobs have no ``MonitoringScheduleArn`` and no
``Environment`` in their description and are always ``Completed``, so moto cannot describe a monitoring
execution. (One test does use moto's SageMaker: a plain processing job, which must be ignored.)
"""

import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import botocore.endpoint
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from lambdas.violation_metric import handler
from lambdas.violation_metric.config import ConfigurationError
from lambdas.violation_metric.execution import InvalidEventError
from lambdas.violation_metric.metric_names import (
    CONSTRAINT_VIOLATIONS,
    DIMENSION_CONSTRAINT_CHECK_TYPE,
    DIMENSION_ENDPOINT,
    DIMENSION_MONITORING_SCHEDULE,
    EXECUTION_FAILED,
    KNOWN_CHECK_TYPES,
    MONITORED_FEATURES,
    REPORT_ERRORS,
    VIOLATED_FEATURES,
    VIOLATION_PERCENTAGE,
)

from . import fixture_files as ff
from . import sagemaker_shapes as shapes

# Powertools warns when log_metrics flushes nothing (an ignored job): expected, and asserted as "no EMF".
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

NAMESPACE = "ModelMonitorAsCode/Test"
COMMON_DIMENSIONS = {DIMENSION_ENDPOINT: shapes.ENDPOINT_NAME, DIMENSION_MONITORING_SCHEDULE: shapes.SCHEDULE_NAME}


@dataclass(frozen=True)
class FakeLambdaContext:
    function_name: str = "violation-metric"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{shapes.REGION}:{shapes.ACCOUNT}:function:violation-metric"
    aws_request_id: str = "52fdfc07-2182-154f-163f-5f0f9a621d72"


@dataclass(frozen=True)
class Point:
    """One data point of the EMF output (value rounded to 9 decimals, so sets compare)."""

    namespace: str
    name: str
    unit: str
    value: float
    dimensions: tuple[tuple[str, str], ...]


@dataclass
class Output:
    """What an invocation printed: EMF documents and log records (both JSON lines on stdout)."""

    emf: list[dict[str, Any]] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)

    def points(self) -> set[Point]:
        found = []
        for document in self.emf:
            (directive,) = document["_aws"]["CloudWatchMetrics"]
            (dimension_names,) = directive["Dimensions"]
            dimensions = tuple(sorted((name, document[name]) for name in dimension_names))
            for metric in directive["Metrics"]:
                values = document[metric["Name"]]
                (value,) = values if isinstance(values, list) else [values]
                found.append(Point(directive["Namespace"], metric["Name"], metric["Unit"], round(value, 9), dimensions))
        assert len(found) == len(set(found)), "a data point was printed twice"
        return set(found)

    def log(self, level: str, message: str) -> dict[str, Any]:
        (record,) = [r for r in self.logs if r.get("level") == level and r.get("message") == message]
        return record


def point(name: str, unit: str, value: float, check_type: str | None = None) -> Point:
    dimensions = dict(COMMON_DIMENSIONS)
    if check_type is not None:
        dimensions[DIMENSION_CONSTRAINT_CHECK_TYPE] = check_type
    return Point(NAMESPACE, name, unit, round(value, 9), tuple(sorted(dimensions.items())))


def check_type_points(**counts: int) -> set[Point]:
    return {point(CONSTRAINT_VIOLATIONS, "Count", counts.get(t, 0), t) for t in KNOWN_CHECK_TYPES}


FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": shapes.REGION,
}


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        **FAKE_CREDENTIALS,
        "MONITORING_SCHEDULE_NAME": shapes.SCHEDULE_NAME,
        "ENDPOINT_NAME": shapes.ENDPOINT_NAME,
        "POWERTOOLS_METRICS_NAMESPACE": NAMESPACE,
        # Set as the stack would for the Logger: it must NOT become a "service" metric dimension.
        "POWERTOOLS_SERVICE_NAME": "violation-metric",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("BASELINE_CONSTRAINTS_URI", "POWERTOOLS_METRICS_DISABLED", "POWERTOOLS_DEV", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    factory = handler.aws_clients  # the real, cached factory (a test may patch the module attribute)
    factory.cache_clear()
    yield
    factory.cache_clear()


@pytest.fixture(scope="module")
def module_clients() -> Iterator[handler.AwsClients]:
    """The handler's clients, made by its own factory once per module (client creation is slow).

    moto intercepts every client once imported, also those created before ``mock_aws`` starts, and each
    test's ``mock_aws`` starts from empty state.
    """
    with pytest.MonkeyPatch.context() as patch:
        for name, value in FAKE_CREDENTIALS.items():
            patch.setenv(name, value)
        handler.aws_clients.cache_clear()
        yield handler.aws_clients()
    handler.aws_clients.cache_clear()


class _CurrentStdout:
    """Writes to whatever ``sys.stdout`` is at the time of the write (capsys swaps it per phase)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@pytest.fixture
def output(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[[], Output]:
    """Read what the handler printed. The module-level Logger bound sys.stdout at import: redirect it."""
    monkeypatch.setattr(handler.logger.registered_handler, "stream", _CurrentStdout())

    def read() -> Output:
        result = Output()
        for line in capsys.readouterr().out.splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                (result.emf if "_aws" in record else result.logs).append(record)
        return result

    return read


class Aws:
    """moto S3 (real fixture files) and a Stubber on the handler's SageMaker client."""

    def __init__(self, clients: handler.AwsClients) -> None:
        self.s3 = clients.s3
        self.s3.create_bucket(Bucket=shapes.BUCKET)  # type: ignore[attr-defined]
        self.sagemaker = Stubber(clients.sagemaker)

    def describe(self, description: dict[str, Any]) -> None:
        """The next DescribeProcessingJob of the event's job returns ``description``."""
        self.sagemaker.add_response(
            "describe_processing_job", description, {"ProcessingJobName": description["ProcessingJobName"]}
        )
        self.sagemaker.activate()

    def put(self, key: str, body: bytes | str) -> None:
        self.s3.put_object(Bucket=shapes.BUCKET, Key=key, Body=body)  # type: ignore[attr-defined]


@pytest.fixture
def aws(module_clients: handler.AwsClients, monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    monkeypatch.setattr(handler, "aws_clients", lambda: module_clients)
    with mock_aws():
        stubs = Aws(module_clients)
        yield stubs
        stubs.sagemaker.deactivate()
        stubs.sagemaker.assert_no_pending_responses()


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = handler.lambda_handler(event, FakeLambdaContext())
    return result


# --- Completed ----------------------------------------------------------------------------------------


def test_drift_present(aws: Aws, output: Callable[[], Output]) -> None:
    aws.describe(shapes.monitoring_execution())
    aws.put(shapes.VIOLATIONS_KEY, ff.modern_wording_violations(ff.DATA_QUALITY_TABLE_2022))
    aws.put(shapes.CONSTRAINTS_KEY, ff.fixture_bytes(ff.CHURN_CONSTRAINTS))

    result = invoke(shapes.state_change_event())

    assert result == {
        "outcome": "published",
        "processing_job_name": shapes.JOB_NAME,
        "violation_percentage": pytest.approx(10 / 70 * 100),
    }
    printed = output()
    assert printed.points() == {
        point(VIOLATION_PERCENTAGE, "Percent", 10 / 70 * 100),
        point(VIOLATED_FEATURES, "Count", 10),
        point(MONITORED_FEATURES, "Count", 70),
        point(EXECUTION_FAILED, "Count", 0),
        point(REPORT_ERRORS, "Count", 0),
        *check_type_points(data_type_check=10),
    }
    for document in printed.emf:
        assert "service" not in document
        assert document["ProcessingJobName"] == shapes.JOB_NAME  # EMF metadata, not a dimension
    record = printed.log("INFO", "Monitoring execution report published")
    assert record["constraints_uri"] == shapes.CONSTRAINTS_URI
    assert record["constraints_from_job"] is True
    assert record["processing_job_name"] == shapes.JOB_NAME


def test_no_drift_publishes_zero_percent(aws: Aws, output: Callable[[], Output]) -> None:
    aws.describe(shapes.monitoring_execution(exit_message="Completed: Job completed successfully with no violations."))
    aws.put(shapes.VIOLATIONS_KEY, ff.analyzer_style_json({"violations": []}))
    aws.put(shapes.CONSTRAINTS_KEY, ff.fixture_bytes(ff.CHURN_CONSTRAINTS))

    assert invoke(shapes.state_change_event())["violation_percentage"] == 0.0

    assert output().points() == {
        point(VIOLATION_PERCENTAGE, "Percent", 0.0),
        point(VIOLATED_FEATURES, "Count", 0),
        point(MONITORED_FEATURES, "Count", 70),
        point(EXECUTION_FAILED, "Count", 0),
        point(REPORT_ERRORS, "Count", 0),
        *check_type_points(),
    }


def test_fallback_constraints_when_the_job_names_none(
    aws: Aws, output: Callable[[], Output], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SDK's early-wording violations, checked against the fallback constraints (2 features)."""
    monkeypatch.setenv("BASELINE_CONSTRAINTS_URI", f"s3://{shapes.BUCKET}/fallback/constraints.json")
    aws.describe(shapes.monitoring_execution(constraints_input=False))
    aws.put(shapes.VIOLATIONS_KEY, ff.fixture_bytes(ff.SDK_OLD_WORDING_VIOLATIONS))
    aws.put("fallback/constraints.json", ff.fixture_bytes(ff.SDK_HAND_EDITED_CONSTRAINTS))

    invoke(shapes.state_change_event())

    printed = output()
    assert printed.points() == {
        point(VIOLATION_PERCENTAGE, "Percent", 100.0),  # 7 violated of 2 monitored, capped
        point(VIOLATED_FEATURES, "Count", 7),
        point(MONITORED_FEATURES, "Count", 2),
        point(EXECUTION_FAILED, "Count", 0),
        point(REPORT_ERRORS, "Count", 0),
        *check_type_points(data_type_check=5, completeness_check=1, categorical_values_check=1),
    }
    assert printed.log("INFO", "Monitoring execution report published")["constraints_from_job"] is False


def test_schedule_name_matches_whatever_the_case(
    aws: Aws, output: Callable[[], Output], monkeypatch: pytest.MonkeyPatch
) -> None:
    """ARNs carry the name lowercased; the dimension keeps the configured spelling."""
    monkeypatch.setenv("MONITORING_SCHEDULE_NAME", "Churn-Data-Quality")
    aws.describe(shapes.monitoring_execution())
    aws.put(shapes.VIOLATIONS_KEY, ff.fixture_bytes(ff.NLP_CUSTOM_CONTAINER_VIOLATIONS))
    aws.put(shapes.CONSTRAINTS_KEY, '{"features": [{"name": "sent_mmd_score"}, {"name": "length"}]}')

    invoke(shapes.state_change_event())

    (percentage,) = [p for p in output().points() if p.name == VIOLATION_PERCENTAGE]
    assert percentage.value == 50.0
    assert dict(percentage.dimensions)[DIMENSION_MONITORING_SCHEDULE] == "Churn-Data-Quality"


def test_a_one_time_run_counts_as_our_schedule(
    aws: Aws, output: Callable[[], Output], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``python -m ops run-now`` runs a one-time schedule; its result must move the same alarm."""
    monkeypatch.setenv("ONE_TIME_SCHEDULE_PREFIX", "model-monitor-default-run-now-")
    aws.describe(shapes.monitoring_execution(schedule="model-monitor-default-run-now-20261123150405-a1b2"))
    aws.put(shapes.VIOLATIONS_KEY, ff.fixture_bytes(ff.NLP_CUSTOM_CONTAINER_VIOLATIONS))
    aws.put(shapes.CONSTRAINTS_KEY, '{"features": [{"name": "sent_mmd_score"}, {"name": "length"}]}')

    invoke(shapes.state_change_event())

    (percentage,) = [p for p in output().points() if p.name == VIOLATION_PERCENTAGE]
    assert percentage.value == 50.0
    assert dict(percentage.dimensions)[DIMENSION_MONITORING_SCHEDULE] == os.environ["MONITORING_SCHEDULE_NAME"]


def test_another_prefix_is_still_not_ours(
    aws: Aws, output: Callable[[], Output], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONE_TIME_SCHEDULE_PREFIX", "model-monitor-default-run-now-")
    aws.describe(shapes.monitoring_execution(schedule="model-monitor-prod-run-now-20261123150405-a1b2"))

    assert invoke(shapes.state_change_event())["outcome"] == "ignored"
    assert output().emf == []


# --- Failed / Stopped ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["Failed", "Stopped"])
def test_an_execution_that_did_not_complete(aws: Aws, output: Callable[[], Output], status: str) -> None:
    reason = "InternalServerError: We encountered an internal error.  Please try again."
    aws.describe(shapes.monitoring_execution(status=status, failure_reason=reason))

    result = invoke(shapes.state_change_event(status))

    assert result["outcome"] == "execution_failed"
    printed = output()
    assert printed.points() == {point(EXECUTION_FAILED, "Count", 1)}
    record = printed.log("WARNING", "Monitoring execution did not complete")
    assert record["status"] == status
    assert record["failure_reason"] == reason


# --- Completed, but the report is unusable -----------------------------------------------------------


def report_error_points() -> set[Point]:
    return {point(EXECUTION_FAILED, "Count", 0), point(REPORT_ERRORS, "Count", 1)}


def test_malformed_violations_file(aws: Aws, output: Callable[[], Output]) -> None:
    aws.describe(shapes.monitoring_execution())
    aws.put(shapes.VIOLATIONS_KEY, '{"violations" : [ {"feature_name" : "Churn", ')
    aws.put(shapes.CONSTRAINTS_KEY, ff.fixture_bytes(ff.CHURN_CONSTRAINTS))

    assert invoke(shapes.state_change_event())["outcome"] == "report_error"

    printed = output()
    assert printed.points() == report_error_points()  # and no ViolationPercentage at all
    error = printed.log("ERROR", "Cannot use the monitoring execution's report")["error"]
    assert error.startswith(f"s3://{shapes.BUCKET}/{shapes.VIOLATIONS_KEY}: not valid JSON")


def test_missing_violations_file(aws: Aws, output: Callable[[], Output]) -> None:
    aws.describe(shapes.monitoring_execution(exit_message="Completed: Job completed successfully."))
    aws.put(shapes.CONSTRAINTS_KEY, ff.fixture_bytes(ff.CHURN_CONSTRAINTS))

    assert invoke(shapes.state_change_event())["outcome"] == "report_error"

    printed = output()
    assert printed.points() == report_error_points()
    record = printed.log("ERROR", "Cannot use the monitoring execution's report")
    assert record["error"] == f"s3://{shapes.BUCKET}/{shapes.VIOLATIONS_KEY}: no such object"
    assert record["exit_message"] == "Completed: Job completed successfully."


def test_model_quality_constraints_are_a_report_error(aws: Aws, output: Callable[[], Output]) -> None:
    aws.describe(shapes.monitoring_execution())
    aws.put(shapes.VIOLATIONS_KEY, ff.modern_wording_violations(ff.DATA_QUALITY_TABLE_2021))
    aws.put(shapes.CONSTRAINTS_KEY, ff.fixture_bytes(ff.SDK_MODEL_QUALITY_CONSTRAINTS[0]))

    invoke(shapes.state_change_event())

    printed = output()
    assert printed.points() == report_error_points()
    assert "'features' list" in printed.log("ERROR", "Cannot use the monitoring execution's report")["error"]


def test_no_constraints_anywhere_is_a_report_error(aws: Aws, output: Callable[[], Output]) -> None:
    aws.describe(shapes.monitoring_execution(constraints_input=False))
    aws.put(shapes.VIOLATIONS_KEY, ff.fixture_bytes(ff.SDK_OLD_WORDING_VIOLATIONS))

    invoke(shapes.state_change_event())

    printed = output()
    assert printed.points() == report_error_points()
    assert (
        "no fallback constraints URI" in printed.log("ERROR", "Cannot use the monitoring execution's report")["error"]
    )


# --- not ours -----------------------------------------------------------------------------------------


def test_an_execution_of_another_schedule_is_ignored(aws: Aws, output: Callable[[], Output]) -> None:
    aws.describe(shapes.monitoring_execution(schedule="someone-elses-schedule"))

    result = invoke(shapes.state_change_event())

    assert result == {"outcome": "ignored", "processing_job_name": shapes.JOB_NAME}
    printed = output()
    assert printed.emf == []
    record = printed.log("INFO", "Not an execution of our monitoring schedule: ignored")
    assert record["monitoring_schedule_arn"] == shapes.schedule_arn("someone-elses-schedule")


def test_a_processing_job_of_no_schedule_is_ignored(aws: Aws, output: Callable[[], Output]) -> None:
    """Real moto this time: a plain processing job (say, a baseline job) has no MonitoringScheduleArn."""
    sagemaker: Any = handler.aws_clients().sagemaker  # not stubbed: no describe() was queued
    sagemaker.create_processing_job(
        ProcessingJobName="baseline-suggestion-job-2026-11-22",
        ProcessingResources={
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}
        },
        AppSpecification={"ImageUri": "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"},
        RoleArn=f"arn:aws:iam::{shapes.ACCOUNT}:role/baseline",
    )

    result = invoke(shapes.state_change_event(job_name="baseline-suggestion-job-2026-11-22"))

    assert result["outcome"] == "ignored"
    assert output().emf == []


def test_an_execution_still_running_is_ignored(aws: Aws, output: Callable[[], Output]) -> None:
    aws.describe(shapes.monitoring_execution(status="InProgress"))

    assert invoke(shapes.state_change_event())["outcome"] == "ignored"
    assert output().emf == []


# --- errors that must propagate -----------------------------------------------------------------------


class _Body:
    def __init__(self, content: bytes) -> None:
        self._content = content

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._content


def test_throttling_propagates_after_botocores_retries(
    monkeypatch: pytest.MonkeyPatch, output: Callable[[], Output]
) -> None:
    """SageMaker throttles every attempt: the handler retries (standard mode), then lets the error out."""
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")  # standard mode's default, made explicit
    sleeps: list[float] = []
    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=sleeps.append))  # fast backoff
    clients = handler.aws_clients()
    assert clients.sagemaker.meta.config.retries == {"mode": "standard", "total_max_attempts": 3}  # type: ignore[attr-defined]
    attempts: list[str] = []

    def throttle(request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        attempts.append(request.url)
        body = b'{"__type": "ThrottlingException", "message": "Rate exceeded"}'
        return AWSResponse(request.url, 400, {"x-amzn-RequestId": "r-1"}, _Body(body))

    def no_s3(request: AWSPreparedRequest, **_: Any) -> None:
        raise AssertionError(f"S3 must not be called: {request.url}")

    clients.sagemaker.meta.events.register("before-send", throttle)  # type: ignore[attr-defined]
    clients.s3.meta.events.register("before-send", no_s3)  # type: ignore[attr-defined]

    with pytest.raises(ClientError) as raised:
        invoke(shapes.state_change_event())

    assert raised.value.response["Error"]["Code"] == "ThrottlingException"
    assert len(attempts) == 3
    assert len(sleeps) == 2
    assert output().emf == []


def test_a_missing_setting_fails_before_any_aws_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ENDPOINT_NAME")

    with pytest.raises(ConfigurationError, match="ENDPOINT_NAME"):
        invoke(shapes.state_change_event())


def test_an_event_that_names_no_job_is_an_error(aws: Aws) -> None:
    with pytest.raises(InvalidEventError):
        invoke({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}})
