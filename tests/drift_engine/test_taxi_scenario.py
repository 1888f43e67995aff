"""The seeds' scenario on taxi-like traffic, end to end through the CLI, read by the project's own parsers.

Baseline: the demo's ``baseline.csv`` (header, target ``tip_amount`` first, 8 features). Traffic: headerless
CSV requests of the 8 features, the prediction as the output, in capture files under hour folders, drawn
with the demo's own generator. The drifted hour has fractional passenger counts, inflated totals, missing
values and a ninth, unknown column.
"""

import contextlib
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from demo.features import FEATURE_NAMES, TARGET_NAME
from demo.generate_demo import draw_feature_rows, format_csv_row
from drift_engine import (
    DATA_METRICS_NAMESPACE,
    CaptureOptions,
    InMemoryPublisher,
    metric_data,
    parse_constraints,
    parse_statistics,
    run_analysis,
)
from drift_engine.cli import main
from drift_engine.metrics import StatisticSet
from lambdas.violation_metric.violations import parse_monitored_features, parse_violations, summarize
from ops.__main__ import main as ops_main
from ops.statistics import parse_constraints as ops_parse_constraints
from ops.statistics import parse_statistics as ops_parse_statistics

from .conftest import REPO_ROOT, write_capture_files

BASELINE_CSV = REPO_ROOT / "demo" / "data" / "baseline.csv"
HOUR = datetime(2024, 6, 11, 10, tzinfo=UTC)
RECORDS = 1500


def _requests(drift: bool) -> list[tuple[str, str]]:
    rng = np.random.default_rng(5 if drift else 6)
    rows = draw_feature_rows(rng, RECORDS, drift=drift)
    # The endpoint's prediction: tips like the baseline's (the model is not what is being tested here).
    # An array, not a list: Generator.choice converts a list to an array on every call (1,500 calls, 2.5 s).
    tips = np.array([line.split(",")[0] for line in BASELINE_CSV.read_text().splitlines()[1:]])
    requests = []
    for index, row in enumerate(rows):
        line = format_csv_row(row)
        if drift and index % 10 == 0:
            line += ",1"  # a ninth column the baseline never saw
        requests.append((line, str(rng.choice(tips))))
    return requests


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("taxi")
    baseline = root / "baseline"
    assert (
        main(
            [
                "baseline",
                "--dataset",
                str(BASELINE_CSV),
                "--format",
                "csv",
                "--header",
                "--out",
                str(baseline),
                "--quiet",
            ]
        )
        == 0
    )
    folders = {}
    for label, drift in (("steady", False), ("drifted", True)):
        capture = root / f"capture-{label}"
        write_capture_files(capture, _requests(drift), HOUR)
        output = root / label
        argv = ["analyze", "--capture", str(capture), "--baseline", str(baseline), "--out", str(output), "--quiet",
                "--start", "2024-06-11T10:00:00Z", "--end", "2024-06-11T11:00:00Z"]  # fmt: skip
        assert main(argv, stdout=io.StringIO()) == 0
        folders[label] = output
    folders["baseline"] = baseline
    return folders


def _violations(folder: Path) -> list[dict[str, str]]:
    document: dict[str, list[dict[str, str]]] = json.loads((folder / "constraint_violations.json").read_text())
    return document["violations"]


def test_the_baseline_types_the_demo_columns_as_the_analyzer_would(run: dict[str, Path]) -> None:
    constraints = json.loads((run["baseline"] / "constraints.json").read_text())
    types = {feature["name"]: feature["inferred_type"] for feature in constraints["features"]}
    assert list(types) == [TARGET_NAME, *FEATURE_NAMES]
    assert {name for name, kind in types.items() if kind == "Integral"} == {
        "passenger_count",
        "pickup_hour",
        "pickup_weekday",
    }


def test_steady_traffic_violates_nothing(run: dict[str, Path]) -> None:
    assert _violations(run["steady"]) == []


