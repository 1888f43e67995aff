"""A stage with ``endpoints`` (cdk.json's ``fleet``: the demo deployed by this app, churn and fraud deployed
elsewhere): which stacks, what they share, what each endpoint's monitoring reads, and the fleet dashboard."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from settings import endpoint_settings
from tests.synth import CDK_JSON_CONTEXT, Synthesized, declare_stages_variant, synth_stage

PREFIX = "model-monitor-fleet"


@pytest.fixture(scope="module")
def fleet() -> Synthesized:
    return synth_stage("fleet")


def resources(template: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [resource for resource in template["Resources"].values() if resource["Type"] == resource_type]


def test_a_shared_stack_and_stacks_per_endpoint_named_by_id(fleet: Synthesized) -> None:
    assert sorted(fleet.stack_ids) == sorted(
        [
            "Shared",
            "Endpoint-demo",
            "Baseline-demo",
            "Monitoring-demo",
            "Baseline-churn",
            "Monitoring-churn",
            "Baseline-fraud",
            "Monitoring-fraud",
        ]
    )
    assert fleet.stack_name("Shared") == f"{PREFIX}-shared"
    assert fleet.stack_name("Monitoring-churn") == f"{PREFIX}-churn-monitoring"
    assert fleet.stack_name("Endpoint-demo") == f"{PREFIX}-demo-endpoint"


def test_each_endpoint_depends_on_the_shared_stack_and_its_own_stacks_only(fleet: Synthesized) -> None:
    """Nothing depends on an endpoint's stacks but its own: endpoints deploy in parallel (--concurrency) and one is
    removed without touching another; Shared depends on nothing."""
    assert fleet.stack_dependencies("Shared") == set()
    assert fleet.stack_dependencies("Monitoring-demo") == {"Shared", "Endpoint-demo", "Baseline-demo"}
    assert fleet.stack_dependencies("Monitoring-churn") == {"Shared", "Baseline-churn"}
    assert fleet.stack_dependencies("Monitoring-fraud") == {"Shared", "Baseline-fraud"}
    for stack_id in ("Endpoint-demo", "Baseline-demo", "Baseline-churn", "Baseline-fraud"):
        assert fleet.stack_dependencies(stack_id) == set()


def test_one_alerts_topic_for_the_stage_imported_by_name(fleet: Synthesized) -> None:
    topics = {stack_id: resources(fleet.template_json(stack_id), "AWS::SNS::Topic") for stack_id in fleet.stack_ids}
    assert {stack_id for stack_id, found in topics.items() if found} == {"Shared"}
    outputs = fleet.template_json("Shared")["Outputs"]
    assert outputs["AlertsTopicArn"]["Export"] == {"Name": f"{PREFIX}-alerts-topic"}
    assert outputs["AlertsKeyArn"]["Export"] == {"Name": f"{PREFIX}-alerts-key"}
    for endpoint_id in ("demo", "churn", "fraud"):
        monitoring = fleet.template_json(f"Monitoring-{endpoint_id}")
        actions = {
            json.dumps(action)
            for alarm in resources(monitoring, "AWS::CloudWatch::Alarm")
            for action in alarm["Properties"]["AlarmActions"]
        }
        assert actions == {json.dumps({"Fn::ImportValue": f"{PREFIX}-alerts-topic"})}, endpoint_id
        assert resources(monitoring, "AWS::CloudWatch::Dashboard") == []
        # The retrain's dead-letter queue (and the violation function's) use the shared key, whose policy lets
        # EventBridge use it: a key imported by ARN cannot get that statement from the monitoring stack. The
        # builtin engine's queue uses the endpoint's data key, as on a stage without endpoints.
        keys = {json.dumps(queue["Properties"]["KmsMasterKeyId"]) for queue in resources(monitoring, "AWS::SQS::Queue")}
        alerts_key = json.dumps({"Fn::ImportValue": f"{PREFIX}-alerts-key"})
        assert alerts_key in keys
        assert all(key == alerts_key or f"{PREFIX}-{endpoint_id}-baseline" in key for key in keys), keys
    key_policy = resources(fleet.template_json("Shared"), "AWS::KMS::Key")[0]["Properties"]["KeyPolicy"]
    assert "EventBridgeSendsToDeadLetterQueuesOfThisAccount" in {
        statement.get("Sid") for statement in key_policy["Statement"]
    }


def test_an_existing_endpoint_is_checked_and_only_its_capture_folder_is_read(fleet: Synthesized) -> None:
    monitoring = fleet.template_json("Monitoring-churn")
    (check,) = resources(monitoring, "Custom::ExistingEndpointCapture")
    assert check["Properties"]["EndpointName"] == "churn-prod"
    (schedule,) = resources(monitoring, "AWS::SageMaker::DataQualityJobDefinition")
    assert schedule["Properties"]["DataQualityJobInput"]["EndpointInput"]["EndpointName"] == "churn-prod"
    reads = [
        json.dumps(statement["Resource"])
        for policy in resources(monitoring, "AWS::IAM::Policy")
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == "s3:GetObject"
    ]
    capture_reads = [resource for resource in reads if "CaptureBucket" in resource]
    assert capture_reads and all("EndpointCapturePrefix" in resource for resource in capture_reads)
    # No endpoint stack: nothing of churn's endpoint is deployed or changed by this app.
    assert "Endpoint-churn" not in fleet.stack_ids


def test_each_endpoint_gets_its_own_settings_and_names(fleet: Synthesized) -> None:
    # churn is deployed elsewhere (no endpoint stack) and monitored by Model Monitor; fraud by the builtin engine.
    assert "Endpoint-churn" not in fleet.stack_ids
    assert len(resources(fleet.template_json("Monitoring-churn"), "AWS::SageMaker::MonitoringSchedule")) == 1
    fraud = fleet.template_json("Monitoring-fraud")
    assert resources(fraud, "AWS::SageMaker::MonitoringSchedule") == []
    assert any("DriftAnalysis" in logical_id for logical_id in fraud["Resources"]), "fraud's hourly analysis"
    (demo,) = [entry for entry in fleet.settings.endpoints if entry.id == "demo"]
    assert endpoint_settings(fleet.settings, demo).endpoint_name == f"{PREFIX}-demo"
    (endpoint,) = resources(fleet.template_json("Endpoint-demo"), "AWS::SageMaker::Endpoint")
    assert endpoint["Properties"]["EndpointName"] == f"{PREFIX}-demo"
    (pipeline_output,) = [
        output["Value"]
        for name, output in fleet.template_json("Monitoring-churn")["Outputs"].items()
        if name == "RetrainPipelineName"
    ]
    assert pipeline_output == "churn-retrain"
    names = sorted(
        alarm["Properties"]["AlarmName"]
        for alarm in resources(fleet.template_json("Monitoring-churn"), "AWS::CloudWatch::Alarm")
    )
    assert names == sorted(
        f"{PREFIX}-churn-{name}"
        for name in (
            "Drift0",
            "Drift1",
            "ServerErrors",
            "ModelLatencyP99",
            "ExecutionFailed",
            "ReportUnreadable",
            "ViolationPercentage",
        )
    )


def dashboard_body(fleet: Synthesized) -> str:
    (dashboard,) = resources(fleet.template_json("Shared"), "AWS::CloudWatch::Dashboard")
    return json.dumps(dashboard["Properties"]["DashboardBody"])


def test_the_dashboard_shows_every_endpoint_by_name_without_imports(fleet: Synthesized) -> None:
    body = dashboard_body(fleet)
    assert "Fn::ImportValue" not in body and "Fn::GetStackOutput" not in body
    for endpoint_id, endpoint_name in (("demo", f"{PREFIX}-demo"), ("churn", "churn-prod"), ("fraud", "fraud-scorer")):
        assert f":alarm:{PREFIX}-{endpoint_id}-ViolationPercentage" in body
        assert f"{endpoint_id}: violated features (%)" in body
        assert f'EndpointName=\\\\\\"{endpoint_name}\\\\\\"' in body
    # The builtin engine's run-input graph for fraud only (the others run Model Monitor).
    assert "fraud: analysis runs" in body and "churn: analysis runs" not in body and "demo: analysis runs" not in body
    # Each alarm the monitoring stacks create is in the summary, and the summary names no other.
    created = {
        alarm["Properties"]["AlarmName"]
        for stack_id in fleet.stack_ids
        for alarm in resources(fleet.template_json(stack_id), "AWS::CloudWatch::Alarm")
    }
    shown = {part.split('\\"')[0] for part in body.split(":alarm:")[1:]}
    assert shown == created


# --- adding or removing an endpoint -------------------------------------------------------------------------


def stages_without(endpoint_id: str) -> dict[str, Any]:
    """cdk.json's stages with one entry fewer in the fleet stage."""
    stages: dict[str, Any] = copy.deepcopy(CDK_JSON_CONTEXT["stages"])
    del stages["fleet"]["endpoints"][endpoint_id]
    return stages


