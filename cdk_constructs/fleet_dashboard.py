"""One CloudWatch dashboard for every monitored endpoint of a stage: a fleet summary on top, then a row per endpoint."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from cdk_constructs.drift_metrics import DataQualityMetrics, ViolationMetrics

WIDTH = 24  # the dashboard grid is 24 columns wide
#: CloudWatch's "Dashboard Body Structure and Syntax": an alarm status widget holds 1-100 alarm ARNs, a metric
#: widget's ``metrics`` array 0-100 metrics and expressions (the figure the awsx docs quote; newer pages say 500,
#: 100 is safe either way), and a dashboard 0-500 widgets.
ALARMS_PER_WIDGET = 100
METRICS_PER_GRAPH = 100
WIDGETS_PER_DASHBOARD = 500
#: Widgets in each endpoint's row (``_endpoint_row``), without the builtin engine's run-input graph.
ROW_WIDGETS = 3


def row_widgets(member: FleetMember) -> int:
    return ROW_WIDGETS + (1 if member.run_health else 0)


class DashboardTooLargeError(ValueError):
    """The stage's endpoints need more widgets than one CloudWatch dashboard holds: app.py prints it as one line,
    like a bad setting, since the fix is in the settings (fewer endpoints per stage, or fewer monitored features)."""


@dataclass(frozen=True, kw_only=True)
class FleetMember:
    """What the dashboard shows of one endpoint, all of it literal names (no reference to another stack).

    :param alarm_names: the endpoint's alarms, by name (``MonitoringAlarms`` with ``alarm_name_prefix``).
    :param run_health: what each run of the builtin engine reported about its input. Default: none.
    """

    id: str
    endpoint_name: str
    data_quality: DataQualityMetrics
    violations: ViolationMetrics
    monitored_features: Sequence[str]
    drift_threshold: float
    violation_threshold_percent: float
    alarm_names: Sequence[str]
    #: The builtin engine's run-input metrics (``run_health_metrics``), shown in the endpoint's row. Default: none.
    run_health: Sequence[cloudwatch.IMetric] = ()


class FleetDashboard(Construct):
    """Rows, top to bottom: the alarms of every endpoint ("endpoints in alarm"); the violation percentage of each
    endpoint and their failed executions; then per endpoint its violation percentage, drift per feature,
    invocations and errors, and on the builtin engine what each run reported about its input.

    It names alarms and metrics only (alarm ARNs are built from names with ``format_arn``), so it lives in the
    shared stack and never imports from an endpoint's stacks: adding or removing an endpoint changes this one
    resource and nothing of another endpoint. Invocations are a ``SEARCH`` over the endpoint's name because the
    variant of an endpoint deployed elsewhere is known only at deploy time.
    """

    def __init__(self, scope: Construct, construct_id: str, *, members: Sequence[FleetMember]) -> None:
        super().__init__(scope, construct_id)
        alarm_count = sum(len(member.alarm_names) for member in members)
        widgets = (
            -(-alarm_count // ALARMS_PER_WIDGET)  # alarm status widgets
            + 2 * -(-len(members) // METRICS_PER_GRAPH)  # the two summary graphs, per 100 endpoints
            + sum(row_widgets(member) for member in members)
        )
        if widgets > WIDGETS_PER_DASHBOARD:  # checked first: nothing is built for a dashboard CloudWatch refuses
            raise DashboardTooLargeError(
                f"setting endpoints: {len(members)} endpoints need {widgets} widgets on the fleet dashboard; a "
                f"CloudWatch dashboard holds at most {WIDGETS_PER_DASHBOARD}: split the endpoints over two stages"
            )
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.days(1))
        alarms = [
            cloudwatch.Alarm.from_alarm_arn(
                self,
                f"{member.id}-{name}",
                Stack.of(self).format_arn(
                    service="cloudwatch",
                    resource="alarm",
                    resource_name=name,
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                ),
            )
            for member in members
            for name in member.alarm_names
        ]
        for start in range(0, len(alarms), ALARMS_PER_WIDGET):
            self.dashboard.add_widgets(
                cloudwatch.AlarmStatusWidget(
                    title="Endpoints in alarm" + (f" ({start // ALARMS_PER_WIDGET + 1})" if start else ""),
                    alarms=alarms[start : start + ALARMS_PER_WIDGET],
                    width=WIDTH,
                    height=6,
                    sort_by=cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
                )
            )
        for start in range(0, len(members), METRICS_PER_GRAPH):
            group = members[start : start + METRICS_PER_GRAPH]
            suffix = f" ({start // METRICS_PER_GRAPH + 1})" if start else ""
            self.dashboard.add_widgets(
                cloudwatch.GraphWidget(
                    title="Violated features (%) per endpoint" + suffix,
                    left=[member.violations.metric_violation_percentage().with_(label=member.id) for member in group],
                    left_y_axis=cloudwatch.YAxisProps(min=0, max=100),
                    width=WIDTH // 2,
                ),
                cloudwatch.GraphWidget(
                    title="Failed monitoring executions per endpoint" + suffix,
                    left=[
                        member.violations.metric_execution_failed().with_(label=member.id, statistic="Sum")
                        for member in group
                    ],
                    stacked=True,
                    width=WIDTH // 2,
                ),
            )
        for member in members:
            self.dashboard.add_widgets(*_endpoint_row(member))


def _endpoint_row(member: FleetMember) -> list[cloudwatch.IWidget]:
    width = WIDTH // row_widgets(member)

    def search(metric_name: str) -> str:
        return (
            "SEARCH('{AWS/SageMaker,EndpointName,VariantName} "
            f'EndpointName="{member.endpoint_name}" MetricName="{metric_name}"\', \'Sum\', 300)'
        )

    return [
        cloudwatch.GraphWidget(
            title=f"{member.id}: violated features (%)",
            left=[member.violations.metric_violation_percentage()],
            left_annotations=[
                cloudwatch.HorizontalAnnotation(value=member.violation_threshold_percent, label="retrain threshold")
            ],
            left_y_axis=cloudwatch.YAxisProps(min=0, max=100),
            width=width,
        ),
        cloudwatch.GraphWidget(
            title=f"{member.id}: drift from baseline per feature",
            left=[member.data_quality.metric_drift(feature) for feature in member.monitored_features],
            left_annotations=[cloudwatch.HorizontalAnnotation(value=member.drift_threshold, label="drift threshold")],
            width=width,
        ),
        cloudwatch.GraphWidget(
            title=f"{member.id}: invocations and errors ({member.endpoint_name})",
            left=[
                cloudwatch.MathExpression(expression=search(name), label=name, using_metrics={})
                for name in ("Invocations", "Invocation4XXErrors", "Invocation5XXErrors")
            ],
            width=width,
        ),
        *(
            [
                cloudwatch.GraphWidget(
                    title=f"{member.id}: analysis runs (records, malformed, no data)",
                    left=list(member.run_health),
                    width=width,
                )
            ]
            if member.run_health
            else []
        ),
    ]
