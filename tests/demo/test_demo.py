"""The embedded demo data and model: format, determinism, and that the model loads like the container."""

from __future__ import annotations

import json
import tarfile
from importlib.metadata import distribution
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from demo import generate_demo as demo

DEMO_DIR = Path(demo.__file__).resolve().parent
TRAIN_CSV = DEMO_DIR / "data" / "train.csv"
BASELINE_CSV = DEMO_DIR / "data" / "baseline.csv"
MODEL_TARBALL = DEMO_DIR / "model" / "model.tar.gz"
INTEGRAL_INDEXES = [i for i, name in enumerate(demo.FEATURE_NAMES) if name in demo.INTEGRAL_FEATURES]


def test_installed_xgboost_is_the_library_the_container_runs() -> None:
    assert xgb.__version__ == demo.XGBOOST_LIBRARY_VERSION


def test_container_version_is_listed_for_inference_by_the_sdk() -> None:
    # Read the SDK's table directly: importing sagemaker.core costs seconds.
    config_path = distribution("sagemaker-core").locate_file("sagemaker/core/image_uri_config/xgboost.json")
    config = json.loads(Path(str(config_path)).read_text(encoding="utf-8"))
    assert demo.XGBOOST_CONTAINER_VERSION in config["inference"]["versions"]


def test_model_loads_like_the_container_and_predicts_tips(tmp_path: Path) -> None:
    # The one member is read by name and written here: extractall's safe filter needs Python 3.11.4+.
    with tarfile.open(MODEL_TARBALL, "r:gz") as tar:
        assert tar.getnames() == [demo.MODEL_FILE_NAME]
        model = tar.extractfile(demo.MODEL_FILE_NAME)
        assert model is not None
        (tmp_path / demo.MODEL_FILE_NAME).write_bytes(model.read())

    booster = xgb.Booster()
    # The container's Booster.load_model on the extension-less name: xgboost 3.x guesses UBJSON.
    with pytest.warns(UserWarning, match="UBJSON"):
        booster.load_model(str(tmp_path / demo.MODEL_FILE_NAME))

    baseline = np.loadtxt(BASELINE_CSV, delimiter=",", skiprows=1)
    tips, features = baseline[:, 0], baseline[:, 1:]
    predictions = booster.predict(xgb.DMatrix(features))
    rmse = float(np.sqrt(np.mean((predictions - tips) ** 2)))
    assert rmse < 0.6 * float(tips.std()), (rmse, float(tips.std()))


def test_generator_is_deterministic(tmp_path: Path) -> None:
    outputs = demo.generate(tmp_path)
    committed = {"train": TRAIN_CSV, "baseline": BASELINE_CSV, "model": MODEL_TARBALL}
    for key, path in committed.items():
        assert outputs[key].read_bytes() == path.read_bytes(), f"{path.name} differs; rerun the generator"


def test_csv_layouts() -> None:
    baseline_lines = BASELINE_CSV.read_text(encoding="ascii").splitlines()
    assert baseline_lines[0].split(",") == [demo.TARGET_NAME, *demo.FEATURE_NAMES]
    train_lines = TRAIN_CSV.read_text(encoding="ascii").splitlines()
    assert 1500 <= len(train_lines) <= 2500
    assert 800 <= len(baseline_lines) - 1 <= 1200
    for lines in (train_lines, baseline_lines[1:]):
        for line in lines:
            fields = line.split(",")
            assert len(fields) == 1 + len(demo.FEATURE_NAMES)
            float(fields[0])  # no header in train.csv: every first field is a number
            assert all("." not in fields[1 + i] for i in INTEGRAL_INDEXES), line
    # Money and distances always carry their decimals, so Model Monitor infers Fractional.
    assert all(len(line.split(",")[2].split(".")[1]) == 2 for line in train_lines)


def test_demo_files_are_small() -> None:
    total = sum(p.stat().st_size for p in (TRAIN_CSV, BASELINE_CSV, MODEL_TARBALL))
    assert total < 300_000


def test_drawn_rows_look_like_the_demo_data() -> None:
    rows = demo.draw_feature_rows(np.random.default_rng(1), 500)
    assert len(rows) == 500
    assert all(len(row) == len(demo.FEATURE_NAMES) for row in rows)
    assert all(value is not None for row in rows for value in row)
    for i in INTEGRAL_INDEXES:
        assert all(isinstance(row[i], int) for row in rows)
    line = demo.format_csv_row(rows[0])
    assert len(line.split(",")) == len(demo.FEATURE_NAMES)


def test_drifted_rows_really_drift() -> None:
    normal = demo.draw_feature_rows(np.random.default_rng(2), 500)
    drifted = demo.draw_drifted_feature_rows(np.random.default_rng(2), 500)
    assert all(len(row) == len(demo.FEATURE_NAMES) for row in drifted)
    passenger = demo.FEATURE_NAMES.index("passenger_count")
    total = demo.FEATURE_NAMES.index("total_amount")
    passengers = [row[passenger] for row in drifted]
    assert any(isinstance(value, float) and not value.is_integer() for value in passengers)
    missing = sum(value is None for row in drifted for value in row)
    assert 0 < missing < 0.2 * 500 * len(demo.FEATURE_NAMES)

    def mean_total(rows: list[list[float | int | None]]) -> float:
        return float(np.mean([row[total] for row in rows if row[total] is not None]))

    assert mean_total(drifted) > 1.4 * mean_total(normal)
    # A missing value renders as an empty CSV field.
    row_with_gap = next(row for row in drifted if None in row)
    assert "" in demo.format_csv_row(row_with_gap).split(",")
