"""The retrain trigger starts the pipeline once per drift episode, and may do nothing else."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from tests.synth import declare_variant, synth_stage

#: A team's own pipeline instead of the built one.
TEAM_PIPELINE = declare_variant((("retrain_pipeline", "team-retrain"),))


@pytest.fixture(scope="module")
def monitoring() -> Template:
    return synth_stage("default").template("Monitoring")


def _one(template: Template, resource_type: str, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    found = template.find_resources(resource_type, {"Properties": props})
    assert len(found) == 1, f"expected one {resource_type} matching {props}, found {len(found)}"
    logical_id, resource = next(iter(found.items()))
    return logical_id, dict(resource)


def test_rule_fires_on_the_violation_alarm_entering_alarm_only(monitoring: Template) -> None:
    alarm_id, _ = _one(
        monitoring,
        "AWS::CloudWatch::Alarm",
        {
            "Metrics": [
                Match.object_like(
                    {
                        "MetricStat": Match.object_like(
                            {"Metric": Match.object_like({"MetricName": "ViolationPercentage"})}
                        )
                    }
                )
            ]
        },
    )
    _, rule = _one(
        monitoring,
        "AWS::Events::Rule",
        {"EventPattern": {"source": ["aws.cloudwatch"], "resources": Match.any_value()}},
    )
    assert rule["Properties"]["EventPattern"] == {
        "detail-type": ["CloudWatch Alarm State Change"],
        "resources": [{"Fn::GetAtt": [alarm_id, "Arn"]}],
        "detail": {"state": {"value": ["ALARM"]}},
        "source": ["aws.cloudwatch"],
    }


def test_rule_starts_the_pipeline_with_a_role_that_may_only_start_it(monitoring: Template) -> None:
    pipeline_id, _ = _one(monitoring, "AWS::CodePipeline::Pipeline", {"PipelineType": "V2"})
    _, rule = _one(monitoring, "AWS::Events::Rule", {"EventPattern": {"source": ["aws.cloudwatch"]}})
    [target] = rule["Properties"]["Targets"]
    pipeline_arn = target["Arn"]
    assert pipeline_id in str(pipeline_arn)
    assert "DeadLetterConfig" in target and target["RetryPolicy"]["MaximumRetryAttempts"] == 8

    role_id = target["RoleArn"]["Fn::GetAtt"][0]
    policies = monitoring.find_resources("AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}]}})
    statements = [s for policy in policies.values() for s in policy["Properties"]["PolicyDocument"]["Statement"]]
    assert statements == [
        {"Action": "codepipeline:StartPipelineExecution", "Effect": "Allow", "Resource": pipeline_arn}
    ]
    role = monitoring.find_resources("AWS::IAM::Role")[role_id]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "events.amazonaws.com"
    }


def test_pipeline_trains_from_the_shipped_source_with_no_source_trigger(monitoring: Template) -> None:
    _, pipeline = _one(monitoring, "AWS::CodePipeline::Pipeline", {"PipelineType": "V2"})
    source, retrain = pipeline["Properties"]["Stages"]
    [source_action] = source["Actions"]
    assert source_action["ActionTypeId"]["Provider"] == "S3"
    assert source_action["Configuration"]["PollForSourceChanges"] is False
    [build_action] = retrain["Actions"]
    assert build_action["ActionTypeId"]["Provider"] == "CodeBuild"
    assert pipeline["Properties"]["ArtifactStore"]["EncryptionKey"]["Type"] == "KMS"


def test_build_runs_the_retrain_step_encrypted_and_scoped_to_its_training_jobs(monitoring: Template) -> None:
    project_id, project = _one(monitoring, "AWS::CodeBuild::Project", {"Source": {"Type": "CODEPIPELINE"}})
    props = project["Properties"]
    assert "python start_training.py" in props["Source"]["BuildSpec"]
    variables = {v["Name"]: v["Value"] for v in props["Environment"]["EnvironmentVariables"]}
    assert variables["JOB_NAME_PREFIX"] == "model-monitor-default-retrain"
    assert variables["INSTANCE_TYPE"] == "ml.m5.large"
    assert variables["TRAINING_IMAGE"] == {"Fn::FindInMap": ["XgboostImageUris", {"Ref": "AWS::Region"}, "uri"]}
    assert "EncryptionKey" in props

    role_id = props["ServiceRole"]["Fn::GetAtt"][0]
    policies = monitoring.find_resources("AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}]}})
    statements = [s for policy in policies.values() for s in policy["Properties"]["PolicyDocument"]["Statement"]]
    training = next(s for s in statements if s.get("Sid") == "RunTrainingJobs")
    assert training["Action"] == ["sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob"]
    assert training["Resource"]["Fn::Join"][1][-1] == ":training-job/model-monitor-default-retrain-*"
    pass_role = next(s for s in statements if s.get("Sid") == "PassTrainingRole")
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    assert project_id


def test_an_existing_pipeline_replaces_the_built_one() -> None:
    template = synth_stage("default", TEAM_PIPELINE).template("Monitoring")
    assert template.find_resources("AWS::CodePipeline::Pipeline") == {}
    _, rule = _one(template, "AWS::Events::Rule", {"EventPattern": {"source": ["aws.cloudwatch"]}})
    arn = rule["Properties"]["Targets"][0]["Arn"]
    assert arn["Fn::Join"][1][-1] == ":team-retrain"
