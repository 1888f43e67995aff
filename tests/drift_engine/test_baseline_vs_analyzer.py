"""The engine's baseline of the analyzer's own input equals the analyzer's statistics.json and constraints.json.

Input and expected output: sagemaker-python-sdk ``tests/data/pipeline/quality_check_step/data_quality``
(``baseline_dataset.csv``, headerless, and what Model Monitor's analyzer wrote for it).
"""

import json
from pathlib import Path
from typing import Any

import pytest

from drift_engine import build_baseline
from drift_engine.cli import main

from .conftest import SDK_DATA_QUALITY

EXPECTED_STATISTICS = json.loads((SDK_DATA_QUALITY / "statistics.json").read_text())
EXPECTED_CONSTRAINTS = json.loads((SDK_DATA_QUALITY / "good_cases/constraints.json").read_text())
DATASET = SDK_DATA_QUALITY / "baseline_dataset.csv"


def _pairs(statistics: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    assert [f["name"] for f in statistics["features"]] == [f["name"] for f in EXPECTED_STATISTICS["features"]]
    return list(zip(statistics["features"], EXPECTED_STATISTICS["features"], strict=True))


@pytest.fixture(scope="module")
def statistics(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    output = tmp_path_factory.mktemp("baseline")
    assert (
        main(
            [
                "baseline",
                "--dataset",
                str(DATASET),
                "--format",
                "csv",
                "--no-header",
                "--output",
                str(output),
                "--quiet",
            ]
        )
        == 0
    )
    document: dict[str, Any] = json.loads((output / "statistics.json").read_text())
    document["_constraints"] = json.loads((output / "constraints.json").read_text())
    return document


def test_counts_types_and_extremes_are_exact(statistics: dict[str, Any]) -> None:
    assert statistics["version"] == 0.0
    assert statistics["dataset"] == EXPECTED_STATISTICS["dataset"] == {"item_count": 100}
    for ours, theirs in _pairs(statistics):
        assert ours["inferred_type"] == theirs["inferred_type"] == "Fractional"
        mine, analyzer = ours["numerical_statistics"], theirs["numerical_statistics"]
        assert mine["common"] == analyzer["common"]
        assert (mine["min"], mine["max"]) == (analyzer["min"], analyzer["max"])


def test_mean_sum_and_population_std_dev_match_to_1e_9(statistics: dict[str, Any]) -> None:
    for ours, theirs in _pairs(statistics):
        mine, analyzer = ours["numerical_statistics"], theirs["numerical_statistics"]
        for key in ("mean", "sum", "std_dev"):
            assert mine[key] == pytest.approx(analyzer[key], rel=1e-9, abs=0.0), (ours["name"], key)


def test_the_ten_kll_buckets_and_the_sketch_match(statistics: dict[str, Any]) -> None:
    for ours, theirs in _pairs(statistics):
        mine = ours["numerical_statistics"]["distribution"]["kll"]
        analyzer = theirs["numerical_statistics"]["distribution"]["kll"]
        assert mine["buckets"] == analyzer["buckets"]  # bounds (same doubles) and counts
        assert mine["sketch"]["parameters"] == analyzer["sketch"]["parameters"] == {"c": 0.64, "k": 2048.0}
        assert len(mine["sketch"]["data"]) == len(analyzer["sketch"]["data"]) == 1  # below k: one exact level
        assert sorted(mine["sketch"]["data"][0]) == sorted(analyzer["sketch"]["data"][0])


def test_suggested_constraints_match_the_analyzers(statistics: dict[str, Any]) -> None:
    constraints = statistics["_constraints"]
    assert constraints["version"] == EXPECTED_CONSTRAINTS["version"]
    assert constraints["features"] == EXPECTED_CONSTRAINTS["features"]
    expected_config = EXPECTED_CONSTRAINTS["monitoring_config"]
    config = constraints["monitoring_config"]
    # The fixture comes from an analyzer that predates the categorical keys; every key it wrote is the same.
    for key, value in expected_config.items():
        if key == "distribution_constraints":
            assert {k: config[key][k] for k in value} == value
        else:
            assert config[key] == value
    assert config["distribution_constraints"]["categorical_drift_method"] == "LInfinity"


@pytest.mark.parametrize("dataset_format", ["csv-with-header", "jsonl"])
def test_the_same_data_with_a_header_or_as_json_lines_gives_the_same_numbers(
    dataset_format: str, tmp_path: Path
) -> None:
    rows = [line.split(",") for line in DATASET.read_text().splitlines()]
    names = [f"_c{index}" for index in range(len(rows[0]))]
    if dataset_format == "jsonl":
        path = tmp_path / "data.jsonl"
        path.write_text("".join(json.dumps(dict(zip(names, map(float, row), strict=True))) + "\n" for row in rows))
        baseline = build_baseline([path], dataset_format="jsonl", header=False)
    else:
        path = tmp_path / "data.csv"
        path.write_text(",".join(names) + "\n" + DATASET.read_text())
        baseline = build_baseline([path], dataset_format="csv", header=True)
    for ours, theirs in _pairs(baseline.statistics):
        assert ours["inferred_type"] == theirs["inferred_type"]
        mine, analyzer = ours["numerical_statistics"], theirs["numerical_statistics"]
        assert (mine["common"], mine["min"], mine["max"], mine["sum"]) == (
            analyzer["common"],
            analyzer["min"],
            analyzer["max"],
            analyzer["sum"],
        )
        assert mine["distribution"]["kll"]["buckets"] == analyzer["distribution"]["kll"]["buckets"]
