"""Starts the retrain pipeline once per drift episode: when the violation alarm enters ALARM."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from cdk_constructs.dead_letter_queue import dead_letter_queue


def alarm_entered_alarm_pattern(alarm: cloudwatch.IAlarm) -> events.EventPattern:
    """CloudWatch sends "Alarm State Change" only when the state changes, so this matches the transition
    into ALARM and nothing while the alarm stays there (hourly executions that keep violating included)."""
    return events.EventPattern(
        source=["aws.cloudwatch"],
        detail_type=["CloudWatch Alarm State Change"],
        resources=[alarm.alarm_arn],
        detail={"state": {"value": ["ALARM"]}},
    )


class RetrainTrigger(Construct):
    """An EventBridge rule on ``alarm`` entering ALARM whose target starts ``pipeline``.

    The rule's role may do exactly one thing: ``codepipeline:StartPipelineExecution`` on that pipeline.
    Deliveries that fail after retries land in a dead-letter queue instead of vanishing, encrypted with
    ``dead_letter_key`` (EventBridge is allowed to use it, see ``dead_letter_queue``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        alarm: cloudwatch.IAlarm,
        pipeline: codepipeline.IPipeline,
        dead_letter_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "StartPipelineRole",
            assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
            description="Lets the drift rule start the retrain pipeline, and nothing else",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["codepipeline:StartPipelineExecution"], resources=[pipeline.pipeline_arn])
        )
        self.dead_letter_queue = dead_letter_queue(
            self,
            "UndeliveredStarts",
            encryption_key=dead_letter_key,
            rule_description="the retrain rule",
            retention_period=Duration.days(4),  # SQS's default, kept
        )
        self.rule = events.Rule(
            self,
            "OnDrift",
            description="The violation percentage crossed its threshold: retrain",
            event_pattern=alarm_entered_alarm_pattern(alarm),
            targets=[
                targets.CodePipeline(
                    pipeline,
                    event_role=self.role,
                    retry_attempts=8,
                    max_event_age=Duration.hours(6),
                    dead_letter_queue=self.dead_letter_queue,
                )
            ],
        )
