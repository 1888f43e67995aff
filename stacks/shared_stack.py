"""The shared stack of a stage with several endpoints: the one alerts topic and the one dashboard."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import CfnOutput, Fn, Stack
from constructs import Construct

from cdk_constructs.alerts_topic import AlertsTopic
from cdk_constructs.dead_letter_queue import allow_eventbridge_dead_letters
from cdk_constructs.fleet_dashboard import FleetDashboard, FleetMember
from settings import Settings
from stacks.monitoring_stack import SharedAlerts


class SharedStack(Stack):
    """What every endpoint of a stage with ``endpoints`` shares: the alerts topic (with its key, which also
    encrypts each monitoring stack's dead-letter queues) and the fleet dashboard.

    The topic and key leave this stack as explicit exports with fixed names, imported by name: adding or removing
    an endpoint never changes this stack's outputs, and it imports nothing from the endpoints' stacks (the
    dashboard names their alarms and metrics), so each endpoint's stacks depend on this one only and deploy in
    parallel with the other endpoints' (``cdk deploy --all --concurrency N``).
    """

    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.alerts = AlertsTopic(self, "Alerts", emails=settings.alert_emails)
        # The monitoring stacks' dead-letter queues use this key by import, which cannot change its policy.
        allow_eventbridge_dead_letters(self.alerts.key)
        topic_export = f"{settings.stack_prefix}-alerts-topic"
        key_export = f"{settings.stack_prefix}-alerts-key"
        CfnOutput(self, "AlertsTopicArn", value=self.alerts.topic.topic_arn, export_name=topic_export)
        CfnOutput(self, "AlertsKeyArn", value=self.alerts.key.key_arn, export_name=key_export)
        #: What each monitoring stack receives: the exports, by name.
        self.shared_alerts = SharedAlerts(topic_arn=Fn.import_value(topic_export), key_arn=Fn.import_value(key_export))
        self.dashboard: FleetDashboard | None = None

    def add_dashboard(self, members: Sequence[FleetMember]) -> FleetDashboard:
        """The fleet dashboard, added once every endpoint's monitoring is built (it shows their alarms by name)."""
        self.dashboard = FleetDashboard(self, "Dashboard", members=members)
        CfnOutput(self, "DashboardName", value=self.dashboard.dashboard.dashboard_name)
        return self.dashboard
