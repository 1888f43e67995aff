"""The engine's S3 edge under moto: hour folders, variants, conditional writes, baseline errors, same profile."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from drift_engine import CaptureOptions, profile_capture_file
from drift_engine.s3 import (
    BaselineUnavailableError,
    PreconditionFailedError,
    S3Location,
    capture_hour_folders,
    list_capture_objects,
    profile_capture_objects,
    put_json,
    read_baseline,
)

from .conftest import BUCKET, SDK_DATA_QUALITY, capture_line


def test_locations() -> None:
    location = S3Location.parse("s3://bucket/a/b/")
    assert (location.bucket, location.key) == ("bucket", "a/b")
    assert location.child("c", "/d/").uri == "s3://bucket/a/b/c/d"
    assert S3Location.parse("s3://bucket").child("x").uri == "s3://bucket/x"
    with pytest.raises(ValueError, match="not an s3://"):
        S3Location.parse("bucket/key")


def test_an_hour_needs_its_folder_and_the_one_before() -> None:
    start = datetime(2024, 1, 1, 0, tzinfo=UTC)
    assert capture_hour_folders(start, start.replace(hour=1)) == ["2023/12/31/23", "2024/01/01/00"]


def test_capture_objects_of_every_variant_in_the_window(s3: Any) -> None:
    keys = [
        "capture/ep/AllTraffic/2024/06/11/12/a.jsonl",
        "capture/ep/AllTraffic/2024/06/11/13/b.jsonl",
        "capture/ep/Shadow/2024/06/11/13/c.jsonl",
        "capture/ep/AllTraffic/2024/06/11/14/d.jsonl",  # after the window
        "capture/ep/AllTraffic/2024/06/11/11/e.jsonl",  # too early
        "capture/other-ep/AllTraffic/2024/06/11/13/f.jsonl",  # another endpoint
    ]
    for key in keys:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"")

    found = list_capture_objects(
        s3,
        S3Location.parse(f"s3://{BUCKET}/capture"),
        "ep",
        start=datetime(2024, 6, 11, 13, tzinfo=UTC),
        end=datetime(2024, 6, 11, 14, tzinfo=UTC),
    )

    assert sorted(item.key for item in found) == sorted(keys[:3])


def test_create_only_and_if_match(s3: Any) -> None:
    location = S3Location(BUCKET, "run.json")
    etag = put_json(s3, location, {"n": 1}, create_only=True)
    with pytest.raises(PreconditionFailedError):
        put_json(s3, location, {"n": 2}, create_only=True)
    newer = put_json(s3, location, {"n": 3}, if_match=etag)
    with pytest.raises(PreconditionFailedError):
        put_json(s3, location, {"n": 4}, if_match=etag)
    assert newer != etag
    assert json.loads(s3.get_object(Bucket=BUCKET, Key="run.json")["Body"].read()) == {"n": 3}


def test_baseline_read_or_one_clear_error(s3: Any) -> None:
    statistics = S3Location(BUCKET, "b/statistics.json")
    constraints = S3Location(BUCKET, "b/constraints.json")
    with pytest.raises(BaselineUnavailableError, match=r"s3://engine-bucket/b/statistics.json does not exist"):
        read_baseline(s3, statistics, constraints)
    s3.put_object(Bucket=BUCKET, Key=statistics.key, Body=(SDK_DATA_QUALITY / "statistics.json").read_bytes())
    s3.put_object(Bucket=BUCKET, Key=constraints.key, Body=b"[]")
    with pytest.raises(BaselineUnavailableError, match=r"constraints\.json"):
        read_baseline(s3, statistics, constraints)
    good = (SDK_DATA_QUALITY / "good_cases/constraints.json").read_bytes()
    s3.put_object(Bucket=BUCKET, Key=constraints.key, Body=good)
    parsed_statistics, parsed_constraints = read_baseline(s3, statistics, constraints)
    assert [f.name for f in parsed_statistics.features] == [f.name for f in parsed_constraints.features]


def test_objects_profile_like_local_files(s3: Any, tmp_path: Any) -> None:
    when = datetime(2024, 6, 11, 13, 30, tzinfo=UTC)
    body = "\n".join(capture_line(f"{i},{i * 2}", f"0.{i}", when) for i in range(50)) + "\nnot json\n"
    key = "capture/ep/AllTraffic/2024/06/11/13/a.jsonl"
    s3.put_object(Bucket=BUCKET, Key=key, Body=body.encode())
    (tmp_path / "a.jsonl").write_text(body)
    options = CaptureOptions(baseline_columns=["y", "a", "b"], start=when.replace(minute=0), end=when.replace(hour=14))

    (item,) = list_capture_objects(
        s3, S3Location(BUCKET, "capture"), "ep", start=when.replace(minute=0), end=when.replace(hour=14)
    )
    remote = profile_capture_objects(s3, [item], options=options)
    local = profile_capture_file(tmp_path / "a.jsonl", options=options)

    assert remote.to_bytes() == local.to_bytes()
    assert (remote.item_count, remote.malformed) == (50, 1)
