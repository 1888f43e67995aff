"""Data-capture files, real ones from the shared fixtures and crafted ones, read as Model Monitor reads them."""

import base64
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from drift_engine import (
    CaptureOptions,
    analyze_profile,
    merge_profiles,
    parse_constraints,
    parse_statistics,
    profile_batch,
    profile_capture_file,
    statistics_document,
)
from drift_engine import capture as capture_module
from drift_engine.capture import (
    CaptureReadResult,
    file_in_window,
    iter_capture_batches,
    iter_capture_file,
    iter_capture_files,
)
from drift_engine.profile import DatasetProfile

from .conftest import NOTEBOOK_OUTPUTS, SDK_MONITOR, capture_line

CHURN_CONSTRAINTS = NOTEBOOK_OUTPUTS / "churn_dataquality_baseline_2021-05-18/constraints.json"
NO_STATISTICS = parse_statistics(b'{"version": 0.0, "features": []}')


def test_csv_capture_names_columns_from_the_baseline_with_the_output_first() -> None:
    constraints = parse_constraints(CHURN_CONSTRAINTS.read_bytes())
    names = [feature.name for feature in constraints.features]
    profile = profile_capture_file(
        NOTEBOOK_OUTPUTS / "capture_csv_churn_2021-05-18.jsonl", options=CaptureOptions(baseline_columns=names)
    )
    assert (profile.item_count, profile.malformed) == (3, 0)
    assert list(profile.columns) == names  # 1 output + 69 inputs = the baseline's 70 columns, in order
    churn = profile.columns["Churn"]  # position 0: the endpoint's output, a probability
    assert (churn.inferred_type, churn.minimum, churn.maximum) == (
        "Fractional",
        0.017852725461125374,
        0.3791300654411316,
    )
    assert profile.columns["Account Length"].minimum == 85.0  # the first input value

    analysis = analyze_profile(profile, NO_STATISTICS, constraints)
    churn_checks = [v.to_json() for v in analysis.violations if v.feature_name == "Churn"]
    # The analyzer's own verdict on such traffic (dataquality_violations_table_2021-05-18.txt, row 6):
    assert churn_checks == [
        {
            "feature_name": "Churn",
            "constraint_check_type": "data_type_check",
            "description": "Data type match requirement is not met. Expected data type: Integral, Expected match: "
            "100.0%. Observed: Only 0.0% of data is Integral.",
        }
    ]


def test_output_columns_at_the_end() -> None:
    profile = profile_capture_file(
        NOTEBOOK_OUTPUTS / "capture_csv_churn_2022-04-18.jsonl", options=CaptureOptions(output_columns_position="END")
    )
    assert profile.columns["_c69"].maximum == 0.3791300654411316
    assert profile.columns["_c0"].minimum == 85.0


def test_json_capture_with_instances_and_named_predictions() -> None:
    profile = profile_capture_file(NOTEBOOK_OUTPUTS / "capture_json_adult_2024-01-19.jsonl", options=CaptureOptions())
    assert profile.item_count == 3  # one instance, then two in one request
    assert list(profile.columns)[:3] == ["score", "predicted_label", "_c2"]
    assert profile.columns["score"].inferred_type == "Fractional"
    assert profile.columns["predicted_label"].inferred_type == "Integral"
    assert profile.columns["_c2"].minimum == 28.0 and profile.columns["_c2"].maximum == 43.0
    assert len(profile.columns) == 2 + 14


def test_json_lines_capture_with_several_records_per_payload() -> None:
    profile = profile_capture_file(
        NOTEBOOK_OUTPUTS / "capture_jsonlines_adult_2023-01-19.jsonl", options=CaptureOptions()
    )
    assert profile.item_count == 3
    assert profile.columns["score"].numeric_count == 3
    assert profile.columns["_c4"].maximum == 133937.0  # third feature, after the two named outputs


def test_scalar_instances_are_one_record_each() -> None:
    profile = profile_capture_file(SDK_MONITOR / "captured-data.jsonl", options=CaptureOptions())
    assert profile.item_count == 6  # 3 instances x 2 lines
    assert (profile.columns["_c0"].minimum, profile.columns["_c0"].maximum) == (3.5, 5.5)  # predictions first
    assert (profile.columns["_c1"].minimum, profile.columns["_c1"].maximum) == (1.0, 5.0)


