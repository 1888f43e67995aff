"""Partial profiles: what one file, partition or Arrow batch says about each column, and how two combine.

A :class:`DatasetProfile` is built from one Arrow batch with :func:`profile_batch`, combined with
:meth:`DatasetProfile.merge` (or :func:`merge_profiles` for many, as a balanced tree), and turned into a
``statistics.json`` by :func:`drift_engine.statistics.statistics_document`. The merge is associative and
commutative where it matters: counts, type counts, sums (held exactly, see :mod:`drift_engine.exact_sum`),
minimum and maximum are identical however the input was split; quantiles are within the KLL sketch's rank
error; the standard deviation (Chan's parallel update of the second moment) agrees to floating-point rounding.
Memory is bounded by the sketches, never by the number of rows.

Types are inferred as the analyzer infers them, from Deequ's ``DataType`` analyzer (``awslabs/deequ``
``src/main/scala/org/apache/spark/sql/catalyst/StatefulDataType.scala`` and ``analyzers/DataType.scala``):
every non-null value is matched, as text, against Deequ's regular expressions, fractional first::

    FRACTIONAL  ^(-|\\+)? ?\\d+((\\.\\d+)|((?:\\.\\d+)?[Ee][-+]?\\d+))$
    INTEGRAL    ^(-|\\+)? ?\\d+$
    BOOLEAN     ^(true|false)$
    anything else is a String

and the column's type follows ``DataTypeHistogram.determineType``: all null → ``Unknown``; any string, or
booleans mixed with numbers → ``String``; any fractional → ``Fractional``; otherwise ``Integral``. Booleans
alone (Deequ's ``Boolean``) are written as ``String``: Model Monitor's schemas know only Integral, Fractional,
String and Unknown. Arrow columns that are already typed (JSON Lines read by pyarrow) are classified by their
type, as Spark classifies a typed column by its text form (an int64 column is Integral, a double column
Fractional).

Strings also get exact value counts while a column has at most :data:`CATEGORICAL_LIMIT` distinct values
(Deequ's ``ColumnProfiler.DEFAULT_CARDINALITY_THRESHOLD``, the limit under which the analyzer writes
categorical buckets), and an Apache DataSketches HLL sketch for the distinct count beyond it. The HLL sketch
is fed only once a column has shown a non-numeric value (updating it costs a Python call per distinct value,
which a high-cardinality numeric column would pay on every row for a number nobody reads); a string column
whose first non-numeric value came after more than :data:`CATEGORICAL_LIMIT` distinct numeric-looking ones
therefore reports an approximate distinct count that misses some of those, which the analyzer's own
``distinct_count`` (also approximate: it can exceed ``item_count``) tolerates.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from datasketches import hll_sketch, hll_union, kll_doubles_sketch

from .exact_sum import ExactSum
from .kll import WeightedSample, new_sketch

__all__ = [
    "BOOLEAN_PATTERN",
    "CATEGORICAL_LIMIT",
    "FRACTIONAL_PATTERN",
    "INTEGRAL_PATTERN",
    "ColumnProfile",
    "DatasetProfile",
    "merge_profiles",
    "profile_batch",
]

FRACTIONAL_PATTERN = r"^(-|\+)? ?\d+((\.\d+)|((?:\.\d+)?[Ee][-+]?\d+))$"
INTEGRAL_PATTERN = r"^(-|\+)? ?\d+$"
BOOLEAN_PATTERN = r"^(true|false)$"
#: Exact value counts are kept up to this many distinct values per column.
CATEGORICAL_LIMIT = 120
_HLL_LG_K = 12
_FORMAT_VERSION = 1


@dataclass
class ColumnProfile:
    """What one column of one partial profile holds. Mutable while it is built; merged into a new one.

    Attributes:
        present: Non-null values.
        fractional, integral, boolean, string: Non-null values of each textual type (they add up to ``present``).
        numeric_count: Values read as numbers (the fractional and integral ones).
        total: Their exact sum.
        minimum, maximum: Their exact extremes (``None`` before the first number).
        mean, m2: Running mean and second central moment (Chan et al.), for the population standard deviation.
        sketch: DataSketches KLL sketch of the numbers (``None`` before the first number).
        categories: Exact counts per value while there are at most ``CATEGORICAL_LIMIT``; ``None`` once exceeded.
        distinct: HLL sketch of the values once a non-numeric value was seen (``None`` before).
        in_domain: Values inside the baseline's domain, when profiling against one (``None`` otherwise).
    """

    present: int = 0
    fractional: int = 0
    integral: int = 0
    boolean: int = 0
    string: int = 0
    numeric_count: int = 0
    total: ExactSum = field(default_factory=ExactSum)
    minimum: float | None = None
    maximum: float | None = None
    mean: float = 0.0
    m2: float = 0.0
    sketch: Any = None
    categories: dict[str, int] | None = field(default_factory=dict)
    distinct: Any = None
    in_domain: int | None = None

    # --- reading ---------------------------------------------------------------------------------------

    @property
    def inferred_type(self) -> str:
        """``Integral``, ``Fractional``, ``String`` or ``Unknown``, by Deequ's ``determineType``."""
        if self.present == 0:
            return "Unknown"
        if self.string > 0 or (self.boolean > 0 and (self.integral > 0 or self.fractional > 0)):
            return "String"
        if self.boolean > 0:
            return "String"  # Deequ's Boolean: not a Model Monitor type
        return "Fractional" if self.fractional > 0 else "Integral"

    @property
    def std_dev(self) -> float:
        """Population standard deviation of the numbers (the analyzer's convention, Spark's ``stddev_pop``)."""
        return math.sqrt(self.m2 / self.numeric_count) if self.numeric_count else float("nan")

    def weighted_sample(self) -> WeightedSample:
        if self.sketch is None:
            return WeightedSample(np.empty(0), np.empty(0))
        return WeightedSample.from_sketch(self.sketch)

    def distinct_count(self) -> float:
        """Exact while the value counts are kept; the HLL estimate beyond them."""
        if self.categories is not None:
            return float(len(self.categories))
        if self.distinct is not None:
            return float(round(self.distinct.get_estimate()))
        return float(CATEGORICAL_LIMIT + 1)

    # --- building --------------------------------------------------------------------------------------

    def add_numbers(self, values: npt.NDArray[np.float64], exact_sum: ExactSum | None = None) -> None:
        """Add numbers (NaN removed); ``exact_sum``, when the caller already has it, is their exact sum."""
        if values.size == 0:
            return
        finite = values[np.isfinite(values)]
        batch_count = int(values.size)
        batch_mean = float(finite.mean()) if finite.size == values.size else float(values.mean())
        batch_m2 = float(np.square(values - batch_mean).sum()) if finite.size == values.size else float("nan")
        self.mean, self.m2 = _chan(self.numeric_count, self.mean, self.m2, batch_count, batch_mean, batch_m2)
        self.numeric_count += batch_count
        self.total = self.total + (exact_sum if exact_sum is not None else ExactSum.of(values))
        low, high = float(values.min()), float(values.max())
        self.minimum = low if self.minimum is None else min(self.minimum, low)
        self.maximum = high if self.maximum is None else max(self.maximum, high)
        if self.sketch is None:
            self.sketch = new_sketch()
        # DataSketches' binding takes only writable arrays; Arrow's zero-copy views are read-only.
        self.sketch.update(np.require(values, dtype=np.float64, requirements=["C", "W"]))

    def add_values(self, values: pa.Array) -> None:
        """Value counts and distinct sketch of the non-null values (any Arrow type; counted by their text)."""
        if self.categories is None and self.distinct is None:
            return
        if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
            values = values.cast(pa.string())
        counted = pc.value_counts(values)
        self.add_counts(counted.field("values"), counted.field("counts").to_numpy())

    def add_counts(self, uniques: pa.Array, counts: npt.NDArray[np.int64]) -> None:
        """Value counts and distinct sketch from distinct text values (no nulls) and how often each occurs."""
        if self.categories is None and self.distinct is None:
            return
        if self.categories is not None:
            if len(uniques) > CATEGORICAL_LIMIT:
                self._overflow_categories()
            else:
                categories = self.categories
                for value, count in zip(uniques.to_pylist(), counts.tolist(), strict=True):
                    categories[value] = categories.get(value, 0) + count
                if len(categories) > CATEGORICAL_LIMIT:
                    self._overflow_categories()
        if self.distinct is not None:
            _update_hll(self.distinct, uniques.to_pylist())

    def start_distinct_sketch(self) -> None:
        """Begin the HLL sketch, seeded with the values counted so far."""
        if self.distinct is None:
            self.distinct = hll_sketch(_HLL_LG_K)
            if self.categories is not None:
                _update_hll(self.distinct, list(self.categories))

    def _overflow_categories(self) -> None:
        if self.categories is not None and self.distinct is not None:
            _update_hll(self.distinct, list(self.categories))
        self.categories = None

    # --- combining -------------------------------------------------------------------------------------

    def merged(self, other: ColumnProfile) -> ColumnProfile:
        result = ColumnProfile(
            present=self.present + other.present,
            fractional=self.fractional + other.fractional,
            integral=self.integral + other.integral,
            boolean=self.boolean + other.boolean,
            string=self.string + other.string,
            numeric_count=self.numeric_count + other.numeric_count,
            total=self.total + other.total,
            minimum=_extreme(min, self.minimum, other.minimum),
            maximum=_extreme(max, self.maximum, other.maximum),
            in_domain=None
            if self.in_domain is None and other.in_domain is None
            else (self.in_domain or 0) + (other.in_domain or 0),
        )
        result.mean, result.m2 = _chan(
            self.numeric_count, self.mean, self.m2, other.numeric_count, other.mean, other.m2
        )
        result.sketch = _merge_kll(self.sketch, other.sketch)
        # Distinct sketches first, each seeded from its own side's counts, so no value is lost when one side
        # started its sketch and the other did not.
        if self.distinct is not None or other.distinct is not None:
            union = hll_union(_HLL_LG_K)
            for side in (self, other):
                if side.distinct is not None:
                    union.update(side.distinct)
                elif side.categories is not None:
                    seeded = hll_sketch(_HLL_LG_K)
                    _update_hll(seeded, list(side.categories))
                    union.update(seeded)
            result.distinct = union.get_result()
        if self.categories is None or other.categories is None:
            result.categories = None
        else:
            combined = dict(self.categories)
            for value, count in other.categories.items():
                combined[value] = combined.get(value, 0) + count
            result.categories = combined if len(combined) <= CATEGORICAL_LIMIT else None
        return result

    # --- serializing -----------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "present": self.present,
            "types": [self.fractional, self.integral, self.boolean, self.string],
            "numeric_count": self.numeric_count,
            "total": self.total.to_json(),
            "minimum": self.minimum,
            "maximum": self.maximum,
            "moments": [self.mean, self.m2],
            "sketch": None if self.sketch is None else base64.b64encode(self.sketch.serialize()).decode(),
            "categories": None if self.categories is None else list(self.categories.items()),
            "distinct": None if self.distinct is None else base64.b64encode(self.distinct.serialize_compact()).decode(),
            "in_domain": self.in_domain,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ColumnProfile:
        fractional, integral, boolean, string = data["types"]
        mean, m2 = data["moments"]
        return cls(
            present=data["present"],
            fractional=fractional,
            integral=integral,
            boolean=boolean,
            string=string,
            numeric_count=data["numeric_count"],
            total=ExactSum.from_json(data["total"]),
            minimum=data["minimum"],
            maximum=data["maximum"],
            mean=mean,
            m2=m2,
            sketch=None if data["sketch"] is None else kll_doubles_sketch.deserialize(base64.b64decode(data["sketch"])),
            categories=None if data["categories"] is None else {str(k): int(v) for k, v in data["categories"]},
            distinct=None if data["distinct"] is None else hll_sketch.deserialize(base64.b64decode(data["distinct"])),
            in_domain=data["in_domain"],
        )


