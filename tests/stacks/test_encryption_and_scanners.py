"""Every stage's templates: log groups and dead-letter queues encrypted with customer-managed keys whose policies
let the writing service use them, and every function's missing reserved concurrency explained to the scanners
that read ``Metadata`` (issue 9, item 10)."""

from __future__ import annotations

from typing import Any

import pytest

from cdk_constructs.function_logging import LOGS_KEY_ACTIONS, LOGS_KEY_SID
from cdk_constructs.nag import UNRESERVED_CONCURRENCY_REASON
from tests.synth import STAGES, Synthesized, synth_stage

PARTITION, REGION, ACCOUNT = ({"Ref": "AWS::Partition"}, {"Ref": "AWS::Region"}, {"Ref": "AWS::AccountId"})


def resources(synth: Synthesized, stack_id: str, resource_type: str) -> dict[str, dict[str, Any]]:
    template = synth.template_json(stack_id)
    return {name: r for name, r in template["Resources"].items() if r["Type"] == resource_type}


def every(resource_type: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    return [
        (stage, stack_id, name, resource)
        for stage in STAGES
        for stack_id in synth_stage(stage).stack_ids
        for name, resource in resources(synth_stage(stage), stack_id, resource_type).items()
    ]


def key_policy_statement(synth: Synthesized, stack_id: str, key_id: str, sid: str) -> dict[str, Any]:
    key = synth.template_json(stack_id)["Resources"][key_id]
    (statement,) = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if s.get("Sid") == sid]
    return dict(statement)


def test_every_log_group_of_every_stage_is_encrypted_with_the_monitoring_data_key() -> None:
    groups = every("AWS::Logs::LogGroup")
    assert {stack_id for _, stack_id, _, _ in groups} == {"Baseline", "Monitoring"}
    for stage, stack_id, name, group in groups:
        key = group["Properties"].get("KmsKeyId")
        assert key is not None, f"{stage}/{stack_id}/{name} is not encrypted"
        assert key == data_key_reference(synth_stage(stage), stack_id), f"{stage}/{stack_id}/{name}"


def data_key_reference(synth: Synthesized, stack_id: str) -> Any:
    """How ``stack_id`` refers to the stage's monitoring-data key: the key that encrypts the monitoring job's
    reports (Monitoring) or the baseline job's output (Baseline)."""
    if stack_id == "Monitoring":
        (definition,) = resources(synth, "Monitoring", "AWS::SageMaker::DataQualityJobDefinition").values()
        return definition["Properties"]["DataQualityJobOutputConfig"]["KmsKeyId"]
    (baseline,) = resources(synth, "Baseline", "Custom::ModelMonitorBaseline").values()
    return baseline["Properties"]["KmsKeyArn"]


@pytest.mark.parametrize("stage", STAGES)
def test_cloudwatch_logs_may_use_the_data_key_for_log_groups_of_this_account_and_region(stage: str) -> None:
    synth = synth_stage(stage)
    key_ref = data_key_reference(synth, "Baseline")
    statement = key_policy_statement(synth, "Baseline", key_ref["Fn::GetAtt"][0], LOGS_KEY_SID)
    assert statement == {
        "Sid": LOGS_KEY_SID,
        "Effect": "Allow",
        "Principal": {"Service": {"Fn::Join": ["", ["logs.", REGION, ".amazonaws.com"]]}},
        "Action": sorted(LOGS_KEY_ACTIONS),  # CDK sorts them
        "Resource": "*",
        "Condition": {
            "ArnLike": {
                "kms:EncryptionContext:aws:logs:arn": {
                    "Fn::Join": ["", ["arn:", PARTITION, ":logs:", REGION, ":", ACCOUNT, ":log-group:*"]]
                }
            }
        },
    }
    assert not any("*" in action for action in LOGS_KEY_ACTIONS)


def test_every_queue_is_encrypted_with_a_key_eventbridge_may_use_for_this_accounts_rules() -> None:
    queues = every("AWS::SQS::Queue")
    assert len(queues) == 2 * len(STAGES)  # the two dead-letter queues of each stage
    for stage, stack_id, name, queue in queues:
        key = queue["Properties"].get("KmsMasterKeyId")
        assert isinstance(key, dict) and "Fn::GetAtt" in key, f"{stage}/{stack_id}/{name}: {key}"
        key_id = key["Fn::GetAtt"][0]
        statements = synth_stage(stage).template_json(stack_id)["Resources"][key_id]["Properties"]["KeyPolicy"]
        events = [s for s in statements["Statement"] if s["Principal"] == {"Service": "events.amazonaws.com"}]
        assert {
            "Sid": "EventBridgeSendsToDeadLetterQueuesOfThisAccount",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
                "ArnLike": {
                    "aws:SourceArn": {
                        "Fn::Join": ["", ["arn:", PARTITION, ":events:", REGION, ":", ACCOUNT, ":rule/*"]]
                    }
                },
            },
        } in events


def test_every_function_reserves_concurrency_or_tells_the_scanners_why_not() -> None:
    functions = every("AWS::Lambda::Function")
    assert functions
    for stage, stack_id, name, function in functions:
        if "ReservedConcurrentExecutions" in function["Properties"]:
            continue
        metadata = function.get("Metadata", {})
        where = f"{stage}/{stack_id}/{name}: call cdk_constructs.nag.acknowledge_unreserved_concurrency"
        assert {"id": "CKV_AWS_115", "comment": UNRESERVED_CONCURRENCY_REASON} in metadata.get("checkov", {}).get(
            "skip", []
        ), where
        assert {"id": "W92", "reason": UNRESERVED_CONCURRENCY_REASON} in metadata.get("cfn_nag", {}).get(
            "rules_to_suppress", []
        ), where
