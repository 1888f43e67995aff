"""Checks of a current profile against a baseline: ``constraint_violations.json`` and the feature metrics.

The six data-quality check types of the prebuilt container (AWS docs, "Schema for Violations"), as this engine
evaluates them; the thresholds are the feature's effective ``monitoring_config`` (global, then overrides):

* ``data_type_check``: the share of non-null values of the baseline's type is below
  ``datatype_check_threshold`` (Deequ's ``dataTypeConstraint`` ratio, which ignores nulls). ``Integral`` counts
  integral-looking values; ``Fractional`` counts numbers of either kind (an integer is a valid fractional
  value); ``String`` accepts every value.
* ``completeness_check``: the share of non-null values is below the feature's ``completeness``.
* ``baseline_drift_check``: with ``perform_comparison`` enabled, the distance between the baseline's and the
  current distribution exceeds ``comparison_threshold`` (numerical: Deequ's KLL L∞ distance, corrected for
  sample sizes when ``comparison_method`` is ``Robust``) or ``categorical_comparison_threshold``
  (categorical, ``categorical_drift_method`` ``LInfinity``: L∞ over category frequencies with the same
  correction; ``ChiSquared``: Deequ's regrouped chi-square test, whose p-value is the distance under
  ``Robust`` and a violation when it falls *below* the threshold, its statistic under ``Simple``).
* ``categorical_values_check``: the share of non-null values inside ``string_constraints.domains`` is below
  ``domain_content_threshold``.
* ``missing_column_check``: a baseline feature the current data lacks; ``extra_column_check``: a current
  column the baseline lacks. One violation per column, named after it.

``evaluate_constraints`` ``Disabled`` skips a feature's checks; ``emit_metrics`` ``Disabled`` leaves out its
metrics.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from . import descriptions
from .constraints import FeatureConstraints, ParsedConstraints
from .kll import DEFAULT_C_ALPHA, numerical_distance, robust_correction
from .metrics import FeatureMetrics, StatisticSet
from .profile import ColumnProfile, DatasetProfile
from .statistics import BaselineFeature, BaselineStatistics, statistics_document

__all__ = ["Analysis", "Violation", "analyze_profile", "categorical_distance"]

NUMERIC_TYPES = ("Integral", "Fractional")


@dataclass(frozen=True)
class Violation:
    feature_name: str
    constraint_check_type: str
    description: str

    def to_json(self) -> dict[str, str]:
        return {
            "feature_name": self.feature_name,
            "constraint_check_type": self.constraint_check_type,
            "description": self.description,
        }


@dataclass(frozen=True)
class Analysis:
    """The result of one analysis: the three outputs and what the run could not read."""

    statistics: dict[str, Any]
    violations: tuple[Violation, ...]
    feature_metrics: tuple[FeatureMetrics, ...]
    distances: Mapping[str, float] = field(default_factory=dict)
    malformed_records: int = 0
    records_outside_window: int = 0

    def violations_document(self) -> dict[str, Any]:
        return {"violations": [violation.to_json() for violation in self.violations]}


def analyze_profile(current: DatasetProfile, baseline: BaselineStatistics, constraints: ParsedConstraints) -> Analysis:
    """Check a merged current profile against a baseline's statistics and constraints."""
    baseline_features = baseline.by_name()
    violations: list[Violation] = []
    metrics: list[FeatureMetrics] = []
    distances: dict[str, float] = {}
    expected_names = [feature.name for feature in constraints.features] or [
        feature.name for feature in baseline.features
    ]
    constraint_by_name = constraints.by_name()
    for name in expected_names:
        column = current.columns.get(name)
        if column is None:
            continue
        feature = constraint_by_name.get(name)
        config = feature.config if feature is not None else constraints.config
        distance = _distance(name, column, baseline_features.get(name), feature, constraints)
        if distance is not None:
            distances[name] = distance
        completeness = column.present / current.item_count if current.item_count else float("nan")
        if config.emit_metrics:
            metrics.append(
                FeatureMetrics(
                    feature=name,
                    data=StatisticSet(
                        sample_count=float(column.numeric_count),
                        total=column.total.to_float(),
                        minimum=column.minimum,
                        maximum=column.maximum,
                    )
                    if column.numeric_count and column.minimum is not None and column.maximum is not None
                    else None,
                    non_null=completeness,
                    baseline_drift=distance,
                )
            )
        if feature is not None and config.evaluate_constraints:
            violations.extend(_feature_violations(name, column, feature, completeness, distance))
    baseline_names = set(expected_names)
    current_count, baseline_count = len(current.columns), len(expected_names)
    violations.extend(
        Violation(name, "missing_column_check", descriptions.missing_column(current_count, baseline_count))
        for name in expected_names
        if name not in current.columns
    )
    violations.extend(
        Violation(name, "extra_column_check", descriptions.extra_column(current_count, baseline_count))
        for name in current.columns
        if name not in baseline_names
    )
    # The current statistics list the baseline's features in the baseline's order, then any new column.
    ordered = DatasetProfile(
        item_count=current.item_count,
        columns={
            **{name: current.columns[name] for name in expected_names if name in current.columns},
            **{name: column for name, column in current.columns.items() if name not in baseline_names},
        },
    )
    return Analysis(
        statistics=statistics_document(ordered),
        violations=tuple(violations),
        feature_metrics=tuple(metrics),
        distances=distances,
        malformed_records=current.malformed,
        records_outside_window=current.records_outside_window,
    )


