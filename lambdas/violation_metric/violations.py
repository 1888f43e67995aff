"""Parse Model Monitor data-quality reports and compute the violation metrics. Pure: no AWS, no I/O.

Two inputs, both the JSON text (``str`` or UTF-8 ``bytes``) of a file Model Monitor writes:

* ``constraint_violations.json``, written by a monitoring execution::

      {"violations": [{"feature_name": "...", "constraint_check_type": "data_type_check",
                       "description": "..."}, ...]}

  Read with :func:`parse_violations`. ``description`` may be missing (custom containers omit it) and its
  wording differs between analyzer versions (early: ``"Value: 0.49 does not meet the constraint
  requirement! "``; current: ``"Data type match requirement is not met. Expected data type: ..."``); it is
  kept verbatim and never interpreted. Unknown keys (a custom container's ``sentence``, ``endpoint_name``,
  ...) are ignored.

* ``constraints.json``, the baseline the execution was checked against::

      {"version": 0.0, "features": [{"name": "...", "inferred_type": "...", ...}, ...],
       "monitoring_config": {...}}

  Read with :func:`parse_monitored_features`; only the feature names matter, every other key is ignored.

:func:`summarize` turns both into a :class:`ViolationSummary`: the violation percentage and the number of
violations per check type. Anything that cannot be read this way raises :class:`ViolationReportError` with
a message that names the file and the problem; nothing is ever silently read as "no violations".
"""

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .metric_names import KNOWN_CHECK_TYPES

__all__ = [
    "Violation",
    "ViolationReportError",
    "ViolationSummary",
    "count_by_check_type",
    "load_json_object",
    "parse_monitored_features",
    "parse_violations",
    "summarize",
]


class ViolationReportError(ValueError):
    """A report cannot be used: malformed JSON, an unexpected shape, or no monitored features."""


@dataclass(frozen=True)
class Violation:
    """One entry of ``constraint_violations.json``.

    Attributes:
        feature_name: The column the check failed on, as the report names it.
        constraint_check_type: The check, e.g. ``baseline_drift_check``; any non-empty string is kept.
        description: The analyzer's sentence, verbatim (trailing spaces included), or ``None`` when the
            report has none.
    """

    feature_name: str
    constraint_check_type: str
    description: str | None = None


@dataclass(frozen=True)
class ViolationSummary:
    """What one execution's report means, in the numbers the function publishes.

    Attributes:
        monitored_features: Number of distinct feature names in the baseline constraints (at least 1).
        violated_features: Distinct feature names with at least one violation, sorted. Includes names
            that are not among the monitored features (see ``unmonitored_violated_features``).
        unmonitored_violated_features: The subset of ``violated_features`` that the constraints do not
            list, e.g. an ``extra_column_check`` on a column the baseline never saw. Sorted.
        violation_percentage: ``len(violated_features) / monitored_features * 100``, capped at 100.
        violations_by_check_type: Number of violations (entries, not features) per check type: every
            type in ``KNOWN_CHECK_TYPES`` first (0 when absent), then any other type found, sorted.
            Read-only.
    """

    monitored_features: int
    violated_features: tuple[str, ...]
    unmonitored_violated_features: tuple[str, ...]
    violation_percentage: float
    violations_by_check_type: Mapping[str, int]

    @property
    def violated_feature_count(self) -> int:
        """Number of distinct violated feature names."""
        return len(self.violated_features)


def parse_violations(document: str | bytes, *, source: str = "constraint_violations.json") -> tuple[Violation, ...]:
    """Parse the text of a ``constraint_violations.json`` file.

    Args:
        document: The file's content.
        source: How to name the file in error messages (e.g. its S3 URI).

    Returns:
        The violations in file order; empty when the report lists none (``{"violations": []}``).

    Raises:
        ViolationReportError: The text is not JSON; the top level is not an object with a
            ``violations`` list; an entry is not an object, or lacks a non-empty string
            ``feature_name`` or ``constraint_check_type`` (model-quality and bias reports, which name a
            ``metric_name`` instead, land here); or a ``description`` is present but not a string.
    """
    root = load_json_object(document, source)
    entries = root.get("violations")
    if not isinstance(entries, list):
        raise ViolationReportError(
            f"{source}: expected a 'violations' list at the top level, found "
            f"{_describe(entries) if 'violations' in root else 'no such key'}"
        )
    return tuple(_parse_violation(entry, index, source) for index, entry in enumerate(entries))


