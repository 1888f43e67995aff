"""``statistics.json`` both ways: written from a profile, read from the engine or from Model Monitor's analyzer.

The written file follows the analyzer's data-quality schema, version 0.0, as real analyzer files show it
(shared fixtures: ``quality_check_step/data_quality/statistics.json``, ScottReidux ``assets/statistics.json``)::

    {"version": 0.0, "dataset": {"item_count": 100},
     "features": [{"name": "_c0", "inferred_type": "Fractional",
                   "numerical_statistics": {"common": {"num_present": 100, "num_missing": 0},
                                            "mean": 2.31, "sum": 231.0, "std_dev": 0.833, "min": 1.0, "max": 3.0,
                                            "distribution": {"kll": {"buckets": [...10...],
                                                                     "sketch": {"parameters": {"c": 0.64, "k": 2048.0},
                                                                                "data": [[...], ...]}}}}},
                  {"name": "flag", "inferred_type": "String",
                   "string_statistics": {"common": {...}, "distinct_count": 2.0,
                                         "distribution": {"categorical": {"buckets": [{"value": "N", "count": 97}]}}}}]}

``std_dev`` is the population standard deviation: that is what the analyzer wrote for the pipeline fixture
(0.8330066026148891 for ``_c0``, where the sample standard deviation would be 0.8372). ``mean`` is the exact
sum divided by the count, rounded once. High-cardinality strings get no ``distribution``, as in the
analyzer's recent files. The reader is lenient the same way the project's other readers are: unknown keys are
ignored, numbers written as strings (``"NaN"``) are read as numbers or ``None``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .kll import ANALYZER_SHRINKING_FACTOR, ANALYZER_SKETCH_SIZE, WeightedSample
from .profile import ColumnProfile, DatasetProfile

__all__ = [
    "BaselineFeature",
    "BaselineStatistics",
    "StatisticsFileError",
    "feature_statistics",
    "parse_statistics",
    "statistics_document",
]


class StatisticsFileError(ValueError):
    """A statistics file that cannot be used as a baseline; the message names the file and the problem."""


def statistics_document(profile: DatasetProfile) -> dict[str, Any]:
    """The ``statistics.json`` content of a (merged) profile: the finalize step."""
    return {
        "version": 0.0,
        "dataset": {"item_count": profile.item_count},
        "features": [feature_statistics(name, column, profile.item_count) for name, column in profile.columns.items()],
    }


def feature_statistics(name: str, column: ColumnProfile, item_count: int) -> dict[str, Any]:
    """One entry of ``features``: numerical statistics for Integral/Fractional, string statistics otherwise."""
    inferred_type = column.inferred_type
    if inferred_type in ("Integral", "Fractional"):
        count = column.numeric_count
        sample = column.weighted_sample()
        assert column.minimum is not None and column.maximum is not None  # a numeric type has numbers
        return {
            "name": name,
            "inferred_type": inferred_type,
            "numerical_statistics": {
                "common": {"num_present": count, "num_missing": item_count - count},
                "mean": _number(column.total.divided_by(count)),
                "sum": _number(column.total.to_float()),
                "std_dev": _number(column.std_dev),
                "min": _number(column.minimum),
                "max": _number(column.maximum),
                "distribution": {
                    "kll": {
                        "buckets": sample.buckets(column.minimum, column.maximum),
                        "sketch": {
                            "parameters": {"c": ANALYZER_SHRINKING_FACTOR, "k": float(ANALYZER_SKETCH_SIZE)},
                            "data": sample.levels(),
                        },
                    }
                },
            },
        }
    string_statistics: dict[str, Any] = {
        "common": {"num_present": column.present, "num_missing": item_count - column.present},
        "distinct_count": column.distinct_count(),
    }
    if column.categories is not None and column.categories:
        ordered = sorted(column.categories.items(), key=lambda entry: (-entry[1], entry[0]))
        string_statistics["distribution"] = {
            "categorical": {"buckets": [{"value": value, "count": count} for value, count in ordered]}
        }
    return {"name": name, "inferred_type": inferred_type, "string_statistics": string_statistics}


def _number(value: float) -> float | str:
    """A JSON number, or the analyzer's ``"NaN"`` / ``"Infinity"`` strings for what JSON cannot hold."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


