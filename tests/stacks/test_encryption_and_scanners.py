"""Every stage's templates: log groups and dead-letter queues encrypted with customer-managed keys whose policies
let the writing service use them, and every function's missing reserved concurrency explained to the scanners
that read ``Metadata`` (issue 9, item 10)."""

from __future__ import annotations

from typing import Any

import pytest

from cdk_constructs.dead_letter_queue import EVENTS_KEY_SID
from cdk_constructs.function_logging import LOGS_KEY_ACTIONS, LOGS_KEY_SID
from cdk_constructs.nag import UNRESERVED_CONCURRENCY_REASON
from tests.stacks.test_monitoring_stack import produced
from tests.synth import CDK_JSON_CONTEXT, STAGES, Synthesized, synth_stage

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
    # A stage with endpoints has these per endpoint: Baseline-<id>, Monitoring-<id>.
    assert {stack_id.partition("-")[0] for _, stack_id, _, _ in groups} == {"Baseline", "Monitoring"}
    for stage, stack_id, name, group in groups:
        key = group["Properties"].get("KmsKeyId")
        assert key is not None, f"{stage}/{stack_id}/{name} is not encrypted"
        baseline_id = stack_id.replace("Monitoring", "Baseline")
        if stack_id.startswith("Monitoring"):  # the same key, crossing from its baseline stack
            stack_id, key = produced(synth_stage(stage), key)
        assert (stack_id, key) == (baseline_id, data_key_reference(synth_stage(stage), baseline_id)), f"{stage}/{name}"


def data_key_reference(synth: Synthesized, baseline_id: str = "Baseline") -> Any:
    """The stage's monitoring-data key in the baseline stack: the key of the baseline's output (either engine's)."""
    (baseline,) = [
        *resources(synth, baseline_id, "Custom::ModelMonitorBaseline").values(),
        *resources(synth, baseline_id, "Custom::DriftEngineBaseline").values(),
    ]
    return baseline["Properties"]["KmsKeyArn"]


@pytest.mark.parametrize("stage", STAGES)
def test_cloudwatch_logs_may_use_the_data_key_for_log_groups_of_this_account_and_region(stage: str) -> None:
    synth = synth_stage(stage)
    baseline_id = next(stack_id for stack_id in synth.stack_ids if stack_id.startswith("Baseline"))
    key_ref = data_key_reference(synth, baseline_id)
    statement = key_policy_statement(synth, baseline_id, key_ref["Fn::GetAtt"][0], LOGS_KEY_SID)
    region = CDK_JSON_CONTEXT["stages"][stage].get("region")
    if region is None:  # environment-agnostic: the region and partition at deploy time
        service: Any = {"Fn::Join": ["", ["logs.", REGION, ".amazonaws.com"]]}
        log_groups = {"Fn::Join": ["", ["arn:", PARTITION, ":logs:", REGION, ":", ACCOUNT, ":log-group:*"]]}
    else:  # a stage with a region (the spark stage): CDK writes the region and its partition as literals
        service = f"logs.{region}.amazonaws.com"
        log_groups = {"Fn::Join": ["", [f"arn:aws:logs:{region}:", ACCOUNT, ":log-group:*"]]}
    assert statement == {
        "Sid": LOGS_KEY_SID,
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": sorted(LOGS_KEY_ACTIONS),  # CDK sorts them
        "Resource": "*",
        "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
    }
    assert not any("*" in action for action in LOGS_KEY_ACTIONS)


def test_every_queue_is_encrypted_with_a_customer_managed_key() -> None:
    queues = every("AWS::SQS::Queue")
    assert queues
    for stage, stack_id, name, queue in queues:
        key = queue["Properties"].get("KmsMasterKeyId")
        # A reference to a key of the app, never SQS-managed encryption or the AWS-managed alias/aws/sqs.
        assert isinstance(key, dict), f"{stage}/{stack_id}/{name}: {key}"


def rule_dead_letter_queues(synth: Synthesized, stack_id: str) -> list[str]:
    return [
        target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
        for rule in resources(synth, stack_id, "AWS::Events::Rule").values()
        for target in rule["Properties"].get("Targets", [])
        if "DeadLetterConfig" in target
    ]


def test_eventbridge_may_use_the_key_of_each_rules_dead_letter_queue_for_this_accounts_rules() -> None:
    checked = 0
    for stage in STAGES:
        synth = synth_stage(stage)
        for monitoring_id, queue_id in (
            (stack_id, queue_id)
            for stack_id in synth.stack_ids
            if stack_id.startswith("Monitoring")
            for queue_id in rule_dead_letter_queues(synth, stack_id)
        ):
            key = synth.template_json(monitoring_id)["Resources"][queue_id]["Properties"]["KmsMasterKeyId"]
            key_stack = monitoring_id
            if "Fn::GetAtt" not in key:  # a stage with endpoints: the shared alerts key, or the endpoint's data key
                key_stack, key = produced(synth, key)
            statement = key_policy_statement(synth, key_stack, key["Fn::GetAtt"][0], EVENTS_KEY_SID)
            region = CDK_JSON_CONTEXT["stages"][stage].get("region")
            rules = (
                {"Fn::Join": ["", ["arn:", PARTITION, ":events:", REGION, ":", ACCOUNT, ":rule/*"]]}
                if region is None
                else {"Fn::Join": ["", [f"arn:aws:events:{region}:", ACCOUNT, ":rule/*"]]}  # the spark stage's
            )
            assert statement == {
                "Sid": EVENTS_KEY_SID,
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}, "ArnLike": {"aws:SourceArn": rules}},
            }
            checked += 1
    assert checked >= len(STAGES)  # the retrain rule's queue in every stage, and the violation rule's


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
