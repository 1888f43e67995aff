"""``run-now``: the one-time schedule, the wait, the outcome and the clean-up (SageMaker stubbed: see
sagemaker_stubs.py for why)."""

import io
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from ops.__main__ import main
from ops.errors import OpsError
from ops.progress import Progress
from ops.run_now import deployed_schedule, one_time_schedule_name, run_now
from settings import load_settings

from . import sagemaker_stubs as sm
from .conftest import SCHEDULE_NAME, Stage, client_factory

ONE_TIME = "model-monitor-default-run-now-20261122130501-a1b2"
JOB = "model-monitoring-202611221305-0a1b2c3d4e5f60718293a4b5"


class FakeTime:
    """Sleeping moves the clock; the progress lines then show the time waited."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _create_request(name: Any = ONE_TIME, hours: int = 1) -> dict[str, Any]:
    return {
        "MonitoringScheduleName": name,
        "MonitoringScheduleConfig": {
            "ScheduleConfig": {
                "ScheduleExpression": "NOW",
                "DataAnalysisStartTime": f"-PT{hours}H",
                "DataAnalysisEndTime": "-PT0H",
            },
            "MonitoringJobDefinitionName": sm.JOB_DEFINITION,
            "MonitoringType": "DataQuality",
        },
        "Tags": [{"Key": "created-by", "Value": "python -m ops run-now"}],
    }


def _expect_start(stubber: Stubber, hours: int = 1) -> None:
    stubber.add_response(
        "describe_monitoring_schedule", sm.schedule(SCHEDULE_NAME), {"MonitoringScheduleName": SCHEDULE_NAME}
    )
    stubber.add_response(
        "create_monitoring_schedule",
        {"MonitoringScheduleArn": sm.schedule_arn(ONE_TIME)},
        _create_request(hours=hours),
    )


def _expect_poll(stubber: Stubber, *summaries: dict[str, Any]) -> None:
    stubber.add_response(
        "list_monitoring_executions", sm.executions(*summaries), sm.list_request(schedule_name=ONE_TIME, limit=1)
    )


def _run(client: Any, *, wait: bool = True, timeout: float = 3600.0, hours: int = 1) -> tuple[int, str, str]:
    fake = FakeTime()
    out, lines = io.StringIO(), io.StringIO()
    code = run_now(
        client,
        schedule_name=SCHEDULE_NAME,
        name_prefix="model-monitor-default-run-now-",
        stage="default",
        hours=hours,
        wait=wait,
        poll_seconds=30,
        timeout_seconds=timeout,
        out=out,
        progress=Progress("run-now", stream=lines, clock=fake.clock),
        sleep=fake.sleep,
        name=ONE_TIME,
    )
    return code, out.getvalue(), lines.getvalue()


def test_names_are_unique_valid_and_short_enough() -> None:
    now = datetime(2026, 11, 22, 13, 5, 1, tzinfo=UTC)

    prefix = load_settings(stage=None, stages=None).one_time_schedule_prefix
    assert one_time_schedule_name(prefix, now=now, suffix="a1b2") == ONE_TIME
    # The longest prefix settings allow (a 20-character name, a 10-character stage) still fits.
    longest = load_settings(stage="s" * 10, stages={"s" * 10: {"name": "a" * 20}}).one_time_schedule_prefix
    long = one_time_schedule_name(longest, now=now)
    assert len(long) <= 63
    assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", long)
    assert one_time_schedule_name(prefix, now=now) != one_time_schedule_name(prefix, now=now)


def test_it_waits_reports_the_outcome_and_deletes_the_one_time_schedule(sagemaker: tuple[Any, Stubber]) -> None:
    client, stubber = sagemaker
    _expect_start(stubber)
    _expect_poll(stubber)  # no execution yet: the schedule is asked
    stubber.add_response(
        "describe_monitoring_schedule",
        sm.schedule(ONE_TIME, expression="NOW"),
        {"MonitoringScheduleName": ONE_TIME},
    )
    _expect_poll(stubber, sm.execution(ONE_TIME, "Pending"))
    _expect_poll(stubber, sm.execution(ONE_TIME, "InProgress", job=JOB))
    _expect_poll(stubber, sm.execution(ONE_TIME, "CompletedWithViolations", job=JOB))
    stubber.add_response("delete_monitoring_schedule", {}, {"MonitoringScheduleName": ONE_TIME})

    code, out, progress = _run(client)

    assert code == 0
    assert out.splitlines() == [
        f"started one-time schedule {ONE_TIME} (job definition {sm.JOB_DEFINITION}, last 1 hour(s) of captured data)",
        "outcome: CompletedWithViolations",
        f"processing job: {JOB}",
        f"see it: python -m ops report --stage default --processing-job {JOB}",
        f"deleted the one-time schedule {ONE_TIME}",
    ]
    assert progress.splitlines() == [
        "[run-now 0s] schedule Scheduled, no execution yet",
        "[run-now 30s] execution Pending",
        f"[run-now 1m00s] execution InProgress (processing job {JOB})",
        f"[run-now 1m30s] execution CompletedWithViolations (processing job {JOB})",
    ]


def test_a_failed_execution_prints_its_reason_and_exits_1(sagemaker: tuple[Any, Stubber]) -> None:
    client, stubber = sagemaker
    _expect_start(stubber, hours=3)
    reason = "Job inputs had no data"
    _expect_poll(stubber, sm.execution(ONE_TIME, "Failed", job=JOB, failure=reason))
    stubber.add_response("delete_monitoring_schedule", {}, {"MonitoringScheduleName": ONE_TIME})

    code, out, _ = _run(client, hours=3)

    assert code == 1
    assert "outcome: Failed" in out
    assert f"failure reason: {reason}" in out
    assert "see it:" not in out
    assert f"deleted the one-time schedule {ONE_TIME}" in out


def test_a_schedule_that_fails_to_start_is_reported(sagemaker: tuple[Any, Stubber]) -> None:
    client, stubber = sagemaker
    _expect_start(stubber)
    _expect_poll(stubber)
    reason = "Endpoint model-monitor-default-endpoint-ab12cd does not exist"
    stubber.add_response(
        "describe_monitoring_schedule",
        sm.schedule(ONE_TIME, status="Failed", expression="NOW", failure=reason),
        {"MonitoringScheduleName": ONE_TIME},
    )
    stubber.add_response("delete_monitoring_schedule", {}, {"MonitoringScheduleName": ONE_TIME})

    code, out, _ = _run(client)

    assert code == 1
    assert f"schedule {ONE_TIME} failed: {reason}" in out


def test_a_timeout_leaves_the_schedule_and_says_how_to_delete_it(sagemaker: tuple[Any, Stubber]) -> None:
    client, stubber = sagemaker
    _expect_start(stubber)
    for _ in range(3):  # at 0 s, 30 s and 60 s; the next one, at 90 s, would pass the 80 s timeout
        _expect_poll(stubber, sm.execution(ONE_TIME, "InProgress", job=JOB))

    code, out, progress = _run(client, timeout=80)

    assert code == 1
    assert "timed out after 80 s with the run InProgress" in out
    assert f"aws sagemaker delete-monitoring-schedule --monitoring-schedule-name {ONE_TIME}" in out
    assert progress.count("\n") == 3


def test_no_wait_starts_and_returns(sagemaker: tuple[Any, Stubber]) -> None:
    client, stubber = sagemaker
    _expect_start(stubber)

    code, out, progress = _run(client, wait=False)

    assert code == 0
    assert progress == ""
    assert "python -m ops status --stage default" in out
    assert f"--monitoring-schedule-name {ONE_TIME}" in out


def test_a_schedule_without_a_job_definition_name_is_refused(sagemaker: tuple[Any, Stubber]) -> None:
    client, stubber = sagemaker
    response = sm.schedule(SCHEDULE_NAME)
    del response["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"]
    stubber.add_response("describe_monitoring_schedule", response, {"MonitoringScheduleName": SCHEDULE_NAME})

    with pytest.raises(OpsError, match="names no job definition"):
        deployed_schedule(client, SCHEDULE_NAME)


def test_cli_uses_the_schedule_from_the_stack_outputs(
    stage: Stage, sagemaker: tuple[Any, Stubber], capsys: pytest.CaptureFixture[str]
) -> None:
    client, stubber = sagemaker
    stubber.add_response(
        "describe_monitoring_schedule", sm.schedule(SCHEDULE_NAME), {"MonitoringScheduleName": SCHEDULE_NAME}
    )
    stubber.add_response(
        "create_monitoring_schedule",
        {"MonitoringScheduleArn": sm.schedule_arn("x")},
        _create_request(name=ANY, hours=2),
    )

    code = main(["run-now", "--no-wait", "--hours", "2"], client_factory=client_factory({"sagemaker": client}))

    assert code == 0
    assert re.search(
        r"started one-time schedule model-monitor-default-run-now-\d{14}-[0-9a-f]{4} ", capsys.readouterr().out
    )


@pytest.mark.parametrize("hours", ["0", "25"])
def test_cli_refuses_a_window_model_monitor_refuses(hours: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["run-now", "--hours", hours])

    assert exit_.value.code == 2
    assert "expected 1 to 24" in capsys.readouterr().err
