"""The embedded demo: a small synthetic NYC-taxi-like dataset and an XGBoost model trained on it.

The default stage deploys this model behind a real-time endpoint, so a fresh account gets a working
endpoint without bringing its own. Regenerate (byte-identical output for the same library versions)::

    python -m demo.generate_demo            # writes demo/data/*.csv and demo/model/model.tar.gz
    python -m demo.generate_demo --out-dir /tmp/demo

Outputs:

* ``data/train.csv``: the built-in XGBoost CSV format: no header, the label first, then the features.
* ``data/baseline.csv``: the Model Monitor baseline dataset: a header row, ``tip_amount`` first (the
  monitoring job's ``output_columns_position: START`` lines the prediction up with it), then the features.
* ``model/model.tar.gz``: one file, ``xgboost-model``, the name the SageMaker XGBoost container loads.

Integral columns are written without a decimal point and money with exactly two decimals, so Model
Monitor infers ``Integral`` and ``Fractional`` types. ``draw_feature_rows`` and ``format_csv_row`` are
the same recipe for request traffic, with a ``drift`` switch.
"""

from __future__ import annotations

import argparse
import gzip
import io
import tarfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

# Re-exported (the "as" form): the traffic command and the tests read them from the generator.
from demo.features import FEATURE_NAMES as FEATURE_NAMES
from demo.features import TARGET_NAME as TARGET_NAME

#: The SageMaker XGBoost container (``image_uris.retrieve("xgboost", region, version=...)``) serving the
#: model: the newest version sagemaker-core 2.27.0 lists for inference.
XGBOOST_CONTAINER_VERSION = "3.2-0"
#: The xgboost library that container runs, the one that trains the model here and the one pinned in
#: requirements-dev.txt. Source: aws/deep-learning-containers, which builds the 3.2-0 image:
#: docker/xgboost/pyproject.toml (project "xgboost-dlc" 3.2.0, Python 3.12, depends on xgboost==3.2.0)
#: and docs/src/data/sagemaker-xgboost/3.2-0-cpu-sagemaker.yml (tag "3.2-0", py312, GA 2026-05-13).
XGBOOST_LIBRARY_VERSION = "3.2.0"

#: Columns written as integers (no decimal point): Model Monitor infers them as Integral.
INTEGRAL_FEATURES: frozenset[str] = frozenset({"passenger_count", "pickup_hour", "pickup_weekday"})

SEED = 20240611
TRAIN_ROWS = 2000
BASELINE_ROWS = 1000
MODEL_FILE_NAME = "xgboost-model"
#: Training parameters: small and single-threaded, so the model bytes are deterministic.
XGBOOST_PARAMS: dict[str, str | int | float] = {
    "objective": "reg:squarederror",
    "max_depth": 4,
    "eta": 0.2,
    "subsample": 1.0,
    "nthread": 1,
    "seed": 0,
    "tree_method": "hist",
}
NUM_ROUNDS = 40

DEFAULT_OUT_DIR = Path(__file__).resolve().parent

Value = float | int | None
FloatArray = npt.NDArray[np.float64]


def _cents(values: npt.ArrayLike) -> FloatArray:
    """Rounded to two decimals (money, miles)."""
    return np.asarray(values, dtype=np.float64).round(2)


def _draw_columns(rng: np.random.Generator, n: int) -> dict[str, FloatArray]:
    """``n`` trips: every feature and the target, money rounded to cents."""
    passenger_count = rng.choice(np.arange(1, 7), size=n, p=[0.68, 0.17, 0.05, 0.04, 0.04, 0.02]).astype(np.float64)
    trip_distance = _cents(np.clip(rng.lognormal(mean=0.6, sigma=0.7, size=n), 0.1, 40.0))
    # More pickups by day and in the evening than at night.
    hour_weights = np.array([3, 2, 1, 1, 1, 2, 3, 5, 6, 6, 5, 5, 6, 6, 6, 6, 6, 7, 8, 8, 7, 6, 5, 4], float)
    pickup_hour = rng.choice(np.arange(24), size=n, p=hour_weights / hour_weights.sum()).astype(np.float64)
    pickup_weekday = rng.integers(0, 7, size=n).astype(np.float64)
    fare_amount = _cents(np.maximum(3.0 + 2.5 * trip_distance + rng.normal(0.0, 1.0, size=n), 3.0))
    # Surcharges: $1 in the weekday rush hour, $0.50 overnight, otherwise none (sometimes not charged).
    rush = (pickup_hour >= 16) & (pickup_hour < 20) & (pickup_weekday < 5)
    overnight = (pickup_hour >= 20) | (pickup_hour < 6)
    charged = rng.random(n) < 0.9
    extra = np.where(charged & rush, 1.0, np.where(charged & overnight, 0.5, 0.0))
    toll_probability = np.where(trip_distance > 8.0, 0.35, 0.03)
    tolls_amount = np.where(rng.random(n) < toll_probability, 6.55, 0.0)
    total_amount = _cents(fare_amount + extra + tolls_amount + 0.5)
    tip_rate = 0.17 + 0.01 * (passenger_count - 1) + 0.03 * overnight + rng.normal(0.0, 0.02, size=n)
    tip_amount = _cents(np.maximum(fare_amount * tip_rate + rng.normal(0.0, 0.3, size=n), 0.0))
    return {
        "passenger_count": passenger_count,
        "trip_distance": trip_distance,
        "pickup_hour": pickup_hour,
        "pickup_weekday": pickup_weekday,
        "fare_amount": fare_amount,
        "extra": extra,
        "tolls_amount": tolls_amount,
        "total_amount": total_amount,
        TARGET_NAME: tip_amount,
    }


