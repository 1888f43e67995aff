"""The alarms that tell people the data drifted, the endpoint suffers, or monitoring itself broke."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from cdk_constructs.drift_metrics import DataQualityMetrics, ViolationMetrics
from cdk_constructs.endpoint_metrics import EndpointMetrics


class MonitoringAlarms(Construct):
    """Alarms on drift per feature, endpoint health, failed executions and the violation percentage.

    Every alarm notifies ``topic`` when it fires and when it recovers. How missing data is treated is chosen
    per alarm, with the reason beside it: Model Monitor publishes once per execution, the endpoint only when
    it is invoked, and "no data" means something different for each.

    :param data_quality: the per-feature metrics the engine publishes.
    :param violations: the violation percentage and health metrics of each run.
    :param monitored_features: a drift alarm per feature (``feature_baseline_drift_<feature>``).
    :param drift_threshold: distance from the baseline above which a feature has drifted.
    :param latency_p99_threshold: p99 ``ModelLatency`` above which the endpoint is too slow.
    :param server_errors_threshold: 5XX errors in five minutes that alarm.
    :param violation_threshold_percent: violated features / monitored features x 100 that alarms.
    :param failed_runs: runs that failed for good (a dead-letter queue's depth): alarms from one. Default: none,
        for an engine whose failures ``ExecutionFailed`` already reports.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic: sns.ITopic,
        endpoint: EndpointMetrics,
        data_quality: DataQualityMetrics,
        violations: ViolationMetrics,
        monitored_features: Sequence[str],
        drift_threshold: float,
        latency_p99_threshold: Duration,
        server_errors_threshold: int,
        violation_threshold_percent: float,
        failed_runs: cloudwatch.Metric | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if not 0 <= violation_threshold_percent <= 100:
            raise ValueError(f"violation_threshold_percent must be from 0 to 100, got {violation_threshold_percent}")
        if not monitored_features:
            raise ValueError("monitored_features must name at least one feature, got none")
        self._action = cw_actions.SnsAction(topic)

        # Drift is measured once per execution. An hour without a datapoint (no traffic, a failed run) says
        # nothing about drift, so the alarm keeps its state instead of flapping back to OK.
        self.drift_alarms = {
            feature: self._alarm(
                f"Drift{index}",
                data_quality.metric_drift(feature),
                description=f"Feature {feature} drifted from the baseline by more than {drift_threshold}",
                threshold=drift_threshold,
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                missing=cloudwatch.TreatMissingData.IGNORE,
            )
            for index, feature in enumerate(monitored_features)
        }

        # An endpoint that is not invoked has no errors and no latency: missing data is good news.
        self.server_errors_alarm = self._alarm(
            "ServerErrors",
            endpoint.server_errors(),
            description=f"{server_errors_threshold} or more 5XX errors in five minutes",
            threshold=server_errors_threshold,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            missing=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        latency_us = int(latency_p99_threshold.to_milliseconds() * 1000)  # ModelLatency is in microseconds
        self.latency_alarm = self._alarm(
            "ModelLatencyP99",
            endpoint.model_latency("p99"),
            description=f"p99 ModelLatency above {latency_p99_threshold.to_milliseconds()} ms in 2 of 3 periods",
            threshold=latency_us,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            missing=cloudwatch.TreatMissingData.NOT_BREACHING,
            evaluation_periods=3,
            datapoints_to_alarm=2,
        )

        # The violation-metric function reports every execution that ends; silence means no execution ended,
        # which the failure alarm cannot tell from a healthy hour, so missing data does not breach here.
        self.execution_failed_alarm = self._alarm(
            "ExecutionFailed",
            violations.metric_execution_failed(),
            description="A monitoring execution failed or was stopped",
            threshold=1,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            missing=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.report_errors_alarm = self._alarm(
            "ReportUnreadable",
            violations.metric_report_errors(),
            description="A monitoring execution's violations report was missing or unreadable",
            threshold=1,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            missing=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        # Like drift: published once per execution, and the state must survive the hours between them so
        # that the retrain starts once per drift episode (the rule reacts to the transition into ALARM).
        self.violation_alarm = self._alarm(
            "ViolationPercentage",
            violations.metric_violation_percentage(),
            description=f"{violation_threshold_percent}% or more of the monitored features violated their constraints",
            threshold=violation_threshold_percent,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            missing=cloudwatch.TreatMissingData.IGNORE,
        )

        # A run that failed after every retry, or that the scheduler could not deliver, leaves an event in the
        # queue; an empty queue publishes zeros, so missing data means nothing to report.
        self.failed_runs_alarm = (
            self._alarm(
                "FailedRuns",
                failed_runs,
                description="An analysis run failed after its retries or was not delivered: see the dead-letter queue",
                threshold=1,
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                missing=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            if failed_runs is not None
            else None
        )

    @property
    def all_alarms(self) -> list[cloudwatch.Alarm]:
        return [
            *self.drift_alarms.values(),
            self.server_errors_alarm,
            self.latency_alarm,
            self.execution_failed_alarm,
            self.report_errors_alarm,
            self.violation_alarm,
            *([self.failed_runs_alarm] if self.failed_runs_alarm else []),
        ]

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.Metric,
        *,
        description: str,
        threshold: float,
        comparison: cloudwatch.ComparisonOperator,
        missing: cloudwatch.TreatMissingData,
        evaluation_periods: int = 1,
        datapoints_to_alarm: int | None = None,
    ) -> cloudwatch.Alarm:
        alarm = metric.create_alarm(
            self,
            construct_id,
            alarm_description=description,
            threshold=threshold,
            comparison_operator=comparison,
            treat_missing_data=missing,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints_to_alarm,
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        return alarm
