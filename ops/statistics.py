"""Read Model Monitor data-quality ``statistics.json`` and ``constraints.json`` for the report. Pure: no AWS, no I/O.

The report compares two ``statistics.json`` files (the baseline's and an execution's) feature by feature, so
it needs the per-feature numbers and the distribution, and nothing else::

    {"version": 0.0, "dataset": {"item_count": 100},
     "features": [{"name": "fare", "inferred_type": "Fractional",
                   "numerical_statistics": {"common": {"num_present": 99, "num_missing": 1},
                                            "mean": 2.3, "std_dev": 0.8, "min": 1.0, "max": 3.0,
                                            "distribution": {"kll": {"buckets": [{"lower_bound": 1.0,
                                                                                  "upper_bound": 1.2,
                                                                                  "count": 24.0}, ...],
                                                                     "sketch": {...}}}}},
                  {"name": "flag", "inferred_type": "String",
                   "string_statistics": {"common": {...}, "distinct_count": 2.0,
                                         "distribution": {"categorical": {"buckets": [{"value": "N",
                                                                                       "count": 97}, ...]}}}}]}

Why the parser is lenient, and where it is not:

* Analyzer versions differ. Newer ones add keys (``approximate_num_distinct_values`` and ``completeness`` in
  both statistics blocks); high-cardinality strings have no ``distribution`` at all; the KLL ``sketch.data``
  may hold several levels of samples. Unknown keys are ignored, missing numbers become ``None`` and a missing
  distribution becomes an empty one, so every such file renders.
* The KLL ``buckets`` are the analyzer's own histogram of the sketch; they are all a plot needs, so the
  sketch itself is not read.
* Numbers the analyzer cannot compute are written as the string ``"NaN"``; those, and any non-finite value,
  read as ``None`` (unknown), never as a number.
* What is not a data-quality statistics file at all (not JSON, no ``features`` list, as in a model-quality
  report, or a feature without a name) raises :class:`StatisticsError` naming the file: rendering it as "no
  features" would hide the mistake.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from lambdas.violation_metric.violations import load_json_object

__all__ = [
    "Bucket",
    "CategoryCount",
    "DatasetStatistics",
    "FeatureConstraint",
    "FeatureStatistics",
    "StatisticsError",
    "parse_constraints",
    "parse_statistics",
]

FeatureKind = Literal["numerical", "string", "unknown"]


class StatisticsError(ValueError):
    """A statistics or constraints file cannot be read; the message names the file and the problem."""


@dataclass(frozen=True)
class Bucket:
    """One KLL histogram bucket: ``count`` values in ``[lower, upper]``."""

    lower: float
    upper: float
    count: float


@dataclass(frozen=True)
class CategoryCount:
    """One categorical bucket: how often a string value occurred."""

    value: str
    count: float


@dataclass(frozen=True)
class FeatureStatistics:
    """What one ``statistics.json`` says about one feature.

    Attributes:
        name: The column name.
        inferred_type: ``Integral``, ``Fractional``, ``String`` or ``Unknown`` as written (``None`` if absent).
        kind: ``numerical`` (a ``numerical_statistics`` block), ``string`` (``string_statistics``) or
            ``unknown`` (neither: an analyzer that could not type the column).
        num_present, num_missing: From ``common``; ``None`` when absent.
        mean, std_dev, minimum, maximum: Numerical features only; ``None`` when absent or not a number.
        distinct_count: String features only (approximate: it may exceed the item count).
        buckets: The KLL histogram, sorted by lower bound; empty when there is none.
        categories: The categorical histogram in file order; empty for high-cardinality strings.
    """

    name: str
    inferred_type: str | None
    kind: FeatureKind
    num_present: float | None = None
    num_missing: float | None = None
    mean: float | None = None
    std_dev: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    distinct_count: float | None = None
    buckets: tuple[Bucket, ...] = ()
    categories: tuple[CategoryCount, ...] = ()

    @property
    def completeness(self) -> float | None:
        """Share of rows with a value, from ``num_present`` / ``num_missing``; ``None`` when unknown."""
        if self.num_present is None or self.num_missing is None:
            return None
        total = self.num_present + self.num_missing
        return self.num_present / total if total > 0 else None


@dataclass(frozen=True)
class DatasetStatistics:
    """A whole ``statistics.json``: the row count and the features in file order."""

    item_count: float | None
    features: tuple[FeatureStatistics, ...]

    def by_name(self) -> dict[str, FeatureStatistics]:
        """The features keyed by name (a repeated name keeps its first entry)."""
        named: dict[str, FeatureStatistics] = {}
        for feature in self.features:
            named.setdefault(feature.name, feature)
        return named


@dataclass(frozen=True)
class FeatureConstraint:
    """What the baseline ``constraints.json`` demands of one feature, for display next to the plots.

    Attributes:
        name: The column name.
        inferred_type: The type every value must have (``data_type_check``).
        completeness: The share of rows that must have a value (``completeness_check``), or ``None``.
        non_negative: ``num_constraints.is_non_negative``, or ``None`` when not stated.
        domain_size: Number of allowed values in ``string_constraints.domains`` (``categorical_values_check``),
            or ``None`` when the feature has no domain.
    """

    name: str
    inferred_type: str | None
    completeness: float | None = None
    non_negative: bool | None = None
    domain_size: int | None = None

    def describe(self) -> str:
        """One short line, e.g. ``Fractional, completeness >= 1.0, non-negative``."""
        parts = [self.inferred_type or "type not stated"]
        if self.completeness is not None:
            parts.append(f"completeness >= {self.completeness:g}")
        if self.non_negative:
            parts.append("non-negative")
        if self.domain_size is not None:
            parts.append(f"{self.domain_size} allowed value{'s' if self.domain_size != 1 else ''}")
        return ", ".join(parts)


def parse_statistics(document: str | bytes, *, source: str = "statistics.json") -> DatasetStatistics:
    """Parse the text of a data-quality ``statistics.json``.

    Args:
        document: The file's content.
        source: How to name the file in error messages (its path or S3 URI).

    Raises:
        StatisticsError: Not JSON, no ``features`` list at the top level, or a feature that is not an object
            with a non-empty string ``name``.
    """
    root = load_json_object(document, source, error=StatisticsError)
    features = root.get("features")
    if not isinstance(features, list):
        raise StatisticsError(
            f"{source}: expected a 'features' list at the top level (a data-quality statistics file); "
            f"top-level keys: {sorted(root)}"
        )
    dataset = root.get("dataset")
    item_count = _number(dataset.get("item_count")) if isinstance(dataset, Mapping) else None
    return DatasetStatistics(
        item_count=item_count,
        features=tuple(_feature(entry, index, source) for index, entry in enumerate(features)),
    )


def parse_constraints(document: str | bytes, *, source: str = "constraints.json") -> dict[str, FeatureConstraint]:
    """Parse the text of a data-quality ``constraints.json`` into its per-feature constraints, keyed by name.

    Unknown keys (``monitoring_config_overrides``, hand-edited ``distribution_constraints``, ...) are ignored.

    Raises:
        StatisticsError: Not JSON, no ``features`` list, or a feature without a name.
    """
    root = load_json_object(document, source, error=StatisticsError)
    features = root.get("features")
    if not isinstance(features, list):
        raise StatisticsError(
            f"{source}: expected a 'features' list at the top level (a data-quality constraints file); "
            f"top-level keys: {sorted(root)}"
        )
    constraints: dict[str, FeatureConstraint] = {}
    for index, entry in enumerate(features):
        name = _name(entry, index, source)
        assert isinstance(entry, Mapping)  # checked by _name
        numbers = entry.get("num_constraints")
        strings = entry.get("string_constraints")
        non_negative = numbers.get("is_non_negative") if isinstance(numbers, Mapping) else None
        domains = strings.get("domains") if isinstance(strings, Mapping) else None
        constraints.setdefault(
            name,
            FeatureConstraint(
                name=name,
                inferred_type=_string(entry.get("inferred_type")),
                completeness=_number(entry.get("completeness")),
                non_negative=non_negative if isinstance(non_negative, bool) else None,
                domain_size=len(domains) if isinstance(domains, list) else None,
            ),
        )
    return constraints


def _name(entry: object, index: int, source: str) -> str:
    if not isinstance(entry, Mapping):
        raise StatisticsError(f"{source}: features[{index}] is a {type(entry).__name__}, not an object")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise StatisticsError(f"{source}: features[{index}] has no name (keys: {sorted(entry)})")
    return name


def _feature(entry: object, index: int, source: str) -> FeatureStatistics:
    name = _name(entry, index, source)
    assert isinstance(entry, Mapping)  # checked by _name
    inferred_type = _string(entry.get("inferred_type"))
    numerical = entry.get("numerical_statistics")
    string = entry.get("string_statistics")
    if isinstance(numerical, Mapping):
        present, missing = _common(numerical)
        return FeatureStatistics(
            name=name,
            inferred_type=inferred_type,
            kind="numerical",
            num_present=present,
            num_missing=missing,
            mean=_number(numerical.get("mean")),
            std_dev=_number(numerical.get("std_dev")),
            minimum=_number(numerical.get("min")),
            maximum=_number(numerical.get("max")),
            buckets=_kll_buckets(numerical.get("distribution")),
        )
    if isinstance(string, Mapping):
        present, missing = _common(string)
        return FeatureStatistics(
            name=name,
            inferred_type=inferred_type,
            kind="string",
            num_present=present,
            num_missing=missing,
            distinct_count=_number(string.get("distinct_count")),
            categories=_categories(string.get("distribution")),
        )
    return FeatureStatistics(name=name, inferred_type=inferred_type, kind="unknown")


def _common(block: Mapping[str, Any]) -> tuple[float | None, float | None]:
    common = block.get("common")
    if not isinstance(common, Mapping):
        return None, None
    return _number(common.get("num_present")), _number(common.get("num_missing"))


def _kll_buckets(distribution: object) -> tuple[Bucket, ...]:
    kll = distribution.get("kll") if isinstance(distribution, Mapping) else None
    entries = kll.get("buckets") if isinstance(kll, Mapping) else None
    if not isinstance(entries, list):
        return ()
    buckets = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        lower, upper = _number(entry.get("lower_bound")), _number(entry.get("upper_bound"))
        if lower is None or upper is None:
            continue
        buckets.append(Bucket(lower=lower, upper=upper, count=_number(entry.get("count")) or 0.0))
    return tuple(sorted(buckets, key=lambda bucket: (bucket.lower, bucket.upper)))


def _categories(distribution: object) -> tuple[CategoryCount, ...]:
    categorical = distribution.get("categorical") if isinstance(distribution, Mapping) else None
    entries = categorical.get("buckets") if isinstance(categorical, Mapping) else None
    if not isinstance(entries, list):
        return ()
    categories = []
    for entry in entries:
        if isinstance(entry, Mapping) and "value" in entry:
            value = entry["value"]
            categories.append(
                CategoryCount(
                    value=value if isinstance(value, str) else json.dumps(value),
                    count=_number(entry.get("count")) or 0.0,
                )
            )
    return tuple(categories)


def _number(value: object) -> float | None:
    """A finite number, or ``None`` (absent, ``"NaN"``, infinite, not a number at all)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _string(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
