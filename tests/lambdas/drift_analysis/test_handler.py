"""The hourly analysis through its real entry point, under moto: the issue's end-to-end test and the end states.

One hour of demo capture (normal or drifted) is in S3 in SageMaker's layout; the event is what EventBridge
Scheduler sends with ``<aws.scheduler.scheduled-time>`` substituted; the reports must land where Model Monitor
writes them, the per-feature metrics must reach CloudWatch (moto) and the violation percentage printed as EMF
must be what the violation-metric function computes from the same files.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from botocore.exceptions import ClientError

from lambdas.drift_analysis import handler, runs
from lambdas.drift_analysis.config import ConfigurationError
from lambdas.drift_analysis.hourly import InvalidRequestError
from lambdas.violation_metric.violations import parse_monitored_features, parse_violations, summarize

from .conftest import BUCKET, CAPTURE_BUCKET, ENDPOINT, REPORTS, SCHEDULED, Aws, Output, invoke

EVENT = {"scheduledTime": SCHEDULED, "executionId": "d32c5kddcf5bb8c3", "attemptNumber": "1"}
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")


def test_drifted_hour_end_to_end(aws: Aws, drifted_hour: dict[str, bytes], output: Callable[[], Output]) -> None:
    aws.capture(drifted_hour)

    result = invoke(EVENT)

    assert result["status"] == "completed"
    assert result["analyzed_records"] == 3600
    files = ("constraint_violations.json", "run.json", "statistics.json")
    assert aws.keys(REPORTS) == [f"{REPORTS}/{name}" for name in files]
    statistics = aws.json(f"{REPORTS}/statistics.json")
    assert statistics["dataset"]["item_count"] == 3600
    # The violation-metric function's parser reads the files and gets the published percentage.
    violations = parse_violations(json.dumps(aws.json(f"{REPORTS}/constraint_violations.json")))
    constraints = aws.s3.get_object(Bucket=BUCKET, Key="baseline/constraints.json")["Body"].read()
    expected = summarize(violations, parse_monitored_features(constraints))
    checks = {(v.feature_name, v.constraint_check_type) for v in violations}
    assert ("passenger_count", "data_type_check") in checks
    assert ("total_amount", "baseline_drift_check") in checks
    assert expected.violation_percentage > 50
    values = output().values()
    assert values["ViolationPercentage"] == pytest.approx(expected.violation_percentage)
    assert result["violation_percentage"] == pytest.approx(expected.violation_percentage)
    assert values["ExecutionFailed"] == 0
    assert values["NoCapturedData"] == 0
    assert values["AnalyzedRecords"] == 3600
    assert values["MalformedCaptureRecords"] == 0
    # Per-feature metrics, Model Monitor's names, in CloudWatch.
    names = aws.feature_metric_names()
    assert {
        "feature_baseline_drift_total_amount",
        "feature_non_null_passenger_count",
        "feature_data_fare_amount",
    } <= names
    run = aws.json(f"{REPORTS}/run.json")
    assert run["status"] == "completed"
    assert (run["window_start"], run["window_end"]) == ("2024-06-11T13:00:00Z", "2024-06-11T14:00:00Z")


def test_steady_hour_has_no_drift(aws: Aws, steady_hour: dict[str, bytes], output: Callable[[], Output]) -> None:
    aws.capture(steady_hour)

    result = invoke(EVENT)

    assert result["status"] == "completed"
    assert result["violation_percentage"] == 0
    assert output().values()["ViolationPercentage"] == 0


def test_only_the_previous_hour_is_analyzed(aws: Aws, output: Callable[[], Output]) -> None:
    from demo.capture import capture_hour

    from .conftest import HOUR

    for offset, seed in ((-1, 3), (0, 4), (1, 5)):
        aws.capture(capture_hour(endpoint_name=ENDPOINT, hour=HOUR.replace(hour=13 + offset), records=60, seed=seed))

    assert invoke(EVENT)["analyzed_records"] == 60


def test_a_schedule_every_n_hours_analyzes_its_interval(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    from demo.capture import capture_hour

    from .conftest import HOUR

    for offset, seed in ((-2, 3), (-1, 4), (0, 5)):
        aws.capture(capture_hour(endpoint_name=ENDPOINT, hour=HOUR.replace(hour=13 + offset), records=60, seed=seed))
    monkeypatch.setenv("ANALYSIS_WINDOW_HOURS", "2")

    result = invoke(EVENT)

    assert result["analyzed_records"] == 120
    assert (result["window_start"], result["window_end"]) == ("2024-06-11T12:00:00Z", "2024-06-11T14:00:00Z")


def test_no_captured_data_is_its_own_state(aws: Aws, output: Callable[[], Output]) -> None:
    result = invoke(EVENT)

    assert result["status"] == "no-data"
    assert aws.keys(REPORTS) == [f"{REPORTS}/run.json"]
    values = output().values()
    assert values == {"NoCapturedData": 1, "AnalyzedRecords": 0, "MalformedCaptureRecords": 0, "ExecutionFailed": 0}
    assert aws.feature_metric_names() == set()


def test_malformed_lines_are_counted(aws: Aws, steady_hour: dict[str, bytes], output: Callable[[], Output]) -> None:
    key, body = sorted(steady_hour.items())[0]
    aws.capture({key: b"not json\n" + body + b'{"captureData": 1}\n'})

    result = invoke(EVENT)

    assert result["status"] == "completed"
    assert result["malformed_records"] == 2
    assert output().values()["MalformedCaptureRecords"] == 2


@pytest.mark.parametrize("problem", ["missing", "malformed"])
def test_unusable_baseline_fails_the_run_with_one_line(
    aws: Aws, steady_hour: dict[str, bytes], output: Callable[[], Output], problem: str
) -> None:
    aws.capture(steady_hour)
    if problem == "missing":
        aws.s3.delete_object(Bucket=BUCKET, Key="baseline/constraints.json")
    else:
        aws.put(BUCKET, "baseline/constraints.json", b"{not json")

    result = invoke(EVENT)

    assert result["status"] == "failed"
    printed = output()
    assert printed.values() == {"ExecutionFailed": 1}
    (error,) = [record for record in printed.logs if record["level"] == "ERROR"]
    assert "baseline" in error["message"] and "constraints.json" in error["message"]
    assert "\n" not in error["message"]
    assert aws.json(f"{REPORTS}/run.json")["status"] == "failed"


def test_a_retry_never_publishes_twice(
    aws: Aws, drifted_hour: dict[str, bytes], output: Callable[[], Output], monkeypatch: pytest.MonkeyPatch
) -> None:
    aws.capture(drifted_hour)
    calls: list[object] = []
    original = aws.cloudwatch.put_metric_data

    def counted(**kwargs: object) -> object:
        calls.append(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(aws.cloudwatch, "put_metric_data", counted)
    invoke(EVENT)
    assert len(calls) == 1
    assert output().emf

    result = invoke({**EVENT, "attemptNumber": "2"}, request_id="request-2")

    assert result["status"] == "duplicate"
    assert output().emf == []
    assert len(calls) == 1
    assert aws.json(f"{REPORTS}/run.json")["attempt_id"] == "request-1"


@pytest.mark.parametrize(
    ("claim", "taken_over"),
    [
        ({"status": "running", "started_at": "2024-06-11T14:00:05Z"}, False),  # alive (now is 14:05)
        ({"status": "running", "started_at": "2024-06-11T13:30:00Z"}, True),  # stale: its attempt died
        ({"status": "running", "started_at": "2024-06-11T14:00:05Z", "deadline": "2024-06-11T14:04:00Z"}, True),
        ({"status": "running", "started_at": "2024-06-11T13:30:00Z", "deadline": "2024-06-11T14:10:00Z"}, False),
        ({"status": "error", "started_at": "2024-06-11T14:00:05Z"}, True),  # given up after an AWS error
        ({"status": "publishing", "started_at": "2024-06-11T13:00:00Z"}, False),  # metrics may be out
    ],
)
def test_claims_of_other_attempts(
    aws: Aws,
    steady_hour: dict[str, bytes],
    output: Callable[[], Output],
    monkeypatch: pytest.MonkeyPatch,
    claim: dict[str, str],
    taken_over: bool,
) -> None:
    from datetime import UTC, datetime

    aws.capture(steady_hour)
    aws.put(BUCKET, f"{REPORTS}/run.json", json.dumps({**claim, "attempt_id": "request-0"}).encode())

    class Clock(datetime):
        @classmethod
        def now(cls, tz: object = None) -> Clock:
            return cls(2024, 6, 11, 14, 5, tzinfo=UTC)

    monkeypatch.setattr(handler, "datetime", Clock)
    result = invoke(EVENT)

    assert (result["status"] == "completed") is taken_over
    run = aws.json(f"{REPORTS}/run.json")
    if taken_over:
        assert run["took_over_from"] == "request-0"
        assert "ViolationPercentage" in output().values()
    else:
        assert run["attempt_id"] == "request-0"
        assert output().emf == []


def test_an_aws_error_releases_the_claim_and_raises(
    aws: Aws, steady_hour: dict[str, bytes], monkeypatch: pytest.MonkeyPatch, output: Callable[[], Output]
) -> None:
    aws.capture(steady_hour)
    original = aws.s3.list_objects_v2

    def denied(**kwargs: object) -> object:
        if kwargs.get("Bucket") == CAPTURE_BUCKET:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}}, "ListObjectsV2")
        return original(**kwargs)

    monkeypatch.setattr(aws.s3, "list_objects_v2", denied)
    with pytest.raises(ClientError):
        invoke(EVENT)
    assert aws.json(f"{REPORTS}/run.json")["status"] == runs.ERROR
    monkeypatch.setattr(aws.s3, "list_objects_v2", original)
    output()

    assert invoke(EVENT, request_id="request-2")["status"] == "completed"


def test_run_now_window_and_folder(aws: Aws, steady_hour: dict[str, bytes], output: Callable[[], Output]) -> None:
    aws.capture(steady_hour)
    event = {
        "scheduledTime": "2024-06-11T14:20:00Z",
        "windowStart": "2024-06-11T13:20:00Z",
        "windowEnd": "2024-06-11T14:20:00Z",
        "runName": "demo-run-now-20240611142000-ab12",
    }

    result = invoke(event)

    assert result["analyzed_records"] == 2400
    assert result["reports_uri"] == f"s3://{BUCKET}/reports/{ENDPOINT}/demo-run-now-20240611142000-ab12/2024/06/11/14"


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({}, "scheduledTime"),
        ({"scheduledTime": "yesterday"}, "not an ISO 8601 time"),
        ({"scheduledTime": SCHEDULED, "windowStart": SCHEDULED, "windowEnd": SCHEDULED, "runName": "x"}, "window"),
        (
            {"scheduledTime": SCHEDULED, "windowStart": "2024-06-11T13:00:00Z", "windowEnd": SCHEDULED},
            "runName",
        ),
    ],
)
def test_bad_events_are_refused(event: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        invoke(event)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CAPTURE_S3_URI", "bucket/prefix", "CAPTURE_S3_URI"),
        ("BASELINE_STATISTICS_URI", "s3://bucket", "must name an object"),
        ("MONITORING_SCHEDULE_NAME", "bad name", "MONITORING_SCHEDULE_NAME"),
        ("OUTPUT_COLUMNS_POSITION", "MIDDLE", "START or END"),
        ("DRIFT_METRICS_NAMESPACE", " ", "DRIFT_METRICS_NAMESPACE"),
        ("ANALYSIS_WINDOW_HOURS", "25", "from 1 to 24"),
    ],
)
def test_bad_settings_name_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=message):
        invoke(EVENT)