def test_drifted_traffic_gets_each_check_with_the_analyzers_wording(run: dict[str, Path]) -> None:
    violations = _violations(run["drifted"])
    by_check: dict[str, dict[str, str]] = {}
    for violation in violations:
        by_check.setdefault(f"{violation['constraint_check_type']}:{violation['feature_name']}", violation)
    passenger = by_check["data_type_check:passenger_count"]["description"]
    assert passenger.startswith(
        "Data type match requirement is not met. Expected data type: Integral, Expected match: 100.0%. Observed: Only "
    )
    assert passenger.endswith("% of data is Integral.")
    drift = by_check["baseline_drift_check:total_amount"]["description"]
    distance = float(drift.removeprefix("Numerical distance: ").split(" ")[0])
    assert distance > 0.5 and drift.endswith("exceeds numerical threshold: 0.1")
    assert "completeness_check:fare_amount" in by_check
    assert set(by_check) >= {"extra_column_check:_c9"}  # the prediction is _c0's place: tip_amount, then 8 features
    assert all(
        v["feature_name"] != TARGET_NAME or v["constraint_check_type"] == "baseline_drift_check" for v in violations
    )


def test_the_violation_metric_function_reads_the_engines_files_unchanged(run: dict[str, Path]) -> None:
    violations = parse_violations((run["drifted"] / "constraint_violations.json").read_bytes())
    monitored = parse_monitored_features((run["baseline"] / "constraints.json").read_bytes())
    summary = summarize(violations, monitored)
    assert summary.monitored_features == 9
    assert summary.unmonitored_violated_features == ("_c9",)
    assert summary.violations_by_check_type["data_type_check"] >= 1
    assert summary.violations_by_check_type["baseline_drift_check"] >= 1
    assert summary.violations_by_check_type["completeness_check"] >= 1
    assert summary.violations_by_check_type["extra_column_check"] == 1
    assert summary.violation_percentage == 100.0


def test_ops_reads_and_reports_the_engines_files_unchanged(run: dict[str, Path], tmp_path: Path) -> None:
    baseline = ops_parse_statistics((run["baseline"] / "statistics.json").read_bytes())
    current = ops_parse_statistics((run["drifted"] / "statistics.json").read_bytes())
    constraints = ops_parse_constraints((run["baseline"] / "constraints.json").read_bytes())
    total = current.by_name()["total_amount"]
    assert (total.kind, len(total.buckets)) == ("numerical", 10)
    assert total.mean is not None and total.mean > baseline.by_name()["total_amount"].mean  # type: ignore[operator]
    assert constraints["passenger_count"].describe() == "Integral, completeness >= 1, non-negative"

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = ops_main(
            ["report", "--baseline", str(run["baseline"]), "--execution", str(run["drifted"]), "--out", str(tmp_path)]
        )
    assert code == 0
    assert "baseline_drift_check" in out.getvalue() and "total_amount" in out.getvalue()
    assert (tmp_path / "report.png").stat().st_size > 0
    assert "passenger_count" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_the_feature_metrics_are_published_with_model_monitors_names_and_dimensions(run: dict[str, Path]) -> None:
    baseline = parse_statistics((run["baseline"] / "statistics.json").read_bytes())
    constraints = parse_constraints((run["baseline"] / "constraints.json").read_bytes())
    capture = run["drifted"].parent / "capture-drifted"
    analysis = run_analysis(
        sorted(capture.rglob("*.jsonl")),
        baseline=baseline,
        constraints=constraints,
        options=CaptureOptions(baseline_columns=[f.name for f in constraints.features]),
        workers=1,
    )
    publisher = InMemoryPublisher()
    publisher.publish(
        DATA_METRICS_NAMESPACE,
        metric_data(analysis.feature_metrics, endpoint_name="taxi-endpoint", monitoring_schedule_name="hourly"),
    )
    values: dict[str, Any] = publisher.values()
    assert values["feature_baseline_drift_total_amount"] == analysis.distances["total_amount"] > 0.5
    assert 0.9 < values["feature_non_null_fare_amount"] < 1.0
    data = values["feature_data_fare_amount"]
    assert isinstance(data, StatisticSet) and data.sample_count < RECORDS and data.minimum >= 3.0
    namespaces = {namespace for namespace, _ in publisher.published}
    dimensions = {datum.dimensions for _, datum in publisher.published}
    assert namespaces == {"aws/sagemaker/Endpoints/data-metrics"}
    assert dimensions == {(("Endpoint", "taxi-endpoint"), ("MonitoringSchedule", "hourly"))}
