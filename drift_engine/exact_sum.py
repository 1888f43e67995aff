"""An exact, mergeable sum of float64 values: the same result however the input is split.

Why not ``numpy.sum`` or a compensated float: floating-point addition is not associative, so a profile built
from two files, or from Spark partitions in a different order, would report a different ``sum`` (and
``mean``) in its last bits. Every finite double is an integer times a power of two, so the sum of any of them
is held exactly as one Python integer scaled by a power of two. Adding a numpy batch stays vectorized: the
mantissas are split in two 26-bit halves and summed per exponent with ``numpy.bincount`` (exact: see
:meth:`ExactSum.of`); only the few distinct exponents of a batch reach Python integers.

Infinities (a CSV value such as ``1e999`` parses to one) are kept as flags; the float result is then the IEEE
result (``inf``, ``-inf``, or ``nan`` when both occur).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["ExactSum"]

_HALF_BITS = 26
_HALF_MASK = (1 << _HALF_BITS) - 1
_MANTISSA_BITS = 53
#: Values summed per bincount pass (below 2**26, see :meth:`ExactSum.of`).
_CHUNK = 1 << 24


@dataclass(frozen=True)
class ExactSum:
    """``numerator * 2**exponent``, plus whether +inf / -inf were added."""

    numerator: int = 0
    exponent: int = 0
    positive_infinity: bool = False
    negative_infinity: bool = False

    @classmethod
    def of(cls, values: npt.NDArray[np.float64], counts: npt.NDArray[np.int64] | None = None) -> ExactSum:
        """The exact sum of ``values`` (NaN must already be removed: it has no sum).

        With ``counts`` (positive integers, one per value), each value is added that many times: the exact sum of
        a column given as its distinct values and their counts, without the repeated values.
        """
        if counts is not None and int(counts.sum()) >= _CHUNK:
            return cls.of(np.repeat(values, counts))  # more than one bincount pass holds exactly: rare, keep it simple
        finite_mask = np.isfinite(values)
        all_finite = bool(finite_mask.all())
        finite = values if all_finite else values[finite_mask]
        if counts is not None and not all_finite:
            counts = counts[finite_mask]
        positive_infinity = bool(np.any(values == np.inf))
        negative_infinity = bool(np.any(values == -np.inf))
        if finite.size == 0:
            return cls(positive_infinity=positive_infinity, negative_infinity=negative_infinity)
        fractions, exponents = np.frexp(finite)
        mantissas = np.ldexp(fractions, _MANTISSA_BITS).astype(np.int64)  # exact: |fraction| < 1, 53 bits
        exponents = exponents.astype(np.int64) - _MANTISSA_BITS
        base = int(exponents.min())
        offsets = exponents - base
        numerator = 0
        for start in range(0, finite.size, _CHUNK):
            # Per exponent, the sums of the high and low 26-bit halves: bincount adds in float64, exact because
            # every partial sum is an integer below 2**53 (fewer than 2**26 halves of at most 27 bits each; with
            # counts, a half times its count is that many halves, and the counts add up to less than 2**24).
            chunk = slice(start, start + _CHUNK)
            high_halves = mantissas[chunk] >> _HALF_BITS
            low_halves = mantissas[chunk] & _HALF_MASK
            if counts is not None:
                high_halves, low_halves = high_halves * counts[chunk], low_halves * counts[chunk]
            high = np.bincount(offsets[chunk], weights=high_halves)
            low = np.bincount(offsets[chunk], weights=low_halves)
            for offset in np.flatnonzero((high != 0) | (low != 0)).tolist():
                numerator += ((int(high[offset]) << _HALF_BITS) + int(low[offset])) << offset
        return cls(numerator, base, positive_infinity, negative_infinity)

    def __add__(self, other: ExactSum) -> ExactSum:
        exponent = min(self.exponent, other.exponent)
        numerator = (self.numerator << (self.exponent - exponent)) + (other.numerator << (other.exponent - exponent))
        return ExactSum(
            numerator,
            exponent if numerator else 0,
            self.positive_infinity or other.positive_infinity,
            self.negative_infinity or other.negative_infinity,
        )

    def to_float(self) -> float:
        """The correctly rounded float64 of the exact sum (Python's int division rounds correctly)."""
        if self.positive_infinity and self.negative_infinity:
            return float("nan")
        if self.positive_infinity:
            return float("inf")
        if self.negative_infinity:
            return float("-inf")
        try:
            if self.exponent >= 0:
                return float(self.numerator << self.exponent)
            return self.numerator / (1 << -self.exponent)
        except OverflowError:
            return float("inf") if self.numerator > 0 else float("-inf")

    def divided_by(self, count: int) -> float:
        """``sum / count`` rounded once, from the exact sum (the mean without a double rounding)."""
        if self.positive_infinity or self.negative_infinity or count == 0:
            return self.to_float() / count if count else float("nan")
        if self.exponent >= 0:
            return (self.numerator << self.exponent) / count
        return self.numerator / (count << -self.exponent)

    def to_json(self) -> list[object]:
        """A JSON-safe form (the numerator as a decimal string: it may exceed any JSON number)."""
        return [str(self.numerator), self.exponent, self.positive_infinity, self.negative_infinity]

    @classmethod
    def from_json(cls, value: list[object]) -> ExactSum:
        numerator, exponent, positive, negative = value
        return cls(int(str(numerator)), int(str(exponent)), bool(positive), bool(negative))
