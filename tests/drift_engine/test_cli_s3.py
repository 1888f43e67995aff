"""The CLI on s3:// locations (moto): the same files as on local paths, windows applied before downloading,
S3 errors as one line."""

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import numpy as np
from botocore.stub import Stubber

from demo.generate_demo import draw_feature_rows, format_csv_row
from drift_engine.cli import main

from .conftest import BUCKET, REPO_ROOT, write_capture_files

BASELINE_CSV = REPO_ROOT / "demo" / "data" / "baseline.csv"
HOUR = datetime(2024, 6, 11, 10, tzinfo=UTC)
WINDOW = ["--start", "2024-06-11T10:00:00Z", "--end", "2024-06-11T11:00:00Z"]


def _run(argv: list[str], s3: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, stdout=out, stderr=err, s3_client=s3)
    return code, out.getvalue(), err.getvalue()


def _upload(s3: Any, folder: Path, prefix: str) -> int:
    paths = [path for path in sorted(folder.rglob("*")) if path.is_file()]
    for path in paths:
        s3.upload_file(str(path), BUCKET, f"{prefix}/{path.relative_to(folder).as_posix()}")
    return len(paths)


def _json(s3: Any, key: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    return document


def test_baseline_and_analysis_on_s3_equal_the_local_ones(s3: Any, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    requests = [(format_csv_row(row), "1.50") for row in draw_feature_rows(rng, 6000, drift=True)]
    capture = tmp_path / "capture"
    # 08:50 to 10:30, one record a second: 6 files, the first under 2024/06/11/08.
    write_capture_files(capture, requests, HOUR - timedelta(minutes=70), per_file=1000)
    files = _upload(s3, capture, "capture/endpoint/AllTraffic")
    s3.upload_file(str(BASELINE_CSV), BUCKET, "datasets/baseline.csv")

    baseline_argv = ["baseline", "--dataset", f"s3://{BUCKET}/datasets/baseline.csv", "--format", "csv", "--header",
                     "--out", f"s3://{BUCKET}/baseline/"]  # fmt: skip
    code, out, err = _run(baseline_argv, s3)
    assert code == 0, err
    assert f"s3://{BUCKET}/baseline/constraints.json" in out and "downloaded 1 object(s)" in err
    analyze_argv = ["analyze", "--capture", f"s3://{BUCKET}/capture/endpoint", "--baseline", f"s3://{BUCKET}/baseline",
                    "--out", f"s3://{BUCKET}/reports/2024061110", *WINDOW]  # fmt: skip
    code, out, err = _run(analyze_argv, s3)
    assert code == 0, err
    downloaded = int(err.split("downloaded ")[1].split(" ")[0])
    assert 0 < downloaded < files  # the file under 2024/06/11/08 is outside the window: never fetched

    local = tmp_path / "local"
    assert _run(["baseline", "--dataset", str(BASELINE_CSV), "--format", "csv", "--header", "--out",
                 str(local / "baseline"), "--quiet"], s3)[0] == 0  # fmt: skip
    assert _run(["analyze", "--capture", str(capture), "--baseline", str(local / "baseline"), "--out",
                 str(local / "report"), "--quiet", *WINDOW], s3)[0] == 0  # fmt: skip
    assert _json(s3, "baseline/statistics.json") == json.loads((local / "baseline/statistics.json").read_text())
    assert _json(s3, "baseline/constraints.json") == json.loads((local / "baseline/constraints.json").read_text())
    remote_violations = _json(s3, "reports/2024061110/constraint_violations.json")
    assert remote_violations == json.loads((local / "report/constraint_violations.json").read_text())
    assert {v["constraint_check_type"] for v in remote_violations["violations"]} >= {"data_type_check"}
    statistics = _json(s3, "reports/2024061110/statistics.json")
    assert statistics["dataset"]["item_count"] == 1800  # records of 10:00-10:30 only


def test_a_missing_s3_baseline_or_empty_prefix_is_one_line(s3: Any, tmp_path: Path) -> None:
    code, _, err = _run(["analyze", "--capture", str(tmp_path), "--baseline", f"s3://{BUCKET}/nothing-here",
                         "--out", str(tmp_path)], s3)  # fmt: skip
    assert (
        code == 2
        and err.strip()
        == f"drift_engine analyze: error: no baseline file at s3://{BUCKET}/nothing-here/statistics.json"
    )
    code, _, err = _run(["baseline", "--dataset", f"s3://{BUCKET}/datasets/", "--format", "csv", "--out",
                         str(tmp_path)], s3)  # fmt: skip
    assert code == 2
    assert err.strip() == f"drift_engine baseline: error: s3://{BUCKET}/datasets/: no such object or prefix"


def test_an_s3_error_is_one_line(tmp_path: Path) -> None:
    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "list_objects_v2", service_error_code="AccessDenied", service_message="Access Denied", http_status_code=403
        )
        code, _, err = _run(["baseline", "--dataset", f"s3://{BUCKET}/datasets", "--format", "csv", "--out",
                             str(tmp_path)], client)  # fmt: skip
    assert code == 2
    assert err.strip().splitlines() == [
        "drift_engine baseline: error: An error occurred (AccessDenied) when calling the ListObjectsV2 operation: "
        "Access Denied"
    ]
