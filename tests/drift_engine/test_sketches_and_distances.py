"""KLL sketches read from real analyzer baselines, and the numerical drift distance against references."""

import json

import numpy as np
import pyarrow as pa
import pytest
from datasketches import kll_doubles_sketch
from scipy.stats import ks_2samp

from drift_engine import parse_constraints, parse_statistics, profile_batch
from drift_engine.checks import analyze_profile
from drift_engine.kll import ANALYZER_SKETCH_SIZE, WeightedSample, linf_distance, numerical_distance

from .conftest import SCOTTREIDUX

SCOTT_STATISTICS = json.loads((SCOTTREIDUX / "statistics.json").read_text())
NUMERICAL = [f for f in SCOTT_STATISTICS["features"] if "numerical_statistics" in f]


def _sample(values: np.ndarray) -> WeightedSample:
    return profile_batch(pa.table({"x": pa.array(values)})).columns["x"].weighted_sample()


def test_multi_level_analyzer_sketches_decode_to_the_right_counts() -> None:
    assert len(NUMERICAL) == 8
    for feature in NUMERICAL:
        statistics = feature["numerical_statistics"]
        levels = statistics["distribution"]["kll"]["sketch"]["data"]
        assert [len(level) for level in levels] == [266, 1093, 2127, 1, 779]  # five compactor levels
        assert sum(len(level) * 2**index for index, level in enumerate(levels)) == statistics["common"]["num_present"]
        sample = WeightedSample.from_levels(levels)
        assert sample.total_weight == statistics["common"]["num_present"] == 23432
        # The analyzer's own histogram, recomputed from its own sketch with Deequ's bucket rule, is identical.
        assert sample.buckets(statistics["min"], statistics["max"]) == statistics["distribution"]["kll"]["buckets"]


def test_drift_against_an_analyzer_baseline_is_computed() -> None:
    baseline = parse_statistics((SCOTTREIDUX / "statistics.json").read_bytes())
    constraints = parse_constraints((SCOTTREIDUX / "constraints.json").read_bytes())
    bedrooms = baseline.by_name()["bedrooms"].sample
    assert bedrooms is not None
    rng = np.random.default_rng(7)
    # Same distribution: values drawn from the baseline's own sketch, by weight.
    alike = rng.choice(bedrooms.items, size=5000, p=bedrooms.weights / bedrooms.total_weight)
    shifted = alike + 2.0
    for values, drifted in ((alike, False), (shifted, True)):
        current = profile_batch(
            pa.table(
                {"bedrooms": pa.array([repr(float(v)) for v in values]), "state": pa.array(["Texas"] * len(values))}
            )
        )
        analysis = analyze_profile(current, baseline, constraints)
        distance = analysis.distances["bedrooms"]
        drift_checks = [v for v in analysis.violations if v.constraint_check_type == "baseline_drift_check"]
        if drifted:
            assert distance > 0.5
            assert any(
                v.feature_name == "bedrooms" and v.description.startswith("Numerical distance: ") for v in drift_checks
            )
        else:
            assert distance == 0.0  # within what two samples of these sizes differ by chance (Robust)
            assert not any(v.feature_name == "bedrooms" for v in drift_checks)
        # The categorical side: all "Texas" is far from the baseline's 53 states.
        assert analysis.distances["state"] > 0.8


@pytest.mark.parametrize(("n", "m", "shift"), [(300, 500, 0.0), (1000, 2000, 0.3), (2048, 700, 1.0)])
def test_below_k_the_distance_is_the_two_sample_ks_statistic(n: int, m: int, shift: float) -> None:
    rng = np.random.default_rng(n + m)
    first = np.round(rng.normal(0.0, 1.0, n), 2)  # rounded: ties, as real data has
    second = np.round(rng.normal(shift, 1.0, m), 2)
    reference = ks_2samp(first, second).statistic
    simple = numerical_distance(_sample(first), _sample(second), robust=False)
    assert simple == pytest.approx(reference, abs=1e-12)
    robust = numerical_distance(_sample(first), _sample(second), robust=True)
    assert robust == pytest.approx(max(0.0, reference - 1.8 * np.sqrt((n + m) / (n * m))), abs=1e-12)


def test_above_k_the_distance_stays_within_the_sketches_error_bound() -> None:
    rng = np.random.default_rng(11)
    first = rng.lognormal(0.5, 0.8, 60_000)
    second = rng.lognormal(0.6, 0.8, 45_000)
    exact = ks_2samp(first, second).statistic
    sketched = linf_distance(_sample(first), _sample(second))
    bound = 2 * kll_doubles_sketch.get_normalized_rank_error(ANALYZER_SKETCH_SIZE, False)
    assert abs(sketched - exact) <= bound
    assert bound < 0.003  # the sketch is far finer than the 0.1 drift threshold


def test_sketch_levels_keep_every_weight_after_merging_into_an_empty_sketch() -> None:
    """DataSketches 5.2.0's Python iterator reports weight 1 here; the serialized levels do not."""
    rng = np.random.default_rng(1)
    parts = []
    for size in (16_000, 8_000):
        part = kll_doubles_sketch(ANALYZER_SKETCH_SIZE)
        for _ in range(size // 500):
            piece = kll_doubles_sketch(ANALYZER_SKETCH_SIZE)
            piece.update(rng.random(500))
            part.merge(piece)
        parts.append(part)
    merged = kll_doubles_sketch(ANALYZER_SKETCH_SIZE)
    for part in parts:
        merged.merge(part)
    assert merged.n == 24_000
    assert WeightedSample.from_sketch(merged).total_weight == 24_000