def parse_monitored_features(document: str | bytes, *, source: str = "constraints.json") -> tuple[str, ...]:
    """Parse the text of a data-quality ``constraints.json`` file into the monitored feature names.

    Args:
        document: The file's content.
        source: How to name the file in error messages (e.g. its S3 URI).

    Returns:
        The distinct feature names in file order (a repeated name is kept once). May be empty; an empty
        list is only an error for :func:`summarize`.

    Raises:
        ViolationReportError: The text is not JSON; the top level is not an object with a ``features``
            list (model-quality constraints, with ``regression_constraints`` and the like, land here);
            or a feature is not an object with a non-empty string ``name``.
    """
    root = load_json_object(document, source)
    features = root.get("features")
    if not isinstance(features, list):
        raise ViolationReportError(
            f"{source}: expected a 'features' list at the top level (a data-quality constraints file), "
            f"found {_describe(features) if 'features' in root else 'no such key'}; "
            f"top-level keys: {sorted(root)}"
        )
    names: dict[str, None] = {}
    for index, feature in enumerate(features):
        if not isinstance(feature, dict):
            raise ViolationReportError(f"{source}: features[{index}] is {_describe(feature)}, not an object")
        names[_required_string(feature, "name", f"features[{index}]", source)] = None
    return tuple(names)


def count_by_check_type(violations: Iterable[Violation]) -> dict[str, int]:
    """Count violations per ``constraint_check_type``.

    Returns:
        Every type in ``KNOWN_CHECK_TYPES`` in that order (0 when absent), then any other type found in
        the violations, sorted by name.
    """
    known = dict.fromkeys(KNOWN_CHECK_TYPES, 0)
    others: dict[str, int] = {}
    for violation in violations:
        counts = known if violation.constraint_check_type in known else others
        counts[violation.constraint_check_type] = counts.get(violation.constraint_check_type, 0) + 1
    return known | dict(sorted(others.items()))


def summarize(violations: Sequence[Violation], monitored_features: Sequence[str]) -> ViolationSummary:
    """Compute the violation percentage and the per-check-type counts of one execution.

    What counts:

    * The numerator is the number of *distinct feature names* among the violations, whatever their check
      type; a feature with three violations counts once. A name that the constraints do not list (an
      ``extra_column_check`` or ``missing_column_check`` on an unknown column, a custom container's own
      name) still counts as a violated feature: it is a real finding, and dropping it would hide it.
    * The denominator is the number of distinct feature names in the constraints.
    * The percentage is ``numerator / denominator * 100``, capped at 100 (unknown names can push the
      ratio above 1). No violations gives exactly ``0.0``.

    Args:
        violations: From :func:`parse_violations`.
        monitored_features: From :func:`parse_monitored_features`.

    Raises:
        ViolationReportError: ``monitored_features`` is empty: a percentage of nothing is undefined, and
            reporting 0 % would claim a clean result that was never measured.
    """
    monitored = set(monitored_features)
    if not monitored:
        raise ViolationReportError("the baseline constraints list no features: cannot compute a violation percentage")
    violated = sorted({violation.feature_name for violation in violations})
    percentage = min(100.0, len(violated) * 100.0 / len(monitored))
    return ViolationSummary(
        monitored_features=len(monitored),
        violated_features=tuple(violated),
        unmonitored_violated_features=tuple(name for name in violated if name not in monitored),
        violation_percentage=percentage,
        violations_by_check_type=MappingProxyType(count_by_check_type(violations)),
    )


def load_json_object(
    document: str | bytes, source: str, *, error: type[ValueError] = ViolationReportError
) -> dict[str, Any]:
    """Parse a Model Monitor JSON file whose top level must be an object; ``error`` names what is wrong.

    Shared with the operator ``report`` command, which reads ``statistics.json`` the same way.
    """
    try:
        root = json.loads(document)
    except ValueError as cause:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        raise error(f"{source}: not valid JSON ({cause})") from cause
    if not isinstance(root, dict):
        raise error(f"{source}: expected a JSON object at the top level, found {_describe(root)}")
    return root


def _parse_violation(entry: object, index: int, source: str) -> Violation:
    where = f"violations[{index}]"
    if not isinstance(entry, dict):
        raise ViolationReportError(f"{source}: {where} is {_describe(entry)}, not an object")
    description = entry.get("description")
    if description is not None and not isinstance(description, str):
        raise ViolationReportError(f"{source}: {where}.description is {_describe(description)}, expected a string")
    return Violation(
        feature_name=_required_string(entry, "feature_name", where, source),
        constraint_check_type=_required_string(entry, "constraint_check_type", where, source),
        description=description,
    )


def _required_string(mapping: dict[str, Any], key: str, where: str, source: str) -> str:
    value = mapping.get(key)
    if not isinstance(value, str) or not value.strip():
        found = _describe(value) if key in mapping else "missing"
        raise ViolationReportError(
            f"{source}: {where}.{key} must be a non-empty string, found {found} (keys: {sorted(mapping)})"
        )
    return value


def _describe(value: object) -> str:
    """Name a JSON value for an error message: ``an object``, ``an array``, or the (shortened) literal."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."
