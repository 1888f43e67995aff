"""The per-feature CloudWatch metrics Model Monitor publishes, behind a small publishing interface.

What the prebuilt container emits when ``emit_metrics`` is ``Enabled`` (AWS docs, "CloudWatch Metrics",
``model-monitor-interpreting-cloudwatch``), per feature:

* numerical features: ``feature_data_<feature>``, queried with the statistics Max, Min, Sum, SampleCount and
  Average: published here as one statistic set (SampleCount, Sum, Minimum, Maximum), from which CloudWatch
  derives Average;
* every feature: ``feature_non_null_<feature>`` (completeness, the share of non-null values) and
  ``feature_baseline_drift_<feature>`` (the distribution distance to the baseline), each one value.

Namespace and dimensions are the ones this project's alarms and dashboard already read
(``cdk_constructs/data_quality_monitor.py``): ``aws/sagemaker/Endpoints/data-metrics`` with ``Endpoint`` and
``MonitoringSchedule``. Publishing goes through :class:`MetricPublisher`; tests use
:class:`InMemoryPublisher`, and :class:`CloudWatchPublisher` sits at the edge (boto3 is imported only when it
is created, so the engine's core runs without it).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "DATA_METRICS_NAMESPACE",
    "CloudWatchPublisher",
    "FeatureMetrics",
    "InMemoryPublisher",
    "MetricDatum",
    "MetricPublisher",
    "StatisticSet",
    "metric_data",
]

DATA_METRICS_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
DIMENSION_ENDPOINT = "Endpoint"
DIMENSION_MONITORING_SCHEDULE = "MonitoringSchedule"
#: PutMetricData accepts at most 1000 metrics per request (botocore ``cloudwatch`` model, PutMetricData).
_MAX_METRICS_PER_REQUEST = 1000


@dataclass(frozen=True)
class StatisticSet:
    sample_count: float
    total: float
    minimum: float
    maximum: float


@dataclass(frozen=True)
class FeatureMetrics:
    """What one feature contributes: ``None`` where a metric does not apply (e.g. no drift was computed)."""

    feature: str
    data: StatisticSet | None = None
    non_null: float | None = None
    baseline_drift: float | None = None


@dataclass(frozen=True)
class MetricDatum:
    name: str
    dimensions: tuple[tuple[str, str], ...]
    value: float | None = None
    statistics: StatisticSet | None = None


class MetricPublisher(Protocol):
    """Somewhere metrics go: CloudWatch in production, a list in tests."""

    def publish(self, namespace: str, data: Sequence[MetricDatum]) -> None: ...


def metric_data(
    features: Sequence[FeatureMetrics], *, endpoint_name: str, monitoring_schedule_name: str
) -> list[MetricDatum]:
    """The metrics of an analysis, named and dimensioned as Model Monitor names them. Non-finite values are left
    out (CloudWatch rejects NaN and infinities)."""
    dimensions = ((DIMENSION_ENDPOINT, endpoint_name), (DIMENSION_MONITORING_SCHEDULE, monitoring_schedule_name))
    data: list[MetricDatum] = []
    for feature in features:
        if (
            feature.data is not None
            and all(
                math.isfinite(number) for number in (feature.data.total, feature.data.minimum, feature.data.maximum)
            )
            and feature.data.sample_count > 0
        ):
            data.append(MetricDatum(f"feature_data_{feature.feature}", dimensions, statistics=feature.data))
        if feature.non_null is not None and math.isfinite(feature.non_null):
            data.append(MetricDatum(f"feature_non_null_{feature.feature}", dimensions, value=feature.non_null))
        if feature.baseline_drift is not None and math.isfinite(feature.baseline_drift):
            data.append(
                MetricDatum(f"feature_baseline_drift_{feature.feature}", dimensions, value=feature.baseline_drift)
            )
    return data


@dataclass
class InMemoryPublisher:
    """Keeps what was published, for tests and dry runs."""

    published: list[tuple[str, MetricDatum]] = field(default_factory=list)

    def publish(self, namespace: str, data: Sequence[MetricDatum]) -> None:
        self.published.extend((namespace, datum) for datum in data)

    def values(self) -> dict[str, float | StatisticSet]:
        """Metric name → value or statistic set (the last one published under that name)."""
        result: dict[str, float | StatisticSet] = {}
        for _, datum in self.published:
            if datum.statistics is not None:
                result[datum.name] = datum.statistics
            elif datum.value is not None:
                result[datum.name] = datum.value
        return result


class CloudWatchPublisher:
    """Publishes with ``PutMetricData``, at most 1000 metrics per request. Pass a client, or one is made."""

    def __init__(self, client: Any = None) -> None:
        if client is None:
            import boto3  # the edge: only this class needs AWS

            client = boto3.client("cloudwatch")
        self._client = client

    def publish(self, namespace: str, data: Sequence[MetricDatum]) -> None:
        for chunk in _chunks(list(data), _MAX_METRICS_PER_REQUEST):
            self._client.put_metric_data(Namespace=namespace, MetricData=[_to_cloudwatch(datum) for datum in chunk])


def _to_cloudwatch(datum: MetricDatum) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "MetricName": datum.name,
        "Dimensions": [{"Name": name, "Value": value} for name, value in datum.dimensions],
        "Unit": "None",
    }
    if datum.statistics is not None:
        entry["StatisticValues"] = {
            "SampleCount": datum.statistics.sample_count,
            "Sum": datum.statistics.total,
            "Minimum": datum.statistics.minimum,
            "Maximum": datum.statistics.maximum,
        }
    else:
        entry["Value"] = datum.value
    return entry


def _chunks(items: list[MetricDatum], size: int) -> Iterator[list[MetricDatum]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