#: The fleet stage without churn, synthesized as ``synth_stage`` does (cdk-nag on; CDK's built-in validation off: it
#: changes no template, and the gates check the full stage).
without_churn = declare_stages_variant("fleet", stages_without("churn"))


def dashboard_widgets(synth: Synthesized) -> list[dict[str, Any]]:
    """The fleet dashboard's widgets, references rendered as text and grid positions left out (the rows below a
    removed endpoint's move up)."""
    (dashboard,) = resources(synth.template_json("Shared"), "AWS::CloudWatch::Dashboard")
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    body = json.loads(
        "".join(part if isinstance(part, str) else "${" + json.dumps(part).replace('"', "'") + "}" for part in parts)
    )
    return [{key: value for key, value in widget.items() if key not in ("x", "y")} for widget in body["widgets"]]


def without_mentions(value: Any, text: str) -> Any:
    """``value`` without what mentions ``text``: widgets whose title does, alarm ARNs and metric arrays that do."""
    if isinstance(value, list):
        return [without_mentions(item, text) for item in value if not mentions(item, text)]
    if isinstance(value, dict):
        return {key: without_mentions(item, text) for key, item in value.items()}
    return value


def mentions(item: Any, text: str) -> bool:
    if isinstance(item, dict):  # a widget: only by its title (the summary widgets mention every endpoint)
        return text in str(item.get("properties", {}).get("title", ""))
    return text in json.dumps(item)


