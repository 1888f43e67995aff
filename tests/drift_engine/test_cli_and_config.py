"""Bad input ends with one line and exit status 2; per-feature overrides and the categorical methods."""

import io
import json
from pathlib import Path

import pyarrow as pa
import pytest

from drift_engine import (
    CaptureOptions,
    analyze_profile,
    metric_data,
    parse_constraints,
    parse_statistics,
    profile_batch,
    run_analysis,
    suggest_constraints,
)
from drift_engine.checks import categorical_distance
from drift_engine.cli import main
from drift_engine.constraints import ConstraintsFileError
from drift_engine.metrics import ANALYSIS_SUMMARY_FILE, parse_analysis_summary

from .conftest import SCOTTREIDUX, SDK_DATA_QUALITY, SDK_MONITOR, capture_line


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_an_unknown_format_is_one_line(tmp_path: Path) -> None:
    code, _, err = _run(["baseline", "--dataset", str(tmp_path), "--format", "parquet", "--output", str(tmp_path)])
    assert code == 2 and "invalid choice: 'parquet'" in _one_error_line(err)


def test_a_missing_dataset_or_baseline_is_one_line(tmp_path: Path) -> None:
    code, _, err = _run(
        ["baseline", "--dataset", str(tmp_path / "nope.csv"), "--format", "csv", "--output", str(tmp_path)]
    )
    assert code == 2 and "no such file or folder" in _one_error_line(err)
    code, _, err = _run(["analyze", "--capture", str(SDK_MONITOR / "capture.jsonl"), "--output", str(tmp_path)])
    assert code == 2 and "no baseline" in _one_error_line(err)
    code, _, err = _run(
        [
            "analyze",
            "--capture",
            str(SDK_MONITOR / "capture.jsonl"),
            "--baseline",
            str(tmp_path),
            "--output",
            str(tmp_path),
        ]
    )
    assert code == 2 and "no baseline file at" in _one_error_line(err)


def test_an_empty_window_is_one_line(tmp_path: Path) -> None:
    argv = ["analyze", "--capture", str(SDK_MONITOR / "captured-data.jsonl"), "--baseline-statistics",
            str(SDK_DATA_QUALITY / "statistics.json"), "--baseline-constraints",
            str(SDK_DATA_QUALITY / "good_cases/constraints.json"), "--start", "2030-01-01T00:00:00Z",
            "--end", "2030-01-01T01:00:00Z", "--output", str(tmp_path), "--quiet"]  # fmt: skip
    code, _, err = _run(argv)
    line = _one_error_line(err)
    assert code == 2 and "no captured records to analyze" in line and "2 record(s) outside the window" in line
    argv[argv.index("--start") + 1] = "yesterday"
    code, _, err = _run(argv)
    assert code == 2 and "--start 'yesterday' is not an ISO 8601 time" in _one_error_line(err)


def test_a_bad_constraints_file_is_one_line(tmp_path: Path) -> None:
    constraints = tmp_path / "constraints.json"
    constraints.write_text(json.dumps({"features": [], "monitoring_config": {"comparison_method": "Fancy"}}))
    argv = ["analyze", "--capture", str(SDK_MONITOR / "captured-data.jsonl"), "--baseline-statistics",
            str(SDK_DATA_QUALITY / "statistics.json"), "--baseline-constraints", str(constraints), "--output",
            str(tmp_path)]  # fmt: skip
    code, _, err = _run(argv)
    assert code == 2 and "comparison_method is 'Fancy'; allowed: Robust, Simple" in _one_error_line(err)


def test_analyze_reports_what_it_skipped(tmp_path: Path) -> None:
    capture = tmp_path / "capture.jsonl"
    capture.write_text((SDK_MONITOR / "captured-data.jsonl").read_text() + "\n{broken\n")
    argv = ["analyze", "--capture", str(capture), "--baseline-statistics", str(SDK_DATA_QUALITY / "statistics.json"),
            "--baseline-constraints", str(SDK_DATA_QUALITY / "good_cases/constraints.json"), "--output",
            str(tmp_path / "out")]  # fmt: skip
    code, out, err = _run(argv)
    assert code == 0, err
    assert "analyzed 6 record(s)" in out and "1 malformed line(s) skipped" in out
    assert "1/1 file(s), 6 record(s)" in err  # progress
    violations = json.loads((tmp_path / "out" / "constraint_violations.json").read_text())["violations"]
    assert {v["constraint_check_type"] for v in violations} == {"missing_column_check", "baseline_drift_check"}
    assert not (tmp_path / "out" / ANALYSIS_SUMMARY_FILE).exists()  # only when asked


