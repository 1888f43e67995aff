"""``cdk destroy`` removes the schedule only once it can be removed, and before what it depends on."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Template

from tests.synth import synth_stage


@pytest.fixture(scope="module")
def monitoring() -> Template:
    return synth_stage("default").template("Monitoring")


def test_guard_depends_on_the_schedule_so_it_is_created_after_and_deleted_before(monitoring: Template) -> None:
    [(schedule_id, schedule)] = monitoring.find_resources("AWS::SageMaker::MonitoringSchedule").items()
    [guard] = monitoring.find_resources("Custom::MonitoringScheduleGuard").values()
    assert schedule_id in guard["DependsOn"]
    assert guard["Properties"]["ScheduleName"] == schedule["Properties"]["MonitoringScheduleName"]


def test_schedule_is_deleted_before_its_job_definition(monitoring: Template) -> None:
    [schedule] = monitoring.find_resources("AWS::SageMaker::MonitoringSchedule").values()
    [(job_definition_id, job_definition)] = monitoring.find_resources(
        "AWS::SageMaker::DataQualityJobDefinition"
    ).items()
    name = schedule["Properties"]["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"]
    # The literal name implies no order: the explicit dependency makes CloudFormation delete the schedule first.
    assert name == job_definition["Properties"]["JobDefinitionName"]
    assert job_definition_id in schedule["DependsOn"]


def test_guard_waits_with_is_complete_and_may_only_describe_its_schedule(monitoring: Template) -> None:
    functions = monitoring.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "schedule_guard.handler.is_complete"}}
    )
    [is_complete] = functions.values()
    assert is_complete["Properties"]["Runtime"] == "python3.14"
    role_id = is_complete["Properties"]["Role"]["Fn::GetAtt"][0]
    policies = monitoring.find_resources("AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}]}})
    actions = sorted(
        action
        for policy in policies.values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    )
    assert actions == ["logs:CreateLogStream", "logs:PutLogEvents", "sagemaker:DescribeMonitoringSchedule"]


def test_every_stack_destroys_in_dependency_order() -> None:
    """Monitoring depends on the endpoint and baseline stacks, so ``cdk destroy --all`` removes it first."""
    assert synth_stage("default").stack_dependencies("Monitoring") == {"Endpoint", "Baseline"}
