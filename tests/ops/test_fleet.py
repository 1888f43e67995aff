"""``--endpoint`` and the fleet table on a stage with several endpoints: stacks in moto, SageMaker stubbed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from ops.__main__ import main
from ops.fleet import choose_endpoint
from ops.stack_outputs import load_stage_settings
from ops.status import is_entry_alarm

from . import sagemaker_stubs as sm
from .conftest import aws_client, client_factory
from .test_status import _alarm

PREFIX = "model-monitor-fleet"
CHURN = {
    "existing_endpoint_name": "churn-prod",
    "baseline_dataset_uri": "s3://team-data/churn/baseline.csv",
    "monitored_features": ["tenure", "monthly_charges"],
    "retrain_pipeline": "churn-retrain",
}


@pytest.fixture
def cdk_json(tmp_path: Path) -> Path:
    """A fleet stage with an id that is a prefix of another's (demo, demo-2): alarms must not be mixed up."""
    path = tmp_path / "cdk.json"
    stages = {"fleet": {"endpoints": {"demo": {}, "demo-2": {}, "churn": CHURN}}, "default": {}}
    path.write_text(json.dumps({"context": {"stage": "default", "stages": stages}}), encoding="utf-8")
    return path


def _stack(name: str, outputs: dict[str, Any]) -> None:
    aws_client("cloudformation").create_stack(
        StackName=name,
        TemplateBody=json.dumps(
            {
                "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
                "Outputs": {key: {"Value": value} for key, value in outputs.items()},
            }
        ),
    )


def test_choosing_an_endpoint(cdk_json: Path) -> None:
    fleet = load_stage_settings("fleet", cdk_json=cdk_json)
    entry = choose_endpoint(fleet, "churn", command="run-now")
    assert entry is not None and entry.existing_endpoint_name == "churn-prod"
    assert choose_endpoint(fleet, None, command="status") is None  # the whole fleet
    with pytest.raises(Exception, match=r"monitors several endpoints \(demo, demo-2, churn\): pass --endpoint ID"):
        choose_endpoint(fleet, None, command="report")
    with pytest.raises(Exception, match="has no such endpoint; it has demo, demo-2, churn"):
        choose_endpoint(fleet, "nope", command="status")
    plain = load_stage_settings("default", cdk_json=cdk_json)
    with pytest.raises(Exception, match="stage default has no endpoints; leave --endpoint out"):
        choose_endpoint(plain, "demo", command="status")


def test_an_endpoint_id_that_prefixes_another_keeps_their_alarms_apart() -> None:
    assert is_entry_alarm(f"{PREFIX}-demo-ViolationPercentage", f"{PREFIX}-demo-")
    assert is_entry_alarm(f"{PREFIX}-demo-Drift0", f"{PREFIX}-demo-")
    assert not is_entry_alarm(f"{PREFIX}-demo-2-Drift0", f"{PREFIX}-demo-")