def test_a_time_placeholder_is_fine_without_a_window_and_malformed_with_one() -> None:
    assert profile_capture_file(SDK_MONITOR / "capture.jsonl", options=CaptureOptions()).item_count == 44
    windowed = CaptureOptions(start=datetime(2020, 1, 1, tzinfo=UTC), end=datetime(2030, 1, 1, tzinfo=UTC))
    profile = profile_capture_file(SDK_MONITOR / "capture.jsonl", options=windowed)
    assert (profile.item_count, profile.malformed) == (0, 44)  # "inferenceTime": "{%s}" cannot be placed


def test_malformed_lines_are_counted_and_the_run_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "capture.jsonl"
    shutil.copy(NOTEBOOK_OUTPUTS / "capture_csv_churn_2021-05-18.jsonl", path)
    when = datetime(2021, 5, 18, 0, 30, tzinfo=UTC)
    bad_base64 = json.loads(capture_line("1,2", "0.5", when))
    bad_base64["captureData"]["endpointInput"].update(encoding="BASE64", data="not base64!")
    with path.open("a") as handle:
        handle.write("\nnot json at all\n")
        handle.write('{"captureData": 5}\n')
        handle.write(capture_line("1,2\n3,4", "0.5", when) + "\n")  # two inputs, one output
        handle.write(json.dumps(bad_base64) + "\n")
        handle.write('{"truncated": \n')
    profile = profile_capture_file(path, options=CaptureOptions())
    assert (profile.item_count, profile.malformed) == (3, 5)


def test_base64_payloads_and_several_csv_lines_per_record() -> None:
    when = datetime(2024, 1, 1, 12, tzinfo=UTC)
    record = json.loads(capture_line("", "", when))
    record["captureData"]["endpointInput"].update(
        encoding="BASE64", data=base64.b64encode(b"1,2.5,a\n3,4.5,b\n").decode()
    )
    record["captureData"]["endpointOutput"].update(encoding="BASE64", data=base64.b64encode(b"0.1\n0.9\n").decode())
    result = CaptureReadResult()
    (batch,) = iter_capture_batches([json.dumps(record)], CaptureOptions(baseline_columns=["y", "x1"]), result)
    assert batch.to_pydict() == {"y": ["0.1", "0.9"], "x1": ["1", "3"], "_c2": ["2.5", "4.5"], "_c3": ["a", "b"]}
    assert (result.records, result.malformed) == (1, 0)


def test_records_are_selected_by_inference_time() -> None:
    lines = [capture_line("1", "0", datetime(2024, 1, 1, hour, minute, tzinfo=UTC)) for hour, minute in
             [(9, 59), (10, 0), (10, 30), (10, 59), (11, 0)]]  # fmt: skip
    options = CaptureOptions(start=datetime(2024, 1, 1, 10, tzinfo=UTC), end=datetime(2024, 1, 1, 11, tzinfo=UTC))
    result = CaptureReadResult()
    rows = sum(batch.num_rows for batch in iter_capture_batches(lines, options, result))
    assert (rows, result.outside_window, result.malformed) == (3, 2, 0)


@pytest.mark.parametrize(
    ("folder", "kept"),
    [("2024/01/01/10", True), ("2024/01/01/09", True), ("2024/01/01/08", False), ("2024/01/01/11", True),
     ("2024/01/01/12", False), ("no-date-folder", True)],
)  # fmt: skip
def test_capture_files_are_selected_by_their_hour_folder(folder: str, kept: bool) -> None:
    options = CaptureOptions(start=datetime(2024, 1, 1, 10, tzinfo=UTC), end=datetime(2024, 1, 1, 11, tzinfo=UTC))
    assert file_in_window(Path(f"/capture/endpoint/AllTraffic/{folder}/file.jsonl"), options) is kept


