"""The custom-resource Providers of this app, built one way: logged, and their cdk-nag findings acknowledged in
one place with one reason. ``waiting_provider`` polls ``is_complete``; ``answering_provider`` takes the
``on_event`` answer as final."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import custom_resources as cr
from constructs import Construct

from cdk_constructs.function_logging import encrypted_log_group
from cdk_constructs.nag import acknowledge, acknowledge_unreserved_concurrency, wildcard_resource_finding

REASON = (
    "CDK's custom-resource Provider framework: its Node.js functions, their AWS-managed basic execution policy, "
    "their invoke grants on the handler functions (versions included) and the waiter state machine's "
    "log-delivery permissions (which support no resource-level permissions) are built by aws-cdk-lib. X-Ray "
    "tracing of the waiter is not configurable through the Provider."
)


def acknowledge_provider_framework(
    provider: cr.Provider, *, handlers: tuple[lambda_.IFunction, ...], waits: bool = True
) -> None:
    """Acknowledge what aws-cdk-lib builds inside ``provider``, naming each invoked function exactly.

    Only a Provider that ``waits`` has a waiter state machine (SF2, and the log delivery's ``Resource::*``).
    """
    framework_functions = [child for child in provider.node.children if isinstance(child, lambda_.Function)]
    for function in framework_functions:
        acknowledge_unreserved_concurrency(function)
    acknowledge(
        provider,
        REASON,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        "AwsSolutions-L1",
        *(("AwsSolutions-SF2", "AwsSolutions-IAM5[Resource::*]") if waits else ()),
        *(
            wildcard_resource_finding(provider, f"{function.function_arn}:*")
            for function in (*handlers, *framework_functions)
        ),
    )


def waiting_provider(
    scope: Construct,
    *,
    on_event: lambda_.IFunction,
    is_complete: lambda_.IFunction,
    query_interval: Duration,
    total_timeout: Duration,
    log_key: kms.IKey,
) -> cr.Provider:
    """A Provider (``Provider`` in ``scope``) that polls ``is_complete`` until done or ``total_timeout``.

    Its functions log to a group with a retention (``ProviderLogs``), and its waiter state machine logs every
    event without execution data (``WaiterLogs``), so a stuck deploy can be read afterwards. Both groups are
    encrypted with ``log_key``.
    """
    provider = cr.Provider(
        scope,
        "Provider",
        on_event_handler=on_event,
        is_complete_handler=is_complete,
        query_interval=query_interval,
        total_timeout=total_timeout,
        log_group=encrypted_log_group(scope, "ProviderLogs", encryption_key=log_key),
        disable_waiter_state_machine_logging=False,
        waiter_state_machine_log_options=cr.LogOptions(
            destination=encrypted_log_group(scope, "WaiterLogs", encryption_key=log_key),
            level=sfn.LogLevel.ALL,
            include_execution_data=False,
        ),
    )
    acknowledge_provider_framework(provider, handlers=(on_event, is_complete))
    return provider


def answering_provider(scope: Construct, *, on_event: lambda_.IFunction, log_key: kms.IKey) -> cr.Provider:
    """A Provider (``Provider`` in ``scope``) for a resource whose ``on_event`` answer is final: no waiter.

    Its function logs to a group with a retention (``ProviderLogs``), encrypted with ``log_key``.
    """
    provider = cr.Provider(
        scope,
        "Provider",
        on_event_handler=on_event,
        log_group=encrypted_log_group(scope, "ProviderLogs", encryption_key=log_key),
    )
    acknowledge_provider_framework(provider, handlers=(on_event,), waits=False)
    return provider
