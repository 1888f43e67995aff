"""Where drift and violation metrics live, as plain values: the contract between an engine and its alarms.

Alarms and the dashboard read metrics by namespace, name and dimensions, never by the resource that publishes
them. Model Monitor's schedule (``DataQualityMonitor`` with ``ViolationMetric``) and the project's own engine
(``BuiltinDriftAnalysis``) each describe what they publish with these two value objects, so the alarms, the
dashboard and the retrain trigger are built the same way on either engine.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from lambdas.violation_metric import metric_names

#: Where Model Monitor publishes data-quality metrics, and their dimensions (AWS documentation, "CloudWatch
#: Metrics for Data and Model Quality").
DATA_METRICS_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"

#: Where the violation percentage and the monitoring-health metrics are published by default.
VIOLATION_METRICS_NAMESPACE = "ModelMonitorAsCode"


@dataclass(frozen=True, kw_only=True)
class DataQualityMetrics:
    """The per-feature metrics of one monitored endpoint and schedule (``feature_<kind>_<feature>``).

    :param endpoint_name: value of the ``Endpoint`` dimension.
    :param schedule_name: value of the ``MonitoringSchedule`` dimension.
    :param namespace: Default: Model Monitor's ``aws/sagemaker/Endpoints/data-metrics``.
    """

    endpoint_name: str
    schedule_name: str
    namespace: str = DATA_METRICS_NAMESPACE

    def metric_feature(
        self, kind: str, feature: str, *, period: Duration | None = None, statistic: str = "Maximum"
    ) -> cloudwatch.Metric:
        """One per-feature metric: ``kind`` is ``baseline_drift``, ``non_null`` or ``data``.

        ``feature_baseline_drift_<feature>`` is the distance between the baseline's distribution and the
        execution's; it is published once per execution, so the default period is the hour.
        """
        return cloudwatch.Metric(
            namespace=self.namespace,
            metric_name=f"feature_{kind}_{feature}",
            dimensions_map={
                metric_names.DIMENSION_ENDPOINT: self.endpoint_name,
                metric_names.DIMENSION_MONITORING_SCHEDULE: self.schedule_name,
            },
            statistic=statistic,
            period=period or Duration.hours(1),
            label=f"{feature} {kind.replace('_', ' ')}",
        )

    def metric_drift(self, feature: str) -> cloudwatch.Metric:
        return self.metric_feature("baseline_drift", feature)


@dataclass(frozen=True, kw_only=True)
class ViolationMetrics:
    """The violation percentage and monitoring-health metrics of one endpoint and schedule.

    Names and dimensions come from ``lambdas/violation_metric/metric_names.py``, which the publishing code
    imports too.

    :param endpoint_name: value of the ``Endpoint`` dimension.
    :param schedule_name: value of the ``MonitoringSchedule`` dimension.
    :param namespace: Default: ``ModelMonitorAsCode``.
    """

    endpoint_name: str
    schedule_name: str
    namespace: str = VIOLATION_METRICS_NAMESPACE

    def metric(
        self,
        metric_name: str,
        *,
        statistic: str = "Maximum",
        period: Duration | None = None,
        extra_dimensions: dict[str, str] | None = None,
    ) -> cloudwatch.Metric:
        """A metric of this namespace. Maximum by default: an execution may be reported twice."""
        return cloudwatch.Metric(
            namespace=self.namespace,
            metric_name=metric_name,
            dimensions_map={
                metric_names.DIMENSION_ENDPOINT: self.endpoint_name,
                metric_names.DIMENSION_MONITORING_SCHEDULE: self.schedule_name,
                **(extra_dimensions or {}),
            },
            statistic=statistic,
            period=period or Duration.hours(1),
            label=metric_name,
        )

    def metric_violation_percentage(self) -> cloudwatch.Metric:
        """Distinct violated features / monitored features x 100, of the latest execution in the period."""
        return self.metric(metric_names.VIOLATION_PERCENTAGE)

    def metric_execution_failed(self) -> cloudwatch.Metric:
        return self.metric(metric_names.EXECUTION_FAILED)

    def metric_report_errors(self) -> cloudwatch.Metric:
        return self.metric(metric_names.REPORT_ERRORS)

    def metric_constraint_violations(self, check_type: str) -> cloudwatch.Metric:
        return self.metric(
            metric_names.CONSTRAINT_VIOLATIONS,
            extra_dimensions={metric_names.DIMENSION_CONSTRAINT_CHECK_TYPE: check_type},
        )