def test_status_without_endpoint_prints_the_fleet(
    aws: None, cdk_json: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """demo deployed and in alarm, demo-2 deployed on the builtin engine, churn not deployed yet: one row each."""
    schedule = "modelmonitorfleetdemomonitoring-dataquality-1"
    _stack(
        f"{PREFIX}-demo-monitoring",
        {
            "MonitoringEngine": "model-monitor",
            "MonitoringScheduleName": schedule,
            "ViolationAlarmName": f"{PREFIX}-demo-ViolationPercentage",
        },
    )
    _stack(
        f"{PREFIX}-demo-2-monitoring",
        {"MonitoringEngine": "builtin", "ViolationAlarmName": f"{PREFIX}-demo-2-ViolationPercentage"},
    )
    cloudwatch = aws_client("cloudwatch")
    _alarm(cloudwatch, f"{PREFIX}-demo-ViolationPercentage", [], "ALARM")
    _alarm(cloudwatch, f"{PREFIX}-demo-2-ViolationPercentage", [], "OK")
    sagemaker = aws_client("sagemaker")
    with Stubber(sagemaker) as stubber:
        stubber.add_response(
            "describe_monitoring_schedule",
            sm.schedule(schedule, last=sm.execution(schedule, "CompletedWithViolations", job="job-1")),
            {"MonitoringScheduleName": schedule},
        )
        code = main(
            ["status", "--stage", "fleet"], client_factory=client_factory({"sagemaker": sagemaker}), cdk_json=cdk_json
        )
        stubber.assert_no_pending_responses()
    assert code == 1  # demo's violation alarm is in ALARM
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "stage fleet: 3 monitored endpoints"
    rows = {line.split()[0]: line.split() for line in lines[3:6]}
    assert rows["demo"][:5] == ["demo", f"{PREFIX}-demo", "this", "app", "model-monitor"]
    assert rows["demo"][-3:] == ["Scheduled", "CompletedWithViolations", "ALARM"]
    assert rows["demo-2"][4] == "builtin" and rows["demo-2"][-1] == "OK"
    assert rows["churn"][1:3] == ["churn-prod", "existing"]
    assert "not deployed" in lines[5] or "not deployed" in " ".join(rows["churn"])
    assert lines[-1] == "details of one: python -m ops status --stage fleet --endpoint ID"


def test_status_of_one_endpoint_shows_its_alarms_of_the_shared_topic_only(
    aws: None, cdk_json: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    topic = aws_client("sns").create_topic(Name="alerts")["TopicArn"]
    _stack(f"{PREFIX}-shared", {"AlertsTopicArn": topic})
    _stack(
        f"{PREFIX}-churn-monitoring",
        {"MonitoringEngine": "builtin", "ViolationAlarmName": f"{PREFIX}-churn-ViolationPercentage"},
    )
    _stack(f"{PREFIX}-churn-monitoring-x", {})  # a stack of another name is never read
    cloudwatch = aws_client("cloudwatch")
    _alarm(cloudwatch, f"{PREFIX}-churn-ViolationPercentage", [topic], "OK")
    _alarm(cloudwatch, f"{PREFIX}-churn-Drift0", [topic], "ALARM")
    _alarm(cloudwatch, f"{PREFIX}-demo-Drift0", [topic], "ALARM")  # another endpoint's, same topic
    # churn runs the builtin engine here: its runs are listed from the reports folder, which needs the output.
    code = main(
        ["status", "--stage", "fleet", "--endpoint", "churn"], client_factory=client_factory(), cdk_json=cdk_json
    )
    assert code == 2
    assert "has no output ReportsS3Uri" in capsys.readouterr().err

    aws_client("cloudformation").delete_stack(StackName=f"{PREFIX}-churn-monitoring")
    _stack(
        f"{PREFIX}-churn-monitoring",
        {
            "MonitoringEngine": "builtin",
            "ViolationAlarmName": f"{PREFIX}-churn-ViolationPercentage",
            "ReportsS3Uri": "s3://churn-data/monitoring-reports",
            "DriftAnalysisFunctionName": "churn-analysis",
        },
    )
    aws_client("s3").create_bucket(Bucket="churn-data")
    code = main(
        ["status", "--stage", "fleet", "--endpoint", "churn"], client_factory=client_factory(), cdk_json=cdk_json
    )
    out = capsys.readouterr().out
    assert code == 1  # churn's drift alarm
    assert f"{PREFIX}-churn-Drift0" in out and f"{PREFIX}-churn-ViolationPercentage" in out
    assert f"{PREFIX}-demo-Drift0" not in out


def test_traffic_refuses_an_endpoint_deployed_elsewhere(
    aws: None, cdk_json: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["traffic", "--stage", "fleet", "--endpoint", "churn"], client_factory=client_factory(), cdk_json=cdk_json
    )
    assert code == 2
    assert capsys.readouterr().err == (
        "error: --endpoint churn is deployed elsewhere (churn-prod): traffic sends the demo's rows, only to an "
        "endpoint this app deploys\n"
    )


def test_a_command_about_one_endpoint_reads_that_endpoints_stacks(
    aws: None, cdk_json: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["run-now", "--stage", "fleet", "--endpoint", "demo-2"], client_factory=client_factory(), cdk_json=cdk_json
    )
    assert code == 2
    assert capsys.readouterr().err == (
        f"error: stack {PREFIX}-demo-2-monitoring does not exist: deploy it first with npx cdk deploy --all "
        "-c stage=fleet\n"
    )


def test_status_of_one_model_monitor_endpoint(aws: None, cdk_json: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """demo on Model Monitor: its schedule and executions, its alarms of the shared topic, not demo-2's."""
    topic = aws_client("sns").create_topic(Name="alerts")["TopicArn"]
    schedule = "modelmonitorfleetdemomonitoring-dataquality-1"
    _stack(f"{PREFIX}-shared", {"AlertsTopicArn": topic})
    _stack(
        f"{PREFIX}-demo-monitoring",
        {
            "MonitoringEngine": "model-monitor",
            "MonitoringScheduleName": schedule,
            "ViolationAlarmName": f"{PREFIX}-demo-ViolationPercentage",
        },
    )
    cloudwatch = aws_client("cloudwatch")
    _alarm(cloudwatch, f"{PREFIX}-demo-ViolationPercentage", [topic], "OK")
    _alarm(cloudwatch, f"{PREFIX}-demo-Drift0", [topic], "OK")
    _alarm(cloudwatch, f"{PREFIX}-demo-2-Drift0", [topic], "ALARM")  # demo-2's: not demo's
    sagemaker = aws_client("sagemaker")
    described = sm.schedule(schedule, last=sm.execution(schedule, "Completed", job="job-1"))
    with Stubber(sagemaker) as stubber:
        stubber.add_response("describe_monitoring_schedule", described, {"MonitoringScheduleName": schedule})
        endpoint_name = described.get("EndpointName")
        stubber.add_response(
            "list_monitoring_executions",
            sm.executions(sm.execution(schedule, "Completed", job="job-1")),
            sm.list_request(endpoint_name=endpoint_name, schedule_name=None if endpoint_name else schedule, limit=10),
        )
        code = main(
            ["status", "--stage", "fleet", "--endpoint", "demo"],
            client_factory=client_factory({"sagemaker": sagemaker}),
            cdk_json=cdk_json,
        )
        stubber.assert_no_pending_responses()
    out = capsys.readouterr().out
    assert code == 0  # demo-2's alarm in ALARM does not count for demo
    assert f"{PREFIX}-demo-Drift0" in out and f"{PREFIX}-demo-ViolationPercentage" in out
    assert f"{PREFIX}-demo-2-Drift0" not in out