def test_removing_one_endpoint_changes_only_that_endpoints_resources(fleet: Synthesized) -> None:
    """The offline diff of taking churn out of the three-endpoint stage: its stacks go, every other stack's template
    is identical (same logical ids, same properties), and the shared dashboard loses churn's widgets and nothing
    else."""
    without = without_churn()
    assert set(fleet.stack_ids) - set(without.stack_ids) == {"Baseline-churn", "Monitoring-churn"}
    assert set(without.stack_ids) < set(fleet.stack_ids)
    for stack_id in without.stack_ids:
        if stack_id != "Shared":
            assert without.template_json(stack_id) == fleet.template_json(stack_id), stack_id
    # Shared: the same resources and outputs; only the dashboard's body differs.
    shared, shared_without = fleet.template_json("Shared"), without.template_json("Shared")
    assert shared["Resources"].keys() == shared_without["Resources"].keys()
    assert shared["Outputs"] == shared_without["Outputs"]
    for logical_id, resource in shared["Resources"].items():
        if resource["Type"] != "AWS::CloudWatch::Dashboard":
            assert shared_without["Resources"][logical_id] == resource, logical_id
    full, reduced = dashboard_widgets(fleet), dashboard_widgets(without)
    assert reduced != full
    # Every mention of churn (its alarms, its metrics, its row) is what went, and all of it went.
    assert reduced == without_mentions(full, "churn")
    assert "churn" not in json.dumps(reduced)