def _varied_capture_file(path: Path, *, broken: bool, records: int = 1800) -> None:
    """Every shape a capture line takes, mixed: what the column-wise reader handles and what it hands back."""
    rng = np.random.default_rng(9)
    lines = []
    for index in range(records):  # under 2048 values per column: both sketches exact, so comparable item by item
        when = datetime(2024, 1, 1, 9 + index % 3, index % 60, tzinfo=UTC)
        values = ",".join(f"{v:.2f}" if rng.random() > 0.05 else "" for v in rng.normal(10, 3, 3))
        kind = index % 10
        if kind == 0:
            values += ",extra"  # a fourth column
        if kind == 1:
            lines.append(capture_line(values + "\n" + values, "0.1\n0.2", when))  # two records in one payload
        elif kind == 2:
            lines.append(capture_line('"1,5",2,3', "0.3", when))  # a quoted comma
        elif kind == 3:
            payload = json.dumps({"instances": [[1, 2.5, 3]]})
            lines.append(capture_line(payload, '{"predictions": [0.4]}', when, content_type="application/json"))
        elif kind == 4:
            record = json.loads(capture_line(values, "0.5", when))
            del record["captureData"]["endpointOutput"]  # input-only capture
            lines.append(json.dumps(record))
        elif kind == 5 and index % 100 == 5:
            lines.append(capture_line(values, "0.6", when).replace('"inferenceTime":"', '"inferenceTime":"x'))
        elif kind == 6 and index % 100 == 6:
            lines.append(capture_line("1,2\n3,4", "0.5", when))  # two inputs, one output: malformed
        else:
            lines.append(capture_line(values, f"{rng.random():.3f}\n", when))
    if broken:
        lines.insert(len(lines) // 2, "{not json")
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(("windowed", "broken"), [(False, False), (True, False), (True, True)])
def test_the_column_wise_reader_agrees_with_the_per_record_reader(
    tmp_path: Path, windowed: bool, broken: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``broken``: a line that is not JSON halfway, after several blocks were read column-wise."""
    monkeypatch.setattr(capture_module, "_CAPTURE_BLOCK_SIZE", 32 << 10)
    path = tmp_path / "capture.jsonl"
    _varied_capture_file(path, broken=broken)
    options = CaptureOptions(
        baseline_columns=["y", "a", "b", "c"],
        start=datetime(2024, 1, 1, 10, tzinfo=UTC) if windowed else None,
        end=datetime(2024, 1, 1, 11, tzinfo=UTC) if windowed else None,
    )
    fast_result, slow_result = CaptureReadResult(), CaptureReadResult()
    fast = merge_profiles(profile_batch(batch) for batch in iter_capture_file(path, options, fast_result))
    with path.open() as lines:
        slow = merge_profiles(profile_batch(batch) for batch in iter_capture_batches(lines, options, slow_result))
    counts = (fast_result.records, fast_result.malformed, fast_result.outside_window)
    assert counts == (slow_result.records, slow_result.malformed, slow_result.outside_window)
    assert fast_result.malformed >= 18 and (fast_result.outside_window > 1000) is windowed
    assert fast.item_count == slow.item_count > 500
    _assert_same_statistics(fast, slow)


def test_files_read_together_agree_with_the_per_record_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Consecutive files are split into rows together (here the first two, then the third): same rows, same
    counts, a broken line in the middle file counted there, as when every line is read on its own."""
    monkeypatch.setattr(capture_module, "_ROWS_PER_BATCH", 1000)
    paths = [tmp_path / f"capture-{index}.jsonl" for index in range(3)]
    for index, path in enumerate(paths):
        _varied_capture_file(path, broken=index == 1, records=600)  # 1,800 values per column in all: exact sketches
    options = CaptureOptions(baseline_columns=["y", "a", "b", "c"])
    together, one_by_one = CaptureReadResult(), CaptureReadResult()
    batches = list(iter_capture_files(paths, options, together))
    assert [batch.num_rows for batch in batches if batch.num_rows > 600]  # two files' rows in one batch
    fast = merge_profiles(profile_batch(batch) for batch in batches)
    lines = [line for path in paths for line in path.read_text().splitlines()]
    slow = merge_profiles(profile_batch(batch) for batch in iter_capture_batches(lines, options, one_by_one))
    assert (together.records, together.malformed) == (one_by_one.records, one_by_one.malformed)
    assert together.malformed == 3 * 6 + 1
    assert fast.item_count == slow.item_count > 1500
    _assert_same_statistics(fast, slow)


def _assert_same_statistics(fast: DatasetProfile, slow: DatasetProfile) -> None:
    fast_features = {f["name"]: f for f in statistics_document(fast)["features"]}
    slow_features = {f["name"]: f for f in statistics_document(slow)["features"]}
    assert set(fast_features) == set(slow_features) == {"y", "a", "b", "c", "_c4"}
    for name, feature in fast_features.items():
        numbers = feature.get("numerical_statistics")
        if numbers is not None:  # batches differ, so the running second moment may differ in its last bits
            other = slow_features[name]["numerical_statistics"]
            assert numbers.pop("std_dev") == pytest.approx(other.pop("std_dev"), rel=1e-12)
        strings = feature.get("string_statistics")
        if strings is not None:  # a high-cardinality string column: the distinct count is an HLL estimate
            other = slow_features[name]["string_statistics"]
            assert strings.pop("distinct_count") == pytest.approx(other.pop("distinct_count"), rel=0.05)
        assert feature == slow_features[name]
