"""Demo traffic as SageMaker's data capture writes it: JSON Lines files in ``<endpoint>/<variant>/yyyy/mm/dd/hh/``.

For the lab, the builtin engine's end-to-end test and the measurement script: an hour of requests at a steady
rate, each a ``text/csv`` row of the 8 demo features (normal or drifted, drawn by :mod:`demo.generate_demo`)
answered by the demo model's prediction, captured one record per request as the endpoint does (AWS docs,
"Capture data from real-time endpoint": ``captureData.endpointInput``/``endpointOutput``, ``eventMetadata``
with ``inferenceTime``, ``eventVersion`` ``"0"``). SageMaker starts a new capture file every few minutes and
names it ``<mm>-<ss>-<ms>-<uuid>.jsonl`` inside the hour folder of its first record; so does this.

The predictions come from the demo model itself (xgboost, a development requirement) when it can be loaded,
so the captured output column looks like the baseline's ``tip_amount``.
"""

from __future__ import annotations

import json
import tarfile
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from demo.generate_demo import MODEL_FILE_NAME, Value, draw_feature_rows, format_csv_row, format_value

__all__ = ["MODEL_TARBALL", "capture_hour", "capture_line", "predict_tips"]

MODEL_TARBALL = Path(__file__).resolve().parent / "model" / "model.tar.gz"
_MINUTES_PER_FILE = 5


@cache
def _booster() -> Any:
    import xgboost as xgb  # development requirement; imported only when predictions are asked for

    with tarfile.open(MODEL_TARBALL, "r:gz") as tar:
        member = tar.extractfile(MODEL_FILE_NAME)
        assert member is not None
        raw = member.read()
    booster = xgb.Booster()
    booster.load_model(bytearray(raw))
    return booster


def predict_tips(rows: Sequence[Sequence[Value]]) -> list[float]:
    """The demo model's predictions for feature rows (missing values as NaN, as the container reads them)."""
    import xgboost as xgb

    features = np.array([[np.nan if value is None else float(value) for value in row] for row in rows], float)
    return [round(float(value), 2) for value in _booster().predict(xgb.DMatrix(features))]


def capture_line(request_body: str, response_body: str, when: datetime, event_id: str) -> str:
    """One data-capture record (one line), ``text/csv`` in and out."""
    return json.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": "text/csv",
                    "mode": "INPUT",
                    "data": request_body,
                    "encoding": "CSV",
                },
                "endpointOutput": {
                    "observedContentType": "text/csv; charset=utf-8",
                    "mode": "OUTPUT",
                    "data": response_body,
                    "encoding": "CSV",
                },
            },
            "eventMetadata": {
                "eventId": event_id,
                "inferenceTime": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
            "eventVersion": "0",
        },
        separators=(",", ":"),
    )


def capture_hour(
    *,
    endpoint_name: str,
    hour: datetime,
    requests_per_second: float = 10.0,
    drift: bool = False,
    seed: int = 0,
    variant_name: str = "AllTraffic",
    records: int | None = None,
) -> dict[str, bytes]:
    """One hour of captured demo traffic: object key (relative to the capture prefix) → file content.

    ``records`` requests (default: ``requests_per_second`` * 3600) spread evenly over the hour starting at
    ``hour``; a new file every 5 minutes.
    """
    start = hour.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    count = records if records is not None else round(requests_per_second * 3600)
    rng = np.random.default_rng(seed)
    rows = draw_feature_rows(rng, count, drift=drift)
    predictions = predict_tips(rows)
    ids = uuid.UUID(bytes=rng.bytes(16))
    files: dict[str, list[str]] = {}
    step = 3600.0 / max(count, 1)
    for index, (row, prediction) in enumerate(zip(rows, predictions, strict=True)):
        when = start + timedelta(seconds=index * step)
        slot = when.replace(minute=when.minute - when.minute % _MINUTES_PER_FILE, second=0, microsecond=0)
        name = f"{slot:%M}-00-000-{uuid.uuid5(ids, slot.isoformat())}.jsonl"
        key = f"{endpoint_name}/{variant_name}/{slot:%Y/%m/%d/%H}/{name}"
        event_id = str(uuid.UUID(int=(ids.int + index) % 2**128))
        files.setdefault(key, []).append(capture_line(format_csv_row(row), format_value(prediction), when, event_id))
    return {key: ("\n".join(lines) + "\n").encode() for key, lines in files.items()}