def test_the_summary_holds_what_a_later_publisher_needs(tmp_path: Path) -> None:
    """``--summary``: the counts and the per-feature metrics a Processing-job run's finishing function publishes."""
    capture = tmp_path / "capture.jsonl"
    capture.write_text((SDK_MONITOR / "captured-data.jsonl").read_text() + "\n{broken\n")
    statistics, constraints = SDK_DATA_QUALITY / "statistics.json", SDK_DATA_QUALITY / "good_cases/constraints.json"
    argv = ["analyze", "--capture", str(capture), "--baseline-statistics", str(statistics), "--baseline-constraints",
            str(constraints), "--output", str(tmp_path / "out"), "--summary", "--quiet"]  # fmt: skip
    code, _, err = _run(argv)
    assert code == 0, err

    document = json.loads((tmp_path / "out" / ANALYSIS_SUMMARY_FILE).read_text())
    summary = parse_analysis_summary(document, source="summary")
    assert (summary.analyzed_records, summary.malformed_records) == (6, 1)
    expected = run_analysis(
        [capture],
        baseline=parse_statistics(statistics.read_bytes()),
        constraints=parse_constraints(constraints.read_bytes()),
        options=CaptureOptions(baseline_columns=[f.name for f in parse_constraints(constraints.read_bytes()).features]),
        workers=1,
    )
    dimensions = {"endpoint_name": "e", "monitoring_schedule_name": "s"}
    assert metric_data(summary.feature_metrics, **dimensions) == metric_data(expected.feature_metrics, **dimensions)
    assert metric_data(summary.feature_metrics, **dimensions)
    with pytest.raises(ValueError, match=r"^summary: not an analysis summary"):
        parse_analysis_summary({"feature_metrics": [{}]}, source="summary")


def test_sdk_constraints_with_unknown_keys_and_overrides_inside_string_constraints_are_read() -> None:
    parsed = parse_constraints((SDK_MONITOR / "constraints.json").read_bytes())
    assert [f.name for f in parsed.features] == ["message", "second_message"]
    assert parsed.features[0].domains == frozenset({"preproc-not-YET-supported-for-csv-json"})
    assert parsed.config.comparison_threshold == 1.0  # the hand-written distribution_constraints' own key


def test_per_feature_overrides_are_honoured() -> None:
    document = json.loads((SCOTTREIDUX / "constraints.json").read_text())
    for feature in document["features"]:
        if feature["name"] == "bedrooms":
            feature["monitoringConfigOverrides"] = {"distribution_constraints": {"comparison_threshold": 0.9}}
        if feature["name"] == "state":
            feature["monitoring_config_overrides"] = {"domain_content_threshold": 0.5}
    constraints = parse_constraints(json.dumps(document))
    baseline = parse_statistics((SCOTTREIDUX / "statistics.json").read_bytes())
    states = ["Texas"] * 70 + ["Atlantis"] * 30
    current = profile_batch(
        pa.table({"bedrooms": pa.array([str(20 + i % 5) for i in range(100)]), "state": pa.array(states)}),
        domains=constraints.domains(),
    )
    analysis = analyze_profile(current, baseline, constraints)
    found = {(v.feature_name, v.constraint_check_type) for v in analysis.violations}
    assert analysis.distances["bedrooms"] > 0.5  # drifted, but under the feature's own 0.9 threshold
    assert ("bedrooms", "baseline_drift_check") not in found
    assert ("state", "categorical_values_check") not in found  # 70 % in the domain, the feature allows 50 %
    assert ("price", "missing_column_check") in found

    strict = parse_constraints((SCOTTREIDUX / "constraints.json").read_bytes())
    strict_found = {
        (v.feature_name, v.constraint_check_type) for v in analyze_profile(current, baseline, strict).violations
    }
    assert {("bedrooms", "baseline_drift_check"), ("state", "categorical_values_check")} <= strict_found
    (values_check,) = [
        v
        for v in analyze_profile(current, baseline, strict).violations
        if v.constraint_check_type == "categorical_values_check"
    ]
    assert "Observed: Only 70.0% of data is within the baseline domain." in values_check.description


def test_categorical_distances_follow_deequ() -> None:
    current = {"a": 60.0, "b": 40.0}
    expected = {"a": 50.0, "b": 50.0}
    assert categorical_distance(current, expected, method="LInfinity", robust=False) == pytest.approx(0.1)
    assert categorical_distance(current, expected, method="LInfinity", robust=True) == 0.0  # too few samples
    statistic = categorical_distance(current, expected, method="ChiSquared", robust=False)
    assert statistic == pytest.approx(4.0)  # (60-50)^2/50 + (40-50)^2/50
    assert categorical_distance(current, expected, method="ChiSquared", robust=True) == pytest.approx(0.0455, abs=1e-4)


def test_suggested_domains_and_chi_squared_in_constraints() -> None:
    table = pa.table({"flag": pa.array(["N"] * 90 + ["Y"] * 10), "uid": pa.array([f"u{i}" for i in range(100)])})
    from drift_engine.constraints import MonitoringConfig

    document = suggest_constraints(profile_batch(table), config=MonitoringConfig(categorical_drift_method="ChiSquared"))
    flag, uid = document["features"]
    assert flag["string_constraints"] == {"domains": ["N", "Y"]}
    assert "string_constraints" not in uid  # every value once: no domain
    assert document["monitoring_config"]["distribution_constraints"]["categorical_drift_method"] == "ChiSquared"
    with pytest.raises(ConstraintsFileError, match="categorical_drift_method is 'KL'"):
        parse_constraints(json.dumps({"features": [], "monitoring_config": {"categorical_drift_method": "KL"}}))


def test_capture_line_helper_round_trips() -> None:
    from datetime import UTC, datetime

    record = json.loads(capture_line("1,2", "0.5", datetime(2024, 1, 1, tzinfo=UTC)))
    assert record["eventMetadata"]["inferenceTime"] == "2024-01-01T00:00:00Z"
