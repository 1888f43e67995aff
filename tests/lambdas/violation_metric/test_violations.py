"""The pure parser and computation, against every real violations and constraints file we hold."""

import dataclasses
import json

import pytest

from lambdas.violation_metric.metric_names import KNOWN_CHECK_TYPES
from lambdas.violation_metric.violations import (
    Violation,
    ViolationReportError,
    count_by_check_type,
    parse_monitored_features,
    parse_violations,
    summarize,
)

from . import fixture_files as ff

# --- every violations file --------------------------------------------------------------------------


def test_sdk_file_with_the_early_analyzer_wording() -> None:
    violations = parse_violations(ff.fixture_bytes(ff.SDK_OLD_WORDING_VIOLATIONS))

    assert len(violations) == 7
    assert violations[0] == Violation(
        feature_name="store_and_fwd_flag",
        constraint_check_type="categorical_values_check",
        description="Value: 0.009009009009009009 does not meet the constraint requirement! ",
    )
    assert all(v.description and v.description.endswith("requirement! ") for v in violations)
    assert count_by_check_type(violations) == {
        "data_type_check": 5,
        "completeness_check": 1,
        "baseline_drift_check": 0,
        "missing_column_check": 0,
        "extra_column_check": 0,
        "categorical_values_check": 1,
    }


def test_custom_container_file_with_extra_keys_and_no_description() -> None:
    violations = parse_violations(ff.fixture_bytes(ff.NLP_CUSTOM_CONTAINER_VIOLATIONS))

    assert len(violations) == 8
    assert set(violations) == {Violation("sent_mmd_score", "baseline_drift_check", None)}
    assert count_by_check_type(violations)["baseline_drift_check"] == 8


@pytest.mark.parametrize(
    ("table", "first_feature"),
    [(ff.DATA_QUALITY_TABLE_2021, "State_TN"), (ff.DATA_QUALITY_TABLE_2022, "Area Code_408")],
)
def test_file_with_the_current_analyzer_wording(table: str, first_feature: str) -> None:
    violations = parse_violations(ff.modern_wording_violations(table))

    assert len(violations) == 10
    assert violations[0].feature_name == first_feature
    assert {v.constraint_check_type for v in violations} == {"data_type_check"}
    assert all(
        v.description and v.description.startswith("Data type match requirement is not met.") for v in violations
    )
    assert any(v.description and "Only 0.0% of data is Integral." in v.description for v in violations)


def test_every_violations_fixture_is_covered() -> None:
    """A violations file added to the shared fixtures must get a test here."""
    found = {path.relative_to(ff.FIXTURES_DIR).as_posix() for path in ff.FIXTURES_DIR.rglob("*violations*.json")}
    assert found == {ff.SDK_OLD_WORDING_VIOLATIONS, ff.NLP_CUSTOM_CONTAINER_VIOLATIONS}


# --- every constraints file -------------------------------------------------------------------------


def test_churn_constraints_have_70_features() -> None:
    features = parse_monitored_features(ff.fixture_bytes(ff.CHURN_CONSTRAINTS))

    assert len(features) == 70
    assert features[:3] == ("Churn", "Account Length", "VMail Message")
    assert "Area Code_408" in features


def test_recent_analyzer_constraints_with_categorical_drift_settings() -> None:
    features = parse_monitored_features(ff.fixture_bytes(ff.SCOTTREIDUX_CONSTRAINTS))

    assert features == (
        "id",
        "event_time",
        "zipcode",
        "price",
        "bedrooms",
        "bathrooms",
        "sqft_living",
        "city",
        "state",
        "county",
        "price_per_sqft",
        "avg_price_by_city",
        "avg_price_per_sqft_by_city",
        "above_avg_price_per_sqft",
    )


@pytest.mark.parametrize("relative", [ff.SDK_GOOD_CONSTRAINTS, ff.SDK_BAD_CONSTRAINTS])
def test_sdk_pipeline_constraints(relative: str) -> None:
    assert parse_monitored_features(ff.fixture_bytes(relative)) == ("_c0", "_c1", "_c2", "_c3", "_c4", "_c5")