def _drift(rng: np.random.Generator, columns: dict[str, FloatArray]) -> dict[str, FloatArray]:
    """The same trips, drifted: fractional passenger counts, inflated totals, some missing values."""
    n = len(columns[TARGET_NAME])
    drifted = dict(columns)
    fractional = rng.random(n) < 0.5
    drifted["passenger_count"] = np.where(
        fractional,
        np.round(columns["passenger_count"] + rng.uniform(0.1, 0.9, size=n), 1),
        columns["passenger_count"],
    )
    drifted["total_amount"] = _cents(columns["total_amount"] * rng.uniform(1.5, 2.5, size=n) + 5.0)
    for name in FEATURE_NAMES:
        missing = rng.random(n) < 0.05
        drifted[name] = np.where(missing, np.nan, drifted[name])
    return drifted


def _rows(columns: dict[str, FloatArray], names: Sequence[str]) -> list[list[Value]]:
    """Row-major Python values: ints for integral whole numbers, ``None`` for missing."""
    rows: list[list[Value]] = []
    for i in range(len(columns[names[0]])):
        row: list[Value] = []
        for name in names:
            value = float(columns[name][i])
            if np.isnan(value):
                row.append(None)
            elif name in INTEGRAL_FEATURES and value.is_integer():
                row.append(int(value))
            else:
                row.append(value)
        rows.append(row)
    return rows


def draw_feature_rows(rng: np.random.Generator, n: int, *, drift: bool = False) -> list[list[Value]]:
    """``n`` rows of the 8 features in ``FEATURE_NAMES`` order, like the demo data.

    With ``drift``, about half the passenger counts are fractional, total_amount is inflated, and about
    5 % of the values of each feature are missing (``None``). Render a row with ``format_csv_row``.
    """
    columns = _draw_columns(rng, n)
    if drift:
        columns = _drift(rng, columns)
    return _rows(columns, FEATURE_NAMES)


def draw_drifted_feature_rows(rng: np.random.Generator, n: int) -> list[list[Value]]:
    """``draw_feature_rows(rng, n, drift=True)``."""
    return draw_feature_rows(rng, n, drift=True)


def format_value(value: Value) -> str:
    """One CSV field: an int as is, a float with two decimals, ``None`` as an empty field."""
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return f"{value:.2f}"


def format_csv_row(row: Sequence[Value]) -> str:
    """One CSV line without the newline, e.g. a ``text/csv`` request body for the endpoint."""
    return ",".join(format_value(value) for value in row)


def _csv(rows: list[list[Value]], header: Sequence[str] | None = None) -> bytes:
    lines = [",".join(header)] if header is not None else []
    lines.extend(format_csv_row(row) for row in rows)
    return ("\n".join(lines) + "\n").encode("ascii")


def train_model(rows: list[list[Value]]) -> bytes:
    """Train on label-first rows; returns the model as UBJSON, the format ``xgboost-model`` is read in.

    xgboost 3.x saves and loads a file name without an extension as UBJSON (``Booster.load_model`` logs
    "Unknown file format ... Using UBJSON as a guess"); ``save_raw("ubj")`` gives the same bytes as
    ``save_model("xgboost-model")`` without the warning.
    """
    import xgboost as xgb  # imported here: keep `import demo.generate_demo` light for traffic tools

    data = np.array(rows, dtype=np.float64)
    # No feature names: the container builds the DMatrix from an unnamed text/csv payload.
    dtrain = xgb.DMatrix(data[:, 1:], label=data[:, 0])
    booster = xgb.train(XGBOOST_PARAMS, dtrain, num_boost_round=NUM_ROUNDS)
    return bytes(booster.save_raw(raw_format="ubj"))


def model_tarball(model: bytes) -> bytes:
    """``model.tar.gz`` holding only ``xgboost-model``, with fixed metadata so the bytes are stable."""
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(MODEL_FILE_NAME)
        info.size = len(model)
        info.mtime = 0
        info.mode = 0o644
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        tar.addfile(info, io.BytesIO(model))
    gz_buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=gz_buffer, compresslevel=9, mtime=0) as gz:
        gz.write(tar_buffer.getvalue())
    return gz_buffer.getvalue()


def generate(out_dir: Path = DEFAULT_OUT_DIR) -> dict[str, Path]:
    """Write the demo files under ``out_dir``; returns them by name."""
    rng = np.random.default_rng(SEED)
    train_rows = _rows(_draw_columns(rng, TRAIN_ROWS), (TARGET_NAME, *FEATURE_NAMES))
    baseline_rows = _rows(_draw_columns(rng, BASELINE_ROWS), (TARGET_NAME, *FEATURE_NAMES))
    # Train on exactly what train.csv holds (the rounded values), as a training job would.
    model = train_model(train_rows)
    outputs = {
        "train": out_dir / "data" / "train.csv",
        "baseline": out_dir / "data" / "baseline.csv",
        "model": out_dir / "model" / "model.tar.gz",
    }
    contents = {
        "train": _csv(train_rows),
        "baseline": _csv(baseline_rows, header=(TARGET_NAME, *FEATURE_NAMES)),
        "model": model_tarball(model),
    }
    for key, path in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(contents[key])
    return outputs


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument(
        "--out-dir", type=Path, default=DEFAULT_OUT_DIR, help="where data/ and model/ go (default: demo/)"
    )
    args = parser.parse_args(argv)
    for path in generate(args.out_dir).values():
        print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
