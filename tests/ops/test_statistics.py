"""The statistics and constraints parsers, against real analyzer files of several vintages."""

import json

import pytest

from ops.statistics import StatisticsError, parse_constraints, parse_statistics

from .conftest import (
    SCOTTREIDUX_ASSETS,
    SDK_GOOD_CONSTRAINTS,
    SDK_MONITOR,
    SDK_PIPELINE_STATISTICS,
    fixture_path,
)


def test_recent_analyzer_statistics_with_newer_fields_and_a_multi_level_sketch() -> None:
    path = fixture_path(f"{SCOTTREIDUX_ASSETS}/statistics.json")

    statistics = parse_statistics(path.read_bytes(), source=str(path))

    assert statistics.item_count == 23432
    assert len(statistics.features) == 14
    by_name = statistics.by_name()
    price = by_name["price"]
    assert (price.kind, price.inferred_type) == ("numerical", "Fractional")
    assert price.mean == pytest.approx(614658.98, rel=1e-6)
    assert (price.minimum, price.maximum) == (0.0, 38000000.0)
    assert len(price.buckets) == 10
    assert price.buckets[0].lower == 0.0 and price.buckets[0].count == 23191.0
    assert [b.lower for b in price.buckets] == sorted(b.lower for b in price.buckets)
    assert price.completeness == 1.0
    # a high-cardinality string: no distribution, an approximate distinct count above the item count
    identifier = by_name["id"]
    assert (identifier.kind, identifier.categories, identifier.distinct_count) == ("string", (), 24000.0)
    assert len(by_name["state"].categories) == 54
    assert by_name["state"].categories[0].value == "New Mexico"


def test_early_pipeline_statistics() -> None:
    statistics = parse_statistics(fixture_path(SDK_PIPELINE_STATISTICS).read_text())

    assert [f.name for f in statistics.features] == ["_c0", "_c1", "_c2", "_c3", "_c4", "_c5"]
    first = statistics.features[0]
    assert first.mean == 2.31
    assert first.std_dev == pytest.approx(0.833, abs=1e-3)
    assert len(first.buckets) == 10
    assert sum(b.count for b in first.buckets) == 100


def test_the_earliest_string_statistics() -> None:
    statistics = parse_statistics(fixture_path(f"{SDK_MONITOR}/statistics.json").read_text())

    (message,) = statistics.features
    assert message.kind == "string"
    assert [(c.value, c.count) for c in message.categories] == [("preproc-not-YET-supported-for-csv-json", 418)]


def test_odd_values_are_unknown_not_numbers() -> None:
    document = {
        "features": [
            {
                "name": "a",
                "inferred_type": "Fractional",
                "numerical_statistics": {"mean": "NaN", "std_dev": "Infinity"},
            },
            {"name": "b", "inferred_type": "Unknown"},
            {
                "name": "c",
                "numerical_statistics": {
                    "common": {"num_present": 3, "num_missing": 1},
                    "distribution": {
                        "kll": {"buckets": [{"lower_bound": 2, "upper_bound": 3, "count": 1}, {"lower_bound": 0}]}
                    },
                },
            },
            {"name": "d", "string_statistics": {"distribution": {"categorical": {"buckets": [{"value": 1}]}}}},
        ]
    }

    a, b, c, d = parse_statistics(json.dumps(document)).features

    assert (a.mean, a.std_dev, a.buckets) == (None, None, ())
    assert (b.kind, b.inferred_type, b.completeness) == ("unknown", "Unknown", None)
    assert c.buckets[0].lower == 2.0 and len(c.buckets) == 1
    assert c.completeness == 0.75
    assert [(x.value, x.count) for x in d.categories] == [("1", 0.0)]


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "JSON object"),
        (b'{"features": [{"inferred_type": "String"}]}', "has no name"),
        (b'{"features": ["x"]}', "not an object"),
    ],
)
def test_what_is_not_a_statistics_file_is_an_error_naming_it(document: bytes, problem: str) -> None:
    with pytest.raises(StatisticsError, match=problem) as error:
        parse_statistics(document, source="s3://b/k/statistics.json")

    assert "s3://b/k/statistics.json" in str(error.value)


def test_model_quality_statistics_are_refused() -> None:
    path = fixture_path(
        "aws__sagemaker-python-sdk/tests/data/pipeline/quality_check_step/model_quality/statistics.json"
    )

    with pytest.raises(StatisticsError, match="'features' list"):
        parse_statistics(path.read_bytes(), source=str(path))


def test_constraints_of_a_recent_analyzer() -> None:
    constraints = parse_constraints(fixture_path(f"{SCOTTREIDUX_ASSETS}/constraints.json").read_bytes())

    assert len(constraints) == 14
    assert constraints["price"].describe() == "Fractional, completeness >= 1, non-negative"
    assert constraints["event_time"].domain_size == 1
    assert constraints["event_time"].describe() == "String, completeness >= 1, 1 allowed value"


@pytest.mark.parametrize("relative", [SDK_GOOD_CONSTRAINTS, f"{SDK_MONITOR}/constraints.json"])
def test_constraints_with_unknown_keys_still_read(relative: str) -> None:
    constraints = parse_constraints(fixture_path(relative).read_text())

    assert constraints
    assert all(constraint.inferred_type for constraint in constraints.values())