@dataclass
class DatasetProfile:
    """A partial (or whole) profile: rows seen and a :class:`ColumnProfile` per column, in first-seen order.

    ``malformed`` counts input records that could not be read (they are in no column); ``records_outside_window``
    counts capture records skipped because of their time. Both add up on merge.
    """

    item_count: int = 0
    columns: dict[str, ColumnProfile] = field(default_factory=dict)
    malformed: int = 0
    records_outside_window: int = 0

    def merge(self, other: DatasetProfile) -> DatasetProfile:
        """A new profile of both inputs. A column one side lacks counts as missing on all of that side's rows."""
        columns: dict[str, ColumnProfile] = {}
        for name in list(self.columns) + [name for name in other.columns if name not in self.columns]:
            left = self.columns.get(name)
            right = other.columns.get(name)
            if left is None:
                assert right is not None
                columns[name] = right.merged(ColumnProfile())
            elif right is None:
                columns[name] = left.merged(ColumnProfile())
            else:
                columns[name] = left.merged(right)
        return DatasetProfile(
            item_count=self.item_count + other.item_count,
            columns=columns,
            malformed=self.malformed + other.malformed,
            records_outside_window=self.records_outside_window + other.records_outside_window,
        )

    def to_bytes(self) -> bytes:
        """A compact, versioned form for shipping partial profiles between processes or Spark executors."""
        return json.dumps(
            {
                "format": _FORMAT_VERSION,
                "item_count": self.item_count,
                "malformed": self.malformed,
                "records_outside_window": self.records_outside_window,
                "columns": [[name, column.to_json()] for name, column in self.columns.items()],
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> DatasetProfile:
        document = json.loads(data)
        if document.get("format") != _FORMAT_VERSION:
            raise ValueError(f"unsupported partial-profile format {document.get('format')!r}")
        return cls(
            item_count=document["item_count"],
            columns={name: ColumnProfile.from_json(column) for name, column in document["columns"]},
            malformed=document["malformed"],
            records_outside_window=document["records_outside_window"],
        )

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        # DataSketches objects cannot be pickled; multiprocessing and PySpark pickle through the bytes form.
        return (DatasetProfile.from_bytes, (self.to_bytes(),))


def merge_profiles(profiles: Iterable[DatasetProfile]) -> DatasetProfile:
    """Merge any number of partial profiles pairwise as a balanced tree (the order of the inputs is kept)."""
    level = list(profiles)
    if not level:
        return DatasetProfile()
    while len(level) > 1:
        level = [
            level[index].merge(level[index + 1]) if index + 1 < len(level) else level[index]
            for index in range(0, len(level), 2)
        ]
    return level[0]


def profile_batch(
    batch: pa.RecordBatch | pa.Table,
    *,
    domains: Mapping[str, frozenset[str]] | None = None,
) -> DatasetProfile:
    """The partial profile of one Arrow batch or table: every column, in the batch's column order.

    Args:
        batch: Columns of any Arrow type; string columns are classified value by value, typed ones by type.
        domains: Per column, the baseline's allowed values (``string_constraints.domains``); the profile then
            counts the values inside it, for the ``categorical_values_check``.
    """
    profile = DatasetProfile(item_count=batch.num_rows)
    for name, column in zip(batch.column_names, batch.columns, strict=True):
        array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        profile.columns[name] = _profile_column(array, None if domains is None else domains.get(name))
    return profile


def _profile_column(array: pa.Array, domain: frozenset[str] | None) -> ColumnProfile:
    column = ColumnProfile()
    values = array.drop_null() if array.null_count else array
    column.present = len(values)
    kind = values.type
    if pa.types.is_dictionary(kind):
        values = values.cast(kind.value_type)
        kind = values.type
    if pa.types.is_integer(kind):
        column.integral = len(values)
        column.add_numbers(values.cast(pa.float64()).to_numpy(zero_copy_only=False))
    elif pa.types.is_floating(kind):
        numbers = values.cast(pa.float64()).to_numpy(zero_copy_only=False)
        # NaN has no text form Deequ reads as a number ("NaN" is a String); keep the rest numeric.
        nan = np.isnan(numbers)
        column.fractional = int((~nan).sum())
        column.string = int(nan.sum())
        column.add_numbers(numbers[~nan])
    elif pa.types.is_boolean(kind):
        column.boolean = len(values)
    else:
        _profile_text(column, values if pa.types.is_string(kind) else values.cast(pa.string()), domain)
        return column
    if column.string or column.boolean:
        column.start_distinct_sketch()
    if len(values):
        column.add_values(values)
        if domain is not None:
            text = values if pa.types.is_string(values.type) else values.cast(pa.string())
            column.in_domain = _true_count(pc.is_in(text, value_set=pa.array(sorted(domain), pa.string())))
    elif domain is not None:
        column.in_domain = 0
    return column


def _profile_text(column: ColumnProfile, values: pa.Array, domain: frozenset[str] | None) -> None:
    """Profile text values (no nulls) through their distinct values: each is classified and parsed once.

    Captured traffic repeats its values (an hour of the day, a count, an amount in cents: the benchmark's taxi
    features have under 3,000 distinct texts per 65,536 rows), so Deequ's patterns, the number parser, the exact
    sum and the value counts run over the distinct texts, weighted by how often each occurs; a column whose
    values are all distinct pays one hashing pass more. The rows' numbers, in row order, still feed the moments
    and the KLL sketch, so every figure is the one a row-by-row pass gives.
    """
    encoded = pc.dictionary_encode(values)
    uniques: pa.Array = encoded.dictionary
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    counts = np.bincount(indices, minlength=len(uniques))
    fractional = _mask(pc.match_substring_regex(uniques, FRACTIONAL_PATTERN))
    column.fractional = int(counts[fractional].sum())
    if column.fractional == len(values):  # the patterns exclude each other: no need to look for integers
        numeric = fractional
    else:
        integral = _mask(pc.match_substring_regex(uniques, INTEGRAL_PATTERN))
        column.integral = int(counts[integral].sum())
        numeric = fractional | integral
    numeric_count = column.fractional + column.integral
    rest = len(values) - numeric_count
    if rest:
        column.boolean = int(counts[_mask(pc.match_substring_regex(uniques, BOOLEAN_PATTERN))].sum())
        column.string = rest - column.boolean
    if numeric_count:
        numbers = np.zeros(len(uniques))
        numbers[numeric] = _parse_numbers(uniques.filter(pa.array(numeric)) if rest else uniques)
        rows = numbers[indices[numeric[indices]]] if rest else numbers[indices]
        column.add_numbers(rows, exact_sum=ExactSum.of(numbers[numeric], counts[numeric]))
    if column.string or column.boolean:
        column.start_distinct_sketch()
    if len(values):
        column.add_counts(uniques, counts)
    if domain is not None:
        inside = _mask(pc.is_in(uniques, value_set=pa.array(sorted(domain), pa.string())))
        column.in_domain = int(counts[inside].sum())


def _mask(flags: pa.Array) -> npt.NDArray[np.bool_]:
    mask: npt.NDArray[np.bool_] = flags.to_numpy(zero_copy_only=False)
    return mask


def _parse_numbers(texts: pa.Array) -> npt.NDArray[np.float64]:
    try:
        numbers = pc.cast(texts, pa.float64())
    except pa.ArrowInvalid:
        # Deequ's patterns allow one space after the sign ("- 3"); Arrow's parser does not.
        numbers = pc.cast(pc.replace_substring(texts, " ", ""), pa.float64())
    result: npt.NDArray[np.float64] = numbers.to_numpy(zero_copy_only=False)
    return result


def _true_count(mask: pa.Array) -> int:
    return int(pc.sum(mask).as_py() or 0)


def _update_hll(sketch: Any, values: Sequence[object]) -> None:
    for value in values:
        sketch.update(str(value))


def _merge_kll(left: Any, right: Any) -> Any:
    if left is None and right is None:
        return None
    merged = new_sketch()
    for side in (left, right):
        if side is not None:
            merged.merge(side)
    return merged


def _extreme(pick: Any, left: float | None, right: float | None) -> float | None:
    if left is None:
        return right
    if right is None:
        return left
    return float(pick(left, right))


def _chan(count_a: int, mean_a: float, m2_a: float, count_b: int, mean_b: float, m2_b: float) -> tuple[float, float]:
    """Combine two (count, mean, M2) summaries (Chan, Golub & LeVeque's parallel variance update)."""
    if count_b == 0:
        return mean_a, m2_a
    if count_a == 0:
        return mean_b, m2_b
    count = count_a + count_b
    delta = mean_b - mean_a
    mean = mean_a + delta * count_b / count
    return mean, m2_a + m2_b + delta * delta * count_a * count_b / count
