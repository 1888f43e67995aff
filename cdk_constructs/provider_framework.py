"""cdk-nag findings on CDK's custom-resource Provider framework, acknowledged in one place with one reason."""

from __future__ import annotations

from aws_cdk import aws_lambda as lambda_
from aws_cdk import custom_resources as cr

from cdk_constructs.nag import acknowledge, wildcard_resource_finding

REASON = (
    "CDK's custom-resource Provider framework: its Node.js functions, their AWS-managed basic execution policy, "
    "their invoke grants on the handler functions (versions included) and the waiter state machine's "
    "log-delivery permissions (which support no resource-level permissions) are built by aws-cdk-lib. X-Ray "
    "tracing of the waiter is not configurable through the Provider."
)


def acknowledge_provider_framework(provider: cr.Provider, *, handlers: tuple[lambda_.IFunction, ...]) -> None:
    """Acknowledge what aws-cdk-lib builds inside ``provider``, naming each invoked function exactly."""
    framework_functions = [child for child in provider.node.children if isinstance(child, lambda_.Function)]
    acknowledge(
        provider,
        REASON,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        "AwsSolutions-L1",
        "AwsSolutions-SF2",
        "AwsSolutions-IAM5[Resource::*]",
        *(
            wildcard_resource_finding(provider, f"{function.function_arn}:*")
            for function in (*handlers, *framework_functions)
        ),
    )
