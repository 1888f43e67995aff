"""Partial profiles merge associatively: the result does not depend on how the input was split."""

import itertools
import pickle
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from datasketches import kll_doubles_sketch

from drift_engine import (
    DatasetProfile,
    build_baseline,
    engine,
    merge_profiles,
    profile_batch,
    readers,
    statistics_document,
)
from drift_engine.kll import ANALYZER_SKETCH_SIZE

ROWS = 24_000


@pytest.fixture(scope="module")
def table() -> pa.Table:
    rng = np.random.default_rng(3)
    fare = np.round(rng.lognormal(2.0, 0.6, ROWS), 2)
    count = rng.integers(1, 7, ROWS).astype(str).astype(object)
    count[rng.random(ROWS) < 0.02] = None
    flag = rng.choice(["N", "Y"], ROWS, p=[0.97, 0.03]).astype(object)
    ident = np.array([f"trip-{i}" for i in range(ROWS)], dtype=object)  # high cardinality
    return pa.table(
        {
            "fare": pa.array([f"{v:.2f}" for v in fare]),
            "passengers": pa.array(list(count), pa.string()),
            "flag": pa.array(list(flag)),
            "id": pa.array(list(ident)),
            "score": pa.array(rng.normal(0.0, 1.0, ROWS)),  # typed float column
        }
    )


def _split(table: pa.Table, cuts: list[int]) -> list[DatasetProfile]:
    bounds = [0, *cuts, table.num_rows]
    return [profile_batch(table.slice(start, end - start)) for start, end in itertools.pairwise(bounds)]


def _fold_left(profiles: list[DatasetProfile]) -> DatasetProfile:
    result = DatasetProfile()
    for profile in profiles:
        result = result.merge(profile)
    return result


def _fold_right(profiles: list[DatasetProfile]) -> DatasetProfile:
    result = DatasetProfile()
    for profile in reversed(profiles):
        result = profile.merge(result)
    return result


def test_differently_split_input_gives_identical_counts_sums_and_extremes(table: pa.Table) -> None:
    whole = profile_batch(table)
    variants = {
        "tree of 7": merge_profiles(_split(table, [1000, 5000, 5001, 9000, 15000, 20000])),
        "left fold of 24": _fold_left(_split(table, list(range(1000, ROWS, 1000)))),
        "right fold of 3": _fold_right(_split(table, [7, 23_000])),
        "reordered": merge_profiles(list(reversed(_split(table, [12_000])))),
    }
    reference = statistics_document(whole)
    for label, merged in variants.items():
        assert merged.item_count == ROWS, label
        document = statistics_document(merged)
        for mine, theirs in zip(document["features"], reference["features"], strict=True):
            assert mine["name"] == theirs["name"] and mine["inferred_type"] == theirs["inferred_type"], label
            if "numerical_statistics" in mine:
                a, b = mine["numerical_statistics"], theirs["numerical_statistics"]
                assert (a["common"], a["sum"], a["mean"], a["min"], a["max"]) == (
                    b["common"],
                    b["sum"],
                    b["mean"],
                    b["min"],
                    b["max"],
                ), (label, mine["name"])
                assert a["std_dev"] == pytest.approx(b["std_dev"], rel=1e-12), (label, mine["name"])
            else:
                assert mine["string_statistics"]["common"] == theirs["string_statistics"]["common"], label
                assert mine["string_statistics"].get("distribution") == theirs["string_statistics"].get("distribution")
        for name in ("fare", "passengers", "flag", "id", "score"):
            left, right = merged.columns[name], whole.columns[name]
            assert (left.fractional, left.integral, left.boolean, left.string) == (
                right.fractional,
                right.integral,
                right.boolean,
                right.string,
            ), (label, name)


def test_quantiles_of_merged_sketches_are_within_the_rank_error(table: pa.Table) -> None:
    fare = np.sort(np.asarray(table.column("fare").to_pylist(), dtype=float))
    epsilon = kll_doubles_sketch.get_normalized_rank_error(ANALYZER_SKETCH_SIZE, False)
    for profiles in (_split(table, list(range(500, ROWS, 500))), [profile_batch(table)]):
        sample = merge_profiles(profiles).columns["fare"].weighted_sample()
        assert sample.total_weight == ROWS
        for quantile in (0.01, 0.1, 0.5, 0.9, 0.99):
            value = fare[int(quantile * (ROWS - 1))]
            true_rank = np.searchsorted(fare, value, side="right") / ROWS
            estimated_rank = sample.rank(value, inclusive=True) / ROWS
            assert abs(estimated_rank - true_rank) <= epsilon, quantile


def test_distinct_counts_and_categories_survive_merging(table: pa.Table) -> None:
    merged = merge_profiles(_split(table, list(range(3000, ROWS, 3000))))
    assert merged.columns["flag"].categories is not None
    assert set(merged.columns["flag"].categories) == {"N", "Y"}
    assert merged.columns["id"].categories is None  # more than 120 distinct values: no histogram kept
    assert merged.columns["id"].distinct_count() == pytest.approx(ROWS, rel=0.05)  # the HLL estimate


def test_a_partial_profile_travels_as_bytes_and_through_pickle(table: pa.Table) -> None:
    profile = profile_batch(table.slice(0, 5000))
    for copy in (DatasetProfile.from_bytes(profile.to_bytes()), pickle.loads(pickle.dumps(profile))):  # noqa: S301
        assert statistics_document(copy) == statistics_document(profile)
        assert copy.merge(profile).item_count == 10_000


def test_a_column_absent_from_one_part_counts_as_missing_there() -> None:
    first = profile_batch(pa.table({"a": pa.array(["1", "2"]), "b": pa.array(["x", "y"])}))
    second = profile_batch(pa.table({"a": pa.array(["3"])}))
    merged = first.merge(second)
    assert merged.item_count == 3
    assert (merged.columns["b"].present, merged.columns["a"].present) == (2, 3)
    assert statistics_document(merged)["features"][1]["string_statistics"]["common"] == {
        "num_present": 2,
        "num_missing": 1,
    }


def test_worker_processes_give_the_same_statistics(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dataset batches and capture files profiled in a pool of two workers, as on a large input."""
    monkeypatch.setattr(engine, "_PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(readers, "_BLOCK_SIZE", 1 << 14)  # many batches from one small file
    dataset = tmp_path / "data.csv"
    rng = np.random.default_rng(8)
    dataset.write_text("a,b\n" + "".join(f"{x:.3f},{rng.integers(0, 5)}\n" for x in rng.normal(size=5000)))
    serial = build_baseline([dataset], dataset_format="csv", header=True, workers=1)
    parallel = build_baseline([dataset], dataset_format="csv", header=True, workers=2)
    assert parallel.constraints == serial.constraints
    epsilon = kll_doubles_sketch.get_normalized_rank_error(ANALYZER_SKETCH_SIZE, False)
    for mine, theirs in zip(parallel.statistics["features"], serial.statistics["features"], strict=True):
        a, b = mine["numerical_statistics"], theirs["numerical_statistics"]
        assert [a[key] for key in ("common", "sum", "mean", "min", "max")] == [
            b[key] for key in ("common", "sum", "mean", "min", "max")
        ]
        assert a["std_dev"] == pytest.approx(b["std_dev"], rel=1e-12)
        counts = [bucket["count"] for bucket in a["distribution"]["kll"]["buckets"]]
        reference = [bucket["count"] for bucket in b["distribution"]["kll"]["buckets"]]
        assert sum(counts) == sum(reference) == 5000
        assert all(abs(x - y) <= 2 * epsilon * 5000 for x, y in zip(counts, reference, strict=True))
