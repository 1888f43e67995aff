"""The SNS topic people are told through: encrypted, SSL-only, published to by CloudWatch alarms and EventBridge."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

#: The services that publish alerts: CloudWatch for alarms, EventBridge for rules.
PUBLISHING_SERVICES = ("cloudwatch.amazonaws.com", "events.amazonaws.com")


class AlertsTopic(Construct):
    """An SNS topic encrypted with its own KMS key, refusing plain HTTP, with email subscriptions.

    The topic policy lets only CloudWatch and EventBridge of this account publish (besides the account's own
    IAM principals that are explicitly allowed), and the key policy lets exactly those services encrypt:
    an alarm publishing to an encrypted topic fails silently without that.

    :param emails: addresses subscribed to the topic; each must confirm by email. Default: none.
    """

    def __init__(self, scope: Construct, construct_id: str, *, emails: Sequence[str] = ()) -> None:
        super().__init__(scope, construct_id)
        account = Stack.of(self).account
        self.key = kms.Key(self, "Key", description="Encrypts model-monitoring alerts", enable_key_rotation=True)
        self.topic = sns.Topic(self, "Topic", master_key=self.key, enforce_ssl=True)
        for service in PUBLISHING_SERVICES:
            principal = iam.ServicePrincipal(service)
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    principals=[principal],
                    resources=["*"],  # in a key policy, "*" is this key
                    conditions={"StringEquals": {"aws:SourceAccount": account}},
                )
            )
            self.topic.add_to_resource_policy(
                iam.PolicyStatement(
                    actions=["sns:Publish"],
                    principals=[principal],
                    resources=[self.topic.topic_arn],
                    conditions={"StringEquals": {"aws:SourceAccount": account}},
                )
            )
        for email in emails:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
