"""demo.capture: an hour of demo traffic laid out and shaped as SageMaker's data capture writes it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from demo.capture import capture_hour
from demo.features import FEATURE_NAMES

HOUR = datetime(2024, 6, 11, 13, tzinfo=UTC)
KEY = re.compile(r"ep/AllTraffic/2024/06/11/13/(\d{2})-00-000-[0-9a-f-]{36}\.jsonl")


def test_an_hour_is_twelve_files_of_captured_csv_requests_inside_the_hour() -> None:
    files = capture_hour(endpoint_name="ep", hour=HOUR.replace(minute=30), records=240, seed=3)

    assert len(files) == 12  # a new file every 5 minutes, in the hour's folder
    minutes = sorted(int(match.group(1)) for key in files if (match := KEY.fullmatch(key)))
    assert minutes == list(range(0, 60, 5))
    records = [json.loads(line) for body in files.values() for line in body.decode().splitlines()]
    assert len(records) == 240
    assert len({record["eventMetadata"]["eventId"] for record in records}) == 240
    for record in records:
        when = datetime.strptime(record["eventMetadata"]["inferenceTime"], "%Y-%m-%dT%H:%M:%S%z")
        assert HOUR <= when < HOUR.replace(hour=14)
        request, response = record["captureData"]["endpointInput"], record["captureData"]["endpointOutput"]
        assert (request["encoding"], request["observedContentType"]) == ("CSV", "text/csv")
        assert len(request["data"].split(",")) == len(FEATURE_NAMES)
        assert float(response["data"]) >= -1  # the demo model's tip prediction


def test_drifted_traffic_and_seeds() -> None:
    steady = capture_hour(endpoint_name="ep", hour=HOUR, records=60, seed=1)
    assert capture_hour(endpoint_name="ep", hour=HOUR, records=60, seed=1) == steady
    drifted = capture_hour(endpoint_name="ep", hour=HOUR, records=60, seed=1, drift=True)
    inputs = [
        json.loads(line)["captureData"]["endpointInput"]["data"]
        for body in drifted.values()
        for line in body.decode().splitlines()
    ]
    assert any(",," in row or row.endswith(",") or row.startswith(",") for row in inputs)  # missing values
    assert any(not float(row.split(",")[0] or "1").is_integer() for row in inputs)  # fractional passenger_count