def test_hand_edited_constraints_with_unknown_keys() -> None:
    features = parse_monitored_features(ff.fixture_bytes(ff.SDK_HAND_EDITED_CONSTRAINTS))

    assert features == ("message", "second_message")


@pytest.mark.parametrize("relative", ff.SDK_MODEL_QUALITY_CONSTRAINTS)
def test_model_quality_constraints_are_rejected(relative: str) -> None:
    with pytest.raises(ViolationReportError, match=r"'features' list.*regression_constraints"):
        parse_monitored_features(ff.fixture_bytes(relative), source=relative)


def test_every_constraints_fixture_is_covered() -> None:
    """A constraints file added to the shared fixtures must get a test here."""
    found = {path.relative_to(ff.FIXTURES_DIR).as_posix() for path in ff.FIXTURES_DIR.rglob("constraints.json")}
    assert found == {
        ff.CHURN_CONSTRAINTS,
        ff.SCOTTREIDUX_CONSTRAINTS,
        ff.SDK_GOOD_CONSTRAINTS,
        ff.SDK_BAD_CONSTRAINTS,
        ff.SDK_HAND_EDITED_CONSTRAINTS,
        *ff.SDK_MODEL_QUALITY_CONSTRAINTS,
    }


# --- the computation on real pairs ------------------------------------------------------------------


def test_current_wording_against_the_churn_baseline() -> None:
    violations = parse_violations(ff.modern_wording_violations(ff.DATA_QUALITY_TABLE_2022))
    features = parse_monitored_features(ff.fixture_bytes(ff.CHURN_CONSTRAINTS))

    summary = summarize(violations, features)

    assert summary.monitored_features == 70
    assert summary.violated_feature_count == 10
    assert summary.violation_percentage == pytest.approx(10 / 70 * 100)
    assert summary.unmonitored_violated_features == ()
    assert summary.violated_features == tuple(sorted(v.feature_name for v in violations))
    assert summary.violations_by_check_type["data_type_check"] == 10


def test_violations_of_unknown_features_count_and_the_percentage_is_capped() -> None:
    """The SDK's NYC-taxi violations against its two-feature hand-edited constraints: 7 of 2 -> 100 %."""
    violations = parse_violations(ff.fixture_bytes(ff.SDK_OLD_WORDING_VIOLATIONS))
    features = parse_monitored_features(ff.fixture_bytes(ff.SDK_HAND_EDITED_CONSTRAINTS))

    summary = summarize(violations, features)

    assert summary.violation_percentage == 100.0
    assert summary.violated_feature_count == 7
    assert summary.unmonitored_violated_features == summary.violated_features


# --- the computation, case by case ------------------------------------------------------------------


def test_no_violations_is_zero_percent_with_every_known_check_type() -> None:
    summary = summarize(parse_violations('{"violations" : [ ]}'), ["a", "b"])

    assert summary.violation_percentage == 0.0
    assert summary.violated_features == ()
    assert list(summary.violations_by_check_type.items()) == [(name, 0) for name in KNOWN_CHECK_TYPES]


def test_a_feature_counts_once_but_every_violation_counts_for_its_check_type() -> None:
    violations = [
        Violation("a", "data_type_check"),
        Violation("a", "baseline_drift_check"),
        Violation("b", "baseline_drift_check"),
    ]

    summary = summarize(violations, ["a", "b", "c", "d"])

    assert summary.violated_features == ("a", "b")
    assert summary.violation_percentage == 50.0
    assert summary.violations_by_check_type["baseline_drift_check"] == 2
    assert summary.violations_by_check_type["data_type_check"] == 1


def test_an_extra_column_on_an_unknown_feature_counts_as_violated() -> None:
    summary = summarize([Violation("new_column", "extra_column_check")], ["a", "b", "c", "d"])

    assert summary.violation_percentage == 25.0
    assert summary.unmonitored_violated_features == ("new_column",)


