"""KLL sketches: the engine's own (Apache DataSketches) and the analyzer's (Deequ's ``QuantileNonSample``).

Why Apache DataSketches: its KLL sketch is the reference implementation of the algorithm Deequ's
``QuantileNonSample`` follows (Karnin, Lang, Liberty), it is compiled, mergeable and serializable, its items
carry power-of-two weights exactly as Deequ's compactor levels do, and its rank error is documented
(``kll_doubles_sketch.get_normalized_rank_error``). Hand-writing a compactor would be a second, untested copy
of the same algorithm.

Both sketches reduce to the same thing: items, each with a weight ``2**level``. A Model Monitor
``statistics.json`` stores them as ``sketch.data``, one list per compactor level (Σ len(level i)·2^i =
``num_present``); a DataSketches sketch holds them the same way (:func:`sketch_levels` reads them).
:class:`WeightedSample` is that common form, and everything the analyzer computes from a sketch is computed
from it, as Deequ does:

* the 10 histogram buckets of ``KLLSketch.computeMetricFrom`` (``awslabs/deequ``
  ``src/main/scala/com/amazon/deequ/analyzers/KLLSketch.scala``): bucket *i* spans
  ``start + (end - start) * i / n`` to ``start + (end - start) * (i + 1) / n`` over the exact min and max, and
  counts ``rankExclusive(high) - rankExclusive(low)``, the last bucket ``rank(high) - rankExclusive(low)``;
* the numerical drift of ``Distance.numericalDistance`` (``.../analyzers/Distance.scala``): the L∞ distance
  between the two CDFs evaluated at every item of either sketch (inclusive rank / total weight), then
  ``selectMetrics``. Beware Deequ's flag name there: ``correctForLowNumberOfSamples = false`` is the one that
  *applies* the correction, ``max(0, linf - c_alpha * sqrt((n + m) / (n * m)))`` with ``c_alpha = 1.8``
  (alpha 0.003), and Model Monitor's ``comparison_method`` ``Robust`` selects it; ``Simple`` returns the bare
  L∞ distance.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from datasketches import kll_doubles_sketch

__all__ = [
    "ANALYZER_SHRINKING_FACTOR",
    "ANALYZER_SKETCH_SIZE",
    "DEFAULT_C_ALPHA",
    "NUMBER_OF_BUCKETS",
    "WeightedSample",
    "linf_distance",
    "new_sketch",
    "numerical_distance",
    "robust_correction",
    "sketch_levels",
]

#: ``sketch.parameters`` the analyzer writes (Deequ's ``KLLSketch.DEFAULT_SKETCH_SIZE`` / ``DEFAULT_SHRINKING_FACTOR``).
ANALYZER_SKETCH_SIZE = 2048
ANALYZER_SHRINKING_FACTOR = 0.64
#: Buckets in ``distribution.kll.buckets``.
NUMBER_OF_BUCKETS = 10
#: Deequ's ``defaultCAlpha`` (alpha = 0.003).
DEFAULT_C_ALPHA = 1.8
_FLAG_EMPTY = 1
_FLAG_SINGLE_ITEM = 4
_PREAMBLE_BYTES = 8
_LEVELS_COUNT_OFFSET = 18
_LEVELS_OFFSET = 20


def new_sketch() -> Any:
    """A DataSketches KLL sketch with k = 2048, the analyzer's sketch size: exact up to 2048 items, as Deequ's."""
    return kll_doubles_sketch(ANALYZER_SKETCH_SIZE)


@dataclass(frozen=True)
class WeightedSample:
    """Sorted items and their weights; the total weight is the number of values the sketch stands for."""

    items: npt.NDArray[np.float64]
    weights: npt.NDArray[np.float64]

    @classmethod
    def from_sketch(cls, sketch: Any) -> WeightedSample:
        return cls.from_levels(sketch_levels(sketch))

    @classmethod
    def from_levels(cls, levels: Sequence[Sequence[float]] | Sequence[npt.NDArray[np.float64]]) -> WeightedSample:
        """From a ``statistics.json`` ``sketch.data``: an item on level *i* weighs ``2**i``."""
        arrays = [np.asarray(level, dtype=np.float64) for level in levels]
        items = np.concatenate(arrays or [np.empty(0)])
        weights = np.concatenate(
            [np.full(array.size, float(2**index)) for index, array in enumerate(arrays)] or [np.empty(0)]
        )
        return cls.of(items, weights)

    @classmethod
    def of(cls, items: npt.NDArray[np.float64], weights: npt.NDArray[np.float64]) -> WeightedSample:
        order = np.argsort(items, kind="stable")
        return cls(items[order], weights[order])

    @property
    def total_weight(self) -> float:
        return float(self.weights.sum())

    def rank(self, value: float, *, inclusive: bool) -> float:
        """Total weight of the items ``<= value`` (inclusive) or ``< value`` (Deequ's getRank / getRankExclusive)."""
        position = np.searchsorted(self.items, value, side="right" if inclusive else "left")
        return float(self.weights[:position].sum())

    def cdf_at(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Inclusive rank / total weight at each of ``values``."""
        cumulative = np.concatenate(([0.0], np.cumsum(self.weights)))
        positions = np.searchsorted(self.items, values, side="right")
        result: npt.NDArray[np.float64] = cumulative[positions] / cumulative[-1]
        return result

    def buckets(self, start: float, end: float, count: int = NUMBER_OF_BUCKETS) -> list[dict[str, float]]:
        """The analyzer's histogram over ``[start, end]`` (exact min and max), as ``statistics.json`` buckets."""
        buckets = []
        for index in range(count):
            # Same expression and evaluation order as Deequ, so the bounds are the same doubles.
            low = start + (end - start) * index / float(count)
            high = start + (end - start) * (index + 1) / float(count)
            upper_rank = self.rank(high, inclusive=index == count - 1)
            buckets.append(
                {"lower_bound": low, "upper_bound": high, "count": upper_rank - self.rank(low, inclusive=False)}
            )
        return buckets

    def levels(self) -> list[list[float]]:
        """``sketch.data``: one list per level, the level of an item being log2 of its weight."""
        if self.items.size == 0:
            return [[]]
        exponents = np.rint(np.log2(self.weights)).astype(np.int64)
        levels: list[list[float]] = [[] for _ in range(int(exponents.max()) + 1)]
        for level in range(len(levels)):
            levels[level] = self.items[exponents == level].tolist()
        return levels


def sketch_levels(sketch: Any) -> list[npt.NDArray[np.float64]]:
    """The items of a DataSketches ``kll_doubles_sketch``, one array per level (an item on level i weighs 2^i).

    Read from the sketch's serialized form, not from iterating it: the Python binding's iterator (datasketches
    5.2.0) reports weight 1 for every item of a sketch whose lowest levels are empty, as a sketch merged into
    an empty one can be, which would silently shrink its counts. The layout is DataSketches' KLL format
    (``kll_sketch_impl.hpp``, ``serialize``): an 8-byte preamble (byte 3: flags, bit 0 empty, bit 2 one item);
    for a one-item sketch the item follows; otherwise n (uint64), min_k (uint16), the number of levels
    (uint8), one padding byte, the start offset of each level (uint32, the end of the last one omitted), the
    minimum and maximum, then the retained items level by level.
    """
    data = sketch.serialize()
    flags = data[3]
    if flags & _FLAG_EMPTY:
        return []
    if flags & _FLAG_SINGLE_ITEM:
        return [np.frombuffer(data, "<f8", 1, _PREAMBLE_BYTES).copy()]
    number_of_levels = data[_LEVELS_COUNT_OFFSET]
    offsets = np.frombuffer(data, "<u4", number_of_levels, _LEVELS_OFFSET).astype(np.int64)
    items_start = _LEVELS_OFFSET + 4 * number_of_levels + 16  # after the levels, the minimum and the maximum
    items = np.frombuffer(data, "<f8", (len(data) - items_start) // 8, items_start).copy()
    bounds = np.append(offsets - offsets[0], items.size)
    levels = [items[bounds[level] : bounds[level + 1]] for level in range(number_of_levels)]
    if sum(level.size << index for index, level in enumerate(levels)) != sketch.n:
        raise ValueError("unexpected KLL serialization: the levels do not add up to the sketch's count")
    return levels


def linf_distance(first: WeightedSample, second: WeightedSample) -> float:
    """Deequ's ``linfSimple``: the largest CDF difference at any item of either sample."""
    if first.items.size == 0 or second.items.size == 0:
        return float("nan")
    keys = np.union1d(first.items, second.items)
    return float(np.max(np.abs(first.cdf_at(keys) - second.cdf_at(keys))))


def robust_correction(linf: float, n: float, m: float, c_alpha: float = DEFAULT_C_ALPHA) -> float:
    """Deequ's ``linfRobust``: the L∞ distance less what two samples of sizes n and m differ by chance."""
    return max(0.0, linf - c_alpha * math.sqrt((n + m) / (n * m)))


def numerical_distance(first: WeightedSample, second: WeightedSample, *, robust: bool) -> float:
    """Deequ's ``numericalDistance`` with ``correctForLowNumberOfSamples = not robust`` (the inverted flag)."""
    linf = linf_distance(first, second)
    if not robust or math.isnan(linf):
        return linf
    return robust_correction(linf, first.total_weight, second.total_weight)
