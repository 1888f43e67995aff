"""``status``: schedule and executions (SageMaker stubbed: moto lacks the monitoring APIs), alarms from moto's
CloudWatch, names and the topic from moto's CloudFormation outputs."""

import io
from typing import Any

import pytest
from botocore.stub import Stubber

from ops.__main__ import main
from ops.status import stage_alarms, status

from . import sagemaker_stubs as sm
from .conftest import ENDPOINT_NAME, SCHEDULE_NAME, Stage, aws_client, client_factory

ONE_TIME = "model-monitor-default-run-now-20261122130501-a1b2"


def _alarm(cloudwatch: Any, name: str, actions: list[str], state: str | None = None) -> None:
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/SageMaker",
        MetricName="ModelLatency",
        Dimensions=[{"Name": "EndpointName", "Value": ENDPOINT_NAME}],
        Statistic="Average",
        Period=300,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanThreshold",
        AlarmActions=actions,
    )
    if state:
        cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason=f"{name} went {state}")


@pytest.fixture
def alarms(stage: Stage) -> Any:
    """The stage's alarms, and alarms that must not be listed."""
    cloudwatch = aws_client("cloudwatch")
    _alarm(cloudwatch, stage.violation_alarm_name, [stage.topic_arn], "ALARM")
    _alarm(cloudwatch, "model-monitor-default-latency-p99", [stage.topic_arn], "OK")
    # moto starts new alarms in OK, AWS in INSUFFICIENT_DATA: set it, as a fresh drift alarm would be
    _alarm(cloudwatch, "model-monitor-default-drift-fare_amount", [stage.topic_arn], "INSUFFICIENT_DATA")
    _alarm(cloudwatch, "someone-elses-alarm", [stage.topic_arn + "-old"], "ALARM")  # ActionPrefix matches it too
    _alarm(cloudwatch, "no-actions", [])
    return cloudwatch


def _expect_schedule_and_executions(stubber: Stubber, limit: int) -> None:
    stubber.add_response(
        "describe_monitoring_schedule",
        sm.schedule(SCHEDULE_NAME, last=sm.execution(SCHEDULE_NAME, "CompletedWithViolations", job="job-13")),
        {"MonitoringScheduleName": SCHEDULE_NAME},
    )
    stubber.add_response(
        "list_monitoring_executions",
        sm.executions(
            sm.execution(ONE_TIME, "Failed", job="job-14", failure="Job inputs had no data", hour=14),
            sm.execution(SCHEDULE_NAME, "CompletedWithViolations", job="job-13", hour=13),
            sm.execution(SCHEDULE_NAME, "Completed", job="job-12", hour=12),
        ),
        sm.list_request(endpoint_name=ENDPOINT_NAME, limit=limit),
    )


def test_alarms_are_the_named_ones_and_those_notifying_the_topic(alarms: Any, stage: Stage) -> None:
    found = stage_alarms(alarms, alarm_names=[stage.violation_alarm_name], topic_arn=stage.topic_arn)

    assert [(alarm.name, alarm.state) for alarm in found] == [
        (stage.violation_alarm_name, "ALARM"),
        ("model-monitor-default-drift-fare_amount", "INSUFFICIENT_DATA"),
        ("model-monitor-default-latency-p99", "OK"),
    ]
    assert found[0].reason == f"{stage.violation_alarm_name} went ALARM"


def test_status_shows_schedule_executions_and_alarms(alarms: Any, stage: Stage, sagemaker: tuple[Any, Stubber]) -> None:
    client, stubber = sagemaker
    _expect_schedule_and_executions(stubber, limit=5)
    out = io.StringIO()

    code = status(
        client,
        alarms,
        schedule_name=SCHEDULE_NAME,
        violation_alarm_name=stage.violation_alarm_name,
        topic_arn=stage.topic_arn,
        limit=5,
        out=out,
    )

    text = out.getvalue()
    assert code == 1  # an alarm is in ALARM
    assert f"Monitoring schedule {SCHEDULE_NAME}: Scheduled" in text
    assert f"type DataQuality, expression cron(0 * ? * * *), endpoint {ENDPOINT_NAME}" in text
    assert "last execution: CompletedWithViolations, scheduled 2026-11-22 13:00 UTC" in text
    lines = text.splitlines()
    executions = lines[lines.index(f"Latest executions (endpoint {ENDPOINT_NAME}, newest first):") + 3 :][:3]
    assert executions[0].split()[:4] == ["2026-11-22", "14:00", "UTC", "Failed"]
    assert ONE_TIME in executions[0] and "job-14" in executions[0] and executions[0].endswith("Job inputs had no data")
    assert executions[1].split()[3:6] == ["CompletedWithViolations", "(deployed)", "job-13"]
    assert executions[2].split()[3:6] == ["Completed", "(deployed)", "job-12"]
    alarm_lines = lines[lines.index("Alarms:") + 3 :]
    assert [line.split()[:2] for line in alarm_lines] == [
        ["ALARM", stage.violation_alarm_name],
        ["INSUFFICIENT_DATA", "model-monitor-default-drift-fare_amount"],
        ["OK", "model-monitor-default-latency-p99"],
    ]
    assert "someone-elses-alarm" not in text and "no-actions" not in text


def test_status_exits_0_when_all_is_quiet(stage: Stage, sagemaker: tuple[Any, Stubber]) -> None:
    client, stubber = sagemaker
    stubber.add_response(
        "describe_monitoring_schedule", sm.schedule(SCHEDULE_NAME), {"MonitoringScheduleName": SCHEDULE_NAME}
    )
    stubber.add_response(
        "list_monitoring_executions", sm.executions(), sm.list_request(endpoint_name=ENDPOINT_NAME, limit=10)
    )
    out = io.StringIO()

    code = status(
        client,
        aws_client("cloudwatch"),
        schedule_name=SCHEDULE_NAME,
        violation_alarm_name=stage.violation_alarm_name,
        topic_arn=stage.topic_arn,
        limit=10,
        out=out,
    )

    assert code == 0
    assert "none yet" in out.getvalue()
    assert f"not found: alarm {stage.violation_alarm_name}" in out.getvalue()


def test_cli_status(alarms: Any, sagemaker: tuple[Any, Stubber], capsys: pytest.CaptureFixture[str]) -> None:
    client, stubber = sagemaker
    _expect_schedule_and_executions(stubber, limit=3)

    code = main(["status", "--executions", "3"], client_factory=client_factory({"sagemaker": client}))

    out = capsys.readouterr().out
    assert code == 1
    assert "model-monitor-default-latency-p99" in out
    assert "job-12" in out