def test_unknown_check_types_are_kept_after_the_known_ones() -> None:
    counts = count_by_check_type([Violation("a", "z_custom_check"), Violation("a", "a_custom_check")])

    assert list(counts)[: len(KNOWN_CHECK_TYPES)] == list(KNOWN_CHECK_TYPES)
    assert list(counts)[len(KNOWN_CHECK_TYPES) :] == ["a_custom_check", "z_custom_check"]
    assert counts["a_custom_check"] == counts["z_custom_check"] == 1


def test_zero_monitored_features_is_an_error() -> None:
    features = parse_monitored_features('{"version": 0.0, "features": []}')

    with pytest.raises(ViolationReportError, match="no features"):
        summarize([], features)


def test_a_repeated_constraint_name_is_one_feature() -> None:
    assert parse_monitored_features('{"features": [{"name": "a"}, {"name": "b"}, {"name": "a"}]}') == ("a", "b")


def test_results_are_immutable() -> None:
    violation = Violation("a", "data_type_check")
    summary = summarize([violation], ["a"])

    with pytest.raises(dataclasses.FrozenInstanceError):
        violation.feature_name = "b"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        summary.violation_percentage = 0.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        summary.violations_by_check_type["data_type_check"] = 0  # type: ignore[index]


# --- malformed and wrong shapes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("", "not valid JSON"),
        ('{"violations": [', "not valid JSON"),
        (b"\xff\xfe\xfa", "not valid JSON"),
        ("[]", "expected a JSON object at the top level, found an array"),
        ("null", "found null"),
        ("{}", "'violations' list .* found no such key"),
        ('{"violations": {}}', "'violations' list .* found an object"),
        ('{"violations": [1]}', r"violations\[0\] is 1, not an object"),
        ('{"violations": [{"constraint_check_type": "data_type_check"}]}', r"feature_name .* found missing"),
        ('{"violations": [{"feature_name": " ", "constraint_check_type": "x"}]}', 'found " "'),
        ('{"violations": [{"feature_name": 3, "constraint_check_type": "x"}]}', "found 3"),
        ('{"violations": [{"feature_name": "a", "constraint_check_type": null}]}', "found null"),
        ('{"violations": [{"feature_name": "a", "constraint_check_type": "x", "description": 5}]}', "description"),
    ],
)
def test_malformed_or_wrong_shape_violations_raise(document: str | bytes, message: str) -> None:
    with pytest.raises(ViolationReportError, match=message) as raised:
        parse_violations(document, source="s3://bucket/out/constraint_violations.json")

    assert str(raised.value).startswith("s3://bucket/out/constraint_violations.json: ")


@pytest.mark.parametrize("printed", [ff.MODEL_QUALITY_TABLE, *ff.BIAS_DRIFT_PPRINTS])
def test_other_monitor_types_reports_are_rejected(printed: str) -> None:
    """Model-quality and bias-drift reports name a metric_name, not a feature_name."""
    document = ff.model_quality_violations() if printed == ff.MODEL_QUALITY_TABLE else ff.bias_drift_violations(printed)
    assert json.loads(document)["violations"]  # the rebuilt report is not empty

    with pytest.raises(ViolationReportError, match=r"violations\[0\]\.feature_name .*metric_name"):
        parse_violations(document)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{", "not valid JSON"),
        ('"features"', 'found "features"'),
        ('{"features": {}}', "'features' list .* found an object"),
        ('{"version": 0.0}', "found no such key; top-level keys: \\['version'\\]"),
        ('{"features": ["a"]}', r"features\[0\] is \"a\", not an object"),
        ('{"features": [{"inferred_type": "String"}]}', r"features\[0\]\.name .* found missing"),
        ('{"features": [{"name": ""}]}', r'features\[0\]\.name .* found ""'),
    ],
)
def test_malformed_or_wrong_shape_constraints_raise(document: str, message: str) -> None:
    with pytest.raises(ViolationReportError, match=message):
        parse_monitored_features(document)
