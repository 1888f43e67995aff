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
    "ANALYSIS_SUMMARY_FILE",
    "DATA_METRICS_NAMESPACE",
    "AnalysisSummary",
    "CloudWatchPublisher",
    "FeatureMetrics",
    "InMemoryPublisher",
    "MetricDatum",
    "MetricPublisher",
    "StatisticSet",
    "analysis_summary",
    "metric_data",
    "parse_analysis_summary",
]

DATA_METRICS_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
DIMENSION_ENDPOINT = "Endpoint"
DIMENSION_MONITORING_SCHEDULE = "MonitoringSchedule"
#: What ``analyze --summary`` writes next to the reports: the counts of the run and its per-feature metrics, so that
#: a process other than the analysis (the function that finishes a Processing-job run) publishes exactly what the
#: analysis computed, without reading the capture again.
ANALYSIS_SUMMARY_FILE = "analysis_summary.json"
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


@dataclass(frozen=True)
class AnalysisSummary:
    """What :data:`ANALYSIS_SUMMARY_FILE` holds."""

    analyzed_records: int
    malformed_records: int
    records_outside_window: int
    feature_metrics: tuple[FeatureMetrics, ...]


def analysis_summary(
    *, analyzed_records: int, malformed_records: int, records_outside_window: int, features: Sequence[FeatureMetrics]
) -> dict[str, Any]:
    """The summary document; non-finite numbers become ``null`` (JSON has none, and CloudWatch rejects them)."""
    return {
        "analyzed_records": analyzed_records,
        "malformed_records": malformed_records,
        "records_outside_window": records_outside_window,
        "feature_metrics": [
            {
                "feature": feature.feature,
                "data": None
                if feature.data is None
                else {
                    "sample_count": _finite(feature.data.sample_count),
                    "sum": _finite(feature.data.total),
                    "min": _finite(feature.data.minimum),
                    "max": _finite(feature.data.maximum),
                },
                "non_null": _finite(feature.non_null),
                "baseline_drift": _finite(feature.baseline_drift),
            }
            for feature in features
        ],
    }


def parse_analysis_summary(document: Any, *, source: str) -> AnalysisSummary:
    """Read a summary written by :func:`analysis_summary`.

    Raises:
        ValueError: Not such a document (the message names ``source`` and what is wrong).
    """
    try:
        features = []
        for entry in document["feature_metrics"]:
            data = entry.get("data")
            statistics = None
            if data is not None and None not in (data["sample_count"], data["sum"], data["min"], data["max"]):
                statistics = StatisticSet(
                    sample_count=float(data["sample_count"]),
                    total=float(data["sum"]),
                    minimum=float(data["min"]),
                    maximum=float(data["max"]),
                )
            features.append(
                FeatureMetrics(
                    feature=str(entry["feature"]),
                    data=statistics,
                    non_null=_optional_float(entry.get("non_null")),
                    baseline_drift=_optional_float(entry.get("baseline_drift")),
                )
            )
        return AnalysisSummary(
            analyzed_records=int(document["analyzed_records"]),
            malformed_records=int(document["malformed_records"]),
            records_outside_window=int(document.get("records_outside_window", 0)),
            feature_metrics=tuple(features),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ValueError(f"{source}: not an analysis summary ({type(error).__name__}: {error})") from error


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


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
