"""A Lambda execution role that may write to its own log group and nothing else by default.

CDK's default function role attaches the AWS-managed ``AWSLambdaBasicExecutionRole`` policy, which lets the
function create any log group in the account. Here each function gets an explicit log group with a retention,
and a role limited to writing streams of that one group; everything else is granted by the stack.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct


class FunctionLogging(Construct):
    """A log group and a role for one Lambda function: pass ``log_group`` and ``role`` to the function.

    :param description: what the function does, for the role's description.
    :param retention: how long logs are kept. Default: three months.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        description: str,
        retention: logs.RetentionDays = logs.RetentionDays.THREE_MONTHS,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(self, "LogGroup", retention=retention, removal_policy=RemovalPolicy.DESTROY)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=description,
        )
        # The log group's Arn attribute ends in ":*", so it covers the group's streams and no other group.
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteOwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )
