"""``constraints.json`` both ways: suggested from a baseline profile, read (with per-feature overrides) for checks.

What the analyzer suggests, from its real files (``quality_check_step/.../good_cases/constraints.json``, the
2021 churn baseline, ScottReidux ``assets/constraints.json``) and Deequ's suggestion rules:

* every feature: ``name``, ``inferred_type`` and ``completeness``, the observed share of non-null values (the
  AWS schema page: "denotes observed non-null value percentage");
* numerical features: ``num_constraints.is_non_negative``, true when the minimum is at least 0 (Deequ's
  ``NonNegativeNumbersRule``; written as false otherwise, so the file says what was seen);
* String features whose value counts were kept (at most 120 distinct values) and whose share of values seen
  exactly once is at most 10 %: ``string_constraints.domains``, the observed values (Deequ's
  ``CategoricalRangeRule``), most frequent first;
* ``monitoring_config`` with the analyzer's defaults: ``evaluate_constraints`` and ``emit_metrics``
  ``Enabled``, ``datatype_check_threshold`` and ``domain_content_threshold`` 1.0, and
  ``distribution_constraints`` ``perform_comparison`` ``Enabled``, ``comparison_threshold`` 0.1,
  ``comparison_method`` ``Robust``, ``categorical_comparison_threshold`` 0.1, ``categorical_drift_method``
  ``LInfinity`` (the last two appear in the analyzer's recent files; ``suggest_baseline`` can override the
  method with ``ChiSquared``).

Per-feature overrides: the AWS schema page names the key ``monitoringConfigOverrides``; the SDK's test files
use ``monitoring_config_overrides`` (inside ``string_constraints`` even). All three places are read, flat keys
or a nested ``distribution_constraints``, and override the global ``monitoring_config`` for that feature.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .profile import DatasetProfile

__all__ = [
    "ConstraintsFileError",
    "FeatureConstraints",
    "MonitoringConfig",
    "ParsedConstraints",
    "parse_constraints",
    "suggest_constraints",
]

CATEGORICAL_DRIFT_METHODS = ("LInfinity", "ChiSquared")
COMPARISON_METHODS = ("Robust", "Simple")
#: Deequ's CategoricalRangeRule: suggest a domain when at most this share of the values occurs exactly once.
_UNIQUE_VALUE_RATIO = 0.1
_OVERRIDE_KEYS = ("monitoring_config_overrides", "monitoringConfigOverrides")


class ConstraintsFileError(ValueError):
    """A constraints file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class MonitoringConfig:
    """The effective ``monitoring_config`` of one feature (global, then its overrides)."""

    evaluate_constraints: bool = True
    emit_metrics: bool = True
    datatype_check_threshold: float = 1.0
    domain_content_threshold: float = 1.0
    perform_comparison: bool = True
    comparison_threshold: float = 0.1
    comparison_method: str = "Robust"
    categorical_comparison_threshold: float = 0.1
    categorical_drift_method: str = "LInfinity"

    def updated(self, values: Mapping[str, Any], source: str) -> MonitoringConfig:
        """This config with the keys of a ``monitoring_config`` object (or an override) applied."""
        flat: dict[str, Any] = {key: value for key, value in values.items() if key != "distribution_constraints"}
        nested = values.get("distribution_constraints")
        if isinstance(nested, Mapping):
            flat.update(nested)
        changes: dict[str, Any] = {}
        for key in ("evaluate_constraints", "emit_metrics", "perform_comparison"):
            if key in flat:
                changes[key] = _enabled(flat[key], key, source)
        for key in (
            "datatype_check_threshold",
            "domain_content_threshold",
            "comparison_threshold",
            "categorical_comparison_threshold",
        ):
            if key in flat:
                changes[key] = _threshold(flat[key], key, source)
        if "comparison_method" in flat:
            changes["comparison_method"] = _choice(
                flat["comparison_method"], COMPARISON_METHODS, "comparison_method", source
            )
        if "categorical_drift_method" in flat:
            changes["categorical_drift_method"] = _choice(
                flat["categorical_drift_method"], CATEGORICAL_DRIFT_METHODS, "categorical_drift_method", source
            )
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "evaluate_constraints": _flag(self.evaluate_constraints),
            "emit_metrics": _flag(self.emit_metrics),
            "datatype_check_threshold": self.datatype_check_threshold,
            "domain_content_threshold": self.domain_content_threshold,
            "distribution_constraints": {
                "perform_comparison": _flag(self.perform_comparison),
                "comparison_threshold": self.comparison_threshold,
                "comparison_method": self.comparison_method,
                "categorical_comparison_threshold": self.categorical_comparison_threshold,
                "categorical_drift_method": self.categorical_drift_method,
            },
        }


@dataclass(frozen=True)
class FeatureConstraints:
    name: str
    inferred_type: str | None
    completeness: float | None
    is_non_negative: bool | None
    domains: frozenset[str] | None
    config: MonitoringConfig


@dataclass(frozen=True)
class ParsedConstraints:
    features: tuple[FeatureConstraints, ...]
    config: MonitoringConfig = field(default_factory=MonitoringConfig)

    def by_name(self) -> dict[str, FeatureConstraints]:
        named: dict[str, FeatureConstraints] = {}
        for feature in self.features:
            named.setdefault(feature.name, feature)
        return named

    def domains(self) -> dict[str, frozenset[str]]:
        return {feature.name: feature.domains for feature in self.features if feature.domains is not None}


def suggest_constraints(profile: DatasetProfile, *, config: MonitoringConfig | None = None) -> dict[str, Any]:
    """The ``constraints.json`` the analyzer would suggest for this (merged) baseline profile."""
    features = []
    for name, column in profile.columns.items():
        inferred_type = column.inferred_type
        entry: dict[str, Any] = {
            "name": name,
            "inferred_type": inferred_type,
            "completeness": column.present / profile.item_count if profile.item_count else 0.0,
        }
        if inferred_type in ("Integral", "Fractional") and column.minimum is not None:
            entry["num_constraints"] = {"is_non_negative": column.minimum >= 0.0}
        elif inferred_type == "String" and column.categories:
            once = sum(1 for count in column.categories.values() if count == 1)
            if once / len(column.categories) <= _UNIQUE_VALUE_RATIO:
                ordered = sorted(column.categories.items(), key=lambda item: (-item[1], item[0]))
                entry["string_constraints"] = {"domains": [value for value, _ in ordered]}
        features.append(entry)
    return {"version": 0.0, "features": features, "monitoring_config": (config or MonitoringConfig()).to_json()}


def parse_constraints(document: str | bytes, *, source: str = "constraints.json") -> ParsedConstraints:
    """Read a data-quality ``constraints.json`` (the analyzer's or this engine's), overrides applied.

    Raises:
        ConstraintsFileError: not JSON, no ``features`` list, a feature without a name, or a setting with a
            value the analyzer does not accept (e.g. ``comparison_method`` other than Robust or Simple).
    """
    try:
        root = json.loads(document)
    except ValueError as cause:
        raise ConstraintsFileError(f"{source}: not valid JSON ({cause})") from cause
    if not isinstance(root, dict) or not isinstance(root.get("features"), list):
        raise ConstraintsFileError(
            f"{source}: expected an object with a 'features' list (a data-quality constraints file)"
        )
    global_config = MonitoringConfig()
    if isinstance(root.get("monitoring_config"), Mapping):
        global_config = global_config.updated(root["monitoring_config"], source)
    features = []
    for index, entry in enumerate(root["features"]):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str) or not entry["name"]:
            raise ConstraintsFileError(f"{source}: features[{index}] has no name")
        name = entry["name"]
        config = global_config
        for holder in (entry, entry.get("string_constraints"), entry.get("num_constraints")):
            if isinstance(holder, Mapping):
                for key in _OVERRIDE_KEYS:
                    if isinstance(holder.get(key), Mapping):
                        config = config.updated(holder[key], f"{source}: {name}")
        numbers = entry.get("num_constraints")
        strings = entry.get("string_constraints")
        non_negative = numbers.get("is_non_negative") if isinstance(numbers, Mapping) else None
        domains = strings.get("domains") if isinstance(strings, Mapping) else None
        completeness = entry.get("completeness")
        features.append(
            FeatureConstraints(
                name=name,
                inferred_type=entry.get("inferred_type") if isinstance(entry.get("inferred_type"), str) else None,
                completeness=float(completeness)
                if isinstance(completeness, int | float) and not isinstance(completeness, bool)
                else None,
                is_non_negative=non_negative if isinstance(non_negative, bool) else None,
                domains=frozenset(str(value) for value in domains) if isinstance(domains, list) else None,
                config=config,
            )
        )
    return ParsedConstraints(features=tuple(features), config=global_config)


def _flag(value: bool) -> str:
    return "Enabled" if value else "Disabled"


def _enabled(value: object, key: str, source: str) -> bool:
    if value in ("Enabled", True):
        return True
    if value in ("Disabled", False):
        return False
    raise ConstraintsFileError(f"{source}: {key} is {value!r}; allowed: 'Enabled', 'Disabled'")


def _threshold(value: object, key: str, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConstraintsFileError(f"{source}: {key} is {value!r}; expected a number")
    return float(value)


def _choice(value: object, allowed: tuple[str, ...], key: str, source: str) -> str:
    if value not in allowed:
        raise ConstraintsFileError(f"{source}: {key} is {value!r}; allowed: {', '.join(allowed)}")
    return str(value)