@dataclass(frozen=True)
class BaselineFeature:
    """What a baseline ``statistics.json`` says about one feature, as far as the checks need it."""

    name: str
    inferred_type: str | None
    num_present: float | None
    num_missing: float | None
    sample: WeightedSample | None = None
    categories: Mapping[str, float] | None = None
    distinct_count: float | None = None


@dataclass(frozen=True)
class BaselineStatistics:
    item_count: float | None
    features: tuple[BaselineFeature, ...]

    def by_name(self) -> dict[str, BaselineFeature]:
        named: dict[str, BaselineFeature] = {}
        for feature in self.features:
            named.setdefault(feature.name, feature)
        return named


def parse_statistics(document: str | bytes, *, source: str = "statistics.json") -> BaselineStatistics:
    """Read a data-quality ``statistics.json`` written by the analyzer or by this engine.

    Raises:
        StatisticsFileError: not JSON, no ``features`` list, a feature without a name, or a KLL sketch whose
            ``data`` is not a list of lists of numbers.
    """
    try:
        root = json.loads(document)
    except ValueError as cause:
        raise StatisticsFileError(f"{source}: not valid JSON ({cause})") from cause
    if not isinstance(root, dict) or not isinstance(root.get("features"), list):
        raise StatisticsFileError(
            f"{source}: expected an object with a 'features' list (a data-quality statistics file)"
        )
    dataset = root.get("dataset")
    item_count = _read_number(dataset.get("item_count")) if isinstance(dataset, Mapping) else None
    features = []
    for index, entry in enumerate(root["features"]):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str) or not entry["name"]:
            raise StatisticsFileError(f"{source}: features[{index}] has no name")
        features.append(_baseline_feature(entry, source))
    return BaselineStatistics(item_count=item_count, features=tuple(features))


def _baseline_feature(entry: Mapping[str, Any], source: str) -> BaselineFeature:
    name = entry["name"]
    inferred_type = entry.get("inferred_type") if isinstance(entry.get("inferred_type"), str) else None
    numerical = entry.get("numerical_statistics")
    string = entry.get("string_statistics")
    block: Mapping[str, Any] = (
        numerical if isinstance(numerical, Mapping) else string if isinstance(string, Mapping) else {}
    )
    found = block.get("common")
    common: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    present, missing = _read_number(common.get("num_present")), _read_number(common.get("num_missing"))
    sample = None
    categories = None
    if isinstance(numerical, Mapping):
        distribution = numerical.get("distribution")
        kll = distribution.get("kll") if isinstance(distribution, Mapping) else None
        sketch = kll.get("sketch") if isinstance(kll, Mapping) else None
        data = sketch.get("data") if isinstance(sketch, Mapping) else None
        if data is not None:
            if not isinstance(data, list) or not all(isinstance(level, list) for level in data):
                raise StatisticsFileError(f"{source}: {name}: sketch.data is not a list of levels")
            try:
                sample = WeightedSample.from_levels([[float(item) for item in level] for level in data])
            except (TypeError, ValueError) as cause:
                raise StatisticsFileError(f"{source}: {name}: sketch.data holds a non-number ({cause})") from cause
            if not np.all(np.isfinite(sample.items)):
                sample = WeightedSample.of(
                    sample.items[np.isfinite(sample.items)], sample.weights[np.isfinite(sample.items)]
                )
    if isinstance(string, Mapping):
        distribution = string.get("distribution")
        categorical = distribution.get("categorical") if isinstance(distribution, Mapping) else None
        buckets = categorical.get("buckets") if isinstance(categorical, Mapping) else None
        if isinstance(buckets, list):
            counts: dict[str, float] = {}
            for bucket in buckets:
                if isinstance(bucket, Mapping) and "value" in bucket:
                    value = bucket["value"] if isinstance(bucket["value"], str) else json.dumps(bucket["value"])
                    counts[value] = counts.get(value, 0.0) + (_read_number(bucket.get("count")) or 0.0)
            categories = counts
    return BaselineFeature(
        name=name,
        inferred_type=inferred_type,
        num_present=present,
        num_missing=missing,
        sample=sample,
        categories=categories,
        distinct_count=_read_number(string.get("distinct_count")) if isinstance(string, Mapping) else None,
    )


def _read_number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None
