"""Publish the function's metrics as CloudWatch Embedded Metric Format through Powertools.

Every data point carries exactly ``Endpoint`` and ``MonitoringSchedule`` (plus ``ConstraintCheckType`` on
``CONSTRAINT_VIOLATIONS``): the dimension set the alarms and the dashboard query. EMF gives one set of
dimension values per JSON document, so the execution-level metrics share the handler's ``Metrics`` document
(flushed by ``log_metrics`` at the end of the invocation) and each check type gets a document of its own,
printed at once.
"""

from dataclasses import dataclass

from aws_lambda_powertools.metrics import EphemeralMetrics, Metrics

from .metric_names import (
    CONSTRAINT_VIOLATIONS,
    DIMENSION_CONSTRAINT_CHECK_TYPE,
    DIMENSION_ENDPOINT,
    DIMENSION_MONITORING_SCHEDULE,
    EXECUTION_FAILED,
    METRIC_UNITS,
    MONITORED_FEATURES,
    REPORT_ERRORS,
    VIOLATED_FEATURES,
    VIOLATION_PERCENTAGE,
)
from .violations import ViolationSummary

__all__ = ["MetricTarget", "publish_execution_failed", "publish_report_error", "publish_summary"]


@dataclass(frozen=True)
class MetricTarget:
    """Where the data points go: the namespace and the values of the two common dimensions.

    ``processing_job_name`` travels as EMF metadata (searchable in the logs, not a dimension).
    """

    namespace: str
    endpoint_name: str
    monitoring_schedule_name: str
    processing_job_name: str

    def dimensions(self) -> dict[str, str]:
        """The common dimensions, by name."""
        return {
            DIMENSION_ENDPOINT: self.endpoint_name,
            DIMENSION_MONITORING_SCHEDULE: self.monitoring_schedule_name,
        }


def publish_execution_failed(metrics: Metrics, target: MetricTarget) -> None:
    """The execution ended Failed or Stopped: ``EXECUTION_FAILED=1`` and nothing else."""
    _add_dimensions(metrics, target)
    _add(metrics, EXECUTION_FAILED, 1)


def publish_report_error(metrics: Metrics, target: MetricTarget) -> None:
    """The execution Completed but its report is unusable: ``REPORT_ERRORS=1``, ``EXECUTION_FAILED=0``.

    No ``VIOLATION_PERCENTAGE`` is published: a 0 would claim a clean result nobody measured.
    """
    _add_dimensions(metrics, target)
    _add(metrics, EXECUTION_FAILED, 0)
    _add(metrics, REPORT_ERRORS, 1)


def publish_summary(metrics: Metrics, target: MetricTarget, summary: ViolationSummary) -> None:
    """The execution Completed and its report was read: every metric, including the zeros."""
    _add_dimensions(metrics, target)
    _add(metrics, VIOLATION_PERCENTAGE, summary.violation_percentage)
    _add(metrics, VIOLATED_FEATURES, summary.violated_feature_count)
    _add(metrics, MONITORED_FEATURES, summary.monitored_features)
    _add(metrics, EXECUTION_FAILED, 0)
    _add(metrics, REPORT_ERRORS, 0)
    for check_type, count in summary.violations_by_check_type.items():
        # service="" keeps Powertools from adding a "service" dimension taken from
        # POWERTOOLS_SERVICE_NAME (see handler.py).
        document = EphemeralMetrics(namespace=target.namespace, service="")
        _add_dimensions(document, target)
        document.add_dimension(name=DIMENSION_CONSTRAINT_CHECK_TYPE, value=check_type)
        _add(document, CONSTRAINT_VIOLATIONS, count)
        document.flush_metrics(raise_on_empty_metrics=True)


def _add_dimensions(metrics: Metrics | EphemeralMetrics, target: MetricTarget) -> None:
    for name, value in target.dimensions().items():
        metrics.add_dimension(name=name, value=value)
    metrics.add_metadata(key="ProcessingJobName", value=target.processing_job_name)


def _add(metrics: Metrics | EphemeralMetrics, name: str, value: float) -> None:
    metrics.add_metric(name=name, unit=METRIC_UNITS[name], value=value)
