"""The dead-letter queue of an EventBridge rule's target: KMS-encrypted with a customer-managed key, SSL-only."""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk_constructs.key_policy import add_to_key_policy_once
from cdk_constructs.nag import acknowledge

EVENTS_KEY_SID = "EventBridgeSendsToDeadLetterQueuesOfThisAccount"


def dead_letter_queue(
    scope: Construct,
    construct_id: str,
    *,
    encryption_key: kms.IKey,
    rule_description: str,
    retention_period: Duration | None = None,
) -> sqs.Queue:
    """A queue for the events a rule's target did not take, encrypted with ``encryption_key`` (SSE-KMS).

    EventBridge sends to it as ``events.amazonaws.com``, so the key must let EventBridge generate and decrypt data
    keys (EventBridge's "Authorizing EventBridge to use a customer managed key"); ``allow_eventbridge_dead_letters``
    adds that to the key's policy. aws-cdk-lib's rule targets add the queue policy (``sqs:SendMessage`` for the
    rule's ARN).

    :param retention_period: Default: 14 days, SQS's longest.
    """
    allow_eventbridge_dead_letters(encryption_key)
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=encryption_key,
        enforce_ssl=True,
        retention_period=retention_period or Duration.days(14),
    )
    acknowledge(
        queue,
        f"This queue is the dead-letter queue of {rule_description}; it has none of its own.",
        "AwsSolutions-SQS3",
    )
    return queue


def allow_eventbridge_dead_letters(key: kms.IKey) -> None:
    """Let EventBridge rules of the key's account and Region use ``key`` for the queues they dead-letter to.

    Scoped by ``aws:SourceAccount`` and by ``aws:SourceArn`` to ``rule/*`` of this account and Region, not to the
    rules themselves: a rule names its queue, the queue its key, so a key naming its rules would be a cycle. Added
    once per key; a key imported by ARN is left to its owner.
    """

    def statement(stack: Stack) -> iam.PolicyStatement:
        rules = stack.format_arn(
            service="events", resource="rule", resource_name="*", arn_format=ArnFormat.SLASH_RESOURCE_NAME
        )
        return iam.PolicyStatement(
            sid=EVENTS_KEY_SID,
            actions=["kms:GenerateDataKey", "kms:Decrypt"],
            principals=[iam.ServicePrincipal("events.amazonaws.com")],
            resources=["*"],  # in a key policy, "*" is this key
            conditions={"StringEquals": {"aws:SourceAccount": stack.account}, "ArnLike": {"aws:SourceArn": rules}},
        )

    add_to_key_policy_once(key, EVENTS_KEY_SID, statement)
