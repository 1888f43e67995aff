"""Holds CloudFormation until a monitoring schedule leaves ``Pending``, so ``cdk destroy`` never sticks on it."""

from __future__ import annotations

from aws_cdk import CustomResource, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from cdk_constructs.function_logging import FunctionLogging
from cdk_constructs.lambda_package import package_code
from cdk_constructs.nag import acknowledge_unreserved_concurrency
from cdk_constructs.provider_framework import waiting_provider

RUNTIME = lambda_.Runtime.PYTHON_3_14


class ScheduleGuard(Construct):
    """A custom resource that depends on ``schedule`` and waits for it to be ``Scheduled`` (or ``Stopped``).

    SageMaker refuses ``DeleteMonitoringSchedule`` while a schedule is ``Pending`` (as it may be for minutes
    after creation), which leaves a ``cdk destroy`` in DELETE_FAILED. Because the guard depends on the schedule,
    CloudFormation creates it after the schedule and deletes it before: on create it waits until the schedule
    runs (a ``Failed`` schedule fails the deploy with its reason), on delete it waits until the schedule can
    be deleted. Runtime code: ``lambdas/schedule_guard``.

    :param log_key: encrypts the log groups of its functions.
    :param timeout: the longest CloudFormation waits. Default: 30 minutes.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        schedule: sagemaker.CfnMonitoringSchedule,
        schedule_name: str,
        log_key: kms.IKey,
        timeout: Duration | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        logging = FunctionLogging(
            self, "Logging", description="Waits for a monitoring schedule to leave Pending", encryption_key=log_key
        )
        schedule_arn = Stack.of(self).format_arn(
            service="sagemaker", resource="monitoring-schedule", resource_name=schedule_name.lower()
        )
        logging.role.add_to_policy(
            iam.PolicyStatement(actions=["sagemaker:DescribeMonitoringSchedule"], resources=[schedule_arn])
        )
        handlers = [
            lambda_.Function(
                self,
                name,
                description=description,
                runtime=RUNTIME,
                handler=f"schedule_guard.handler.{entry_point}",
                code=package_code("schedule_guard"),
                timeout=Duration.seconds(30),
                role=logging.role,
                log_group=logging.log_group,
            )
            for name, entry_point, description in (
                ("OnEvent", "on_event", "Names the schedule guard"),
                ("IsComplete", "is_complete", "Reports whether the monitoring schedule has left Pending"),
            )
        ]
        for handler in handlers:
            acknowledge_unreserved_concurrency(handler)
        provider = waiting_provider(
            self,
            on_event=handlers[0],
            is_complete=handlers[1],
            query_interval=Duration.seconds(30),
            total_timeout=timeout or Duration.minutes(30),
            log_key=log_key,
        )
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type="Custom::MonitoringScheduleGuard",
            properties={"ScheduleName": schedule_name},
        )
        # The schedule's name is a literal, so the dependency must be stated: created after, deleted before.
        self.resource.node.add_dependency(schedule)