def _feature_violations(
    name: str, column: ColumnProfile, feature: FeatureConstraints, completeness: float, distance: float | None
) -> list[Violation]:
    config = feature.config
    found: list[Violation] = []
    expected_type = feature.inferred_type
    if expected_type in (*NUMERIC_TYPES, "String") and column.present:
        if expected_type == "Integral":
            matching = column.integral
        elif expected_type == "Fractional":
            matching = column.integral + column.fractional
        else:
            matching = column.present
        ratio = matching / column.present
        if ratio < config.datatype_check_threshold:
            found.append(
                Violation(
                    name,
                    "data_type_check",
                    descriptions.data_type(expected_type, config.datatype_check_threshold, ratio),
                )
            )
    if feature.completeness is not None and not math.isnan(completeness) and completeness < feature.completeness:
        found.append(
            Violation(name, "completeness_check", descriptions.completeness(feature.completeness, completeness))
        )
    if distance is not None and config.perform_comparison and not math.isnan(distance):
        if expected_type in NUMERIC_TYPES:
            if distance > config.comparison_threshold:
                found.append(
                    Violation(
                        name,
                        "baseline_drift_check",
                        descriptions.numerical_drift(distance, config.comparison_threshold),
                    )
                )
        else:
            threshold = config.categorical_comparison_threshold
            chi_p_value = config.categorical_drift_method == "ChiSquared" and config.comparison_method == "Robust"
            if (distance < threshold) if chi_p_value else (distance > threshold):
                found.append(
                    Violation(
                        name,
                        "baseline_drift_check",
                        descriptions.categorical_drift(distance, threshold, config.categorical_drift_method),
                    )
                )
    if feature.domains is not None and column.in_domain is not None and column.present:
        ratio = column.in_domain / column.present
        if ratio < config.domain_content_threshold:
            found.append(
                Violation(
                    name,
                    "categorical_values_check",
                    descriptions.categorical_values(config.domain_content_threshold, ratio),
                )
            )
    return found


def _distance(
    name: str,
    column: ColumnProfile,
    baseline: BaselineFeature | None,
    feature: FeatureConstraints | None,
    constraints: ParsedConstraints,
) -> float | None:
    """The distance to the baseline's distribution, or ``None`` when either side has none to compare."""
    if baseline is None:
        return None
    config = feature.config if feature is not None else constraints.config
    robust = config.comparison_method == "Robust"
    expected_type = feature.inferred_type if feature is not None else baseline.inferred_type
    if expected_type in NUMERIC_TYPES:
        if baseline.sample is None or baseline.sample.items.size == 0 or column.sketch is None:
            return None
        return numerical_distance(baseline.sample, column.weighted_sample(), robust=robust)
    if baseline.categories and column.categories:
        return categorical_distance(
            {value: float(count) for value, count in column.categories.items()},
            baseline.categories,
            method=config.categorical_drift_method,
            robust=robust,
        )
    return None


def categorical_distance(
    current: Mapping[str, float], expected: Mapping[str, float], *, method: str, robust: bool
) -> float:
    """Deequ's ``Distance.categoricalDistance`` with ``correctForLowNumberOfSamples = not robust``."""
    if method == "ChiSquared":
        return _chi_square(dict(current), dict(expected), robust=robust)
    n = sum(current.values())
    m = sum(expected.values())
    if n == 0 or m == 0:
        return float("nan")
    linf = max(abs(current.get(key, 0.0) / n - expected.get(key, 0.0) / m) for key in set(current) | set(expected))
    return robust_correction(linf, n, m, DEFAULT_C_ALPHA) if robust else linf


def _chi_square(sample: dict[str, float], expected: dict[str, float], *, robust: bool) -> float:
    """Deequ's ``categoricalChiSquareTest``: expected scaled to the sample, small categories regrouped (Yates for
    more than two categories, Cochran for two), then Pearson's test; p-value when robust, statistic otherwise."""
    from scipy.stats import chi2  # imported only for the ChiSquared method

    sample_sum = sum(count for key, count in sample.items() if key in expected)
    expected_sum = sum(expected.values())
    if expected_sum == 0:
        return float("nan")
    expected = {key: count / expected_sum * sample_sum for key, count in expected.items()}
    while len(expected) >= 2:
        if len(expected) > 2:
            threshold, allowed_below = 5.0, int(0.2 * len(expected))
        else:
            threshold, allowed_below = 10.0, 0
        if sum(1 for count in expected.values() if count < threshold) <= allowed_below:
            break
        smallest = min(expected, key=lambda key: expected[key])
        smallest_count = expected.pop(smallest)
        smallest_sample = sample.pop(smallest, 0.0)
        second = min(expected, key=lambda key: expected[key])
        expected[second] += smallest_count
        sample[second] = sample.get(second, 0.0) + smallest_sample
    if len(expected) < 2:
        return float("nan")
    statistic = sum((sample.get(key, 0.0) - count) ** 2 / count for key, count in expected.items() if count > 0)
    if not robust:
        return statistic
    return float(chi2.sf(statistic, len(expected) - 1))
