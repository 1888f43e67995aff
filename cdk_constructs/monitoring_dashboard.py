"""One CloudWatch dashboard for the endpoint and its monitoring: traffic, latency, errors, resources, drift."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from cdk_constructs.drift_metrics import DataQualityMetrics, ViolationMetrics
from cdk_constructs.endpoint_metrics import EndpointMetrics
from lambdas.violation_metric.metric_names import KNOWN_CHECK_TYPES

WIDTH = 24  # the dashboard grid is 24 columns wide


class MonitoringDashboard(Construct):
    """Rows, top to bottom: alarm states; invocations and errors; latency; instance utilization; drift per
    feature with its threshold; violation percentage and violations per check type; with ``run_health``, what
    each run reported about its input (the builtin engine: records analyzed, malformed lines, hours without data).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint: EndpointMetrics,
        data_quality: DataQualityMetrics,
        violations: ViolationMetrics,
        monitored_features: Sequence[str],
        drift_threshold: float,
        violation_threshold_percent: float,
        alarms: Sequence[cloudwatch.IAlarm],
        run_health: Sequence[cloudwatch.IMetric] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.days(1))
        third = WIDTH // 3
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(alarms), width=WIDTH, height=4)
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Invocations", left=[endpoint.invocations()], width=third),
            cloudwatch.GraphWidget(
                title="Errors (4XX, 5XX)", left=[endpoint.client_errors(), endpoint.server_errors()], width=third
            ),
            cloudwatch.GraphWidget(
                title="Instance utilization (%)",
                left=[
                    endpoint.utilization(name) for name in ("CPUUtilization", "MemoryUtilization", "DiskUtilization")
                ],
                width=third,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="ModelLatency (us)",
                left=[endpoint.model_latency(statistic) for statistic in ("p50", "p90", "p99")],
                width=WIDTH // 2,
            ),
            cloudwatch.GraphWidget(
                title="OverheadLatency (us)",
                left=[endpoint.overhead_latency(statistic) for statistic in ("p50", "p90", "p99")],
                width=WIDTH // 2,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Drift from baseline per feature",
                left=[data_quality.metric_drift(feature) for feature in monitored_features],
                left_annotations=[cloudwatch.HorizontalAnnotation(value=drift_threshold, label="drift threshold")],
                width=WIDTH,
                height=8,
            )
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Violated features (%)",
                left=[violations.metric_violation_percentage()],
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(value=violation_threshold_percent, label="retrain threshold")
                ],
                left_y_axis=cloudwatch.YAxisProps(min=0, max=100),
                width=WIDTH // 2,
            ),
            cloudwatch.GraphWidget(
                title="Constraint violations per check type",
                left=[violations.metric_constraint_violations(check) for check in KNOWN_CHECK_TYPES],
                stacked=True,
                width=WIDTH // 2,
            ),
        )
        if run_health:
            self.dashboard.add_widgets(
                cloudwatch.GraphWidget(
                    title="Analysis runs: records analyzed, malformed capture records, no captured data",
                    left=list(run_health),
                    width=WIDTH,
                )
            )
