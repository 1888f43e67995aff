"""Paths of the shared Model Monitor fixtures and a writer of SageMaker data-capture files."""

import json
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

FIXTURES_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "model-monitor"
if not (FIXTURES_DIR / "SOURCES.md").is_file():  # fail the collection loudly, never skip silently
    raise FileNotFoundError(
        f"Model Monitor fixtures not found at {FIXTURES_DIR}: the tests expect the shared fixtures folder next "
        "to the repository (../shared/fixtures/model-monitor)"
    )

SDK_DATA_QUALITY = FIXTURES_DIR / "aws__sagemaker-python-sdk/tests/data/pipeline/quality_check_step/data_quality"
SDK_MONITOR = FIXTURES_DIR / "aws__sagemaker-python-sdk/tests/data/monitor"
SCOTTREIDUX = FIXTURES_DIR / "ScottReidux__aai-540/assets"
NOTEBOOK_OUTPUTS = FIXTURES_DIR / "aws__amazon-sagemaker-examples/_extracted_from_notebook_outputs"
REPO_ROOT = Path(__file__).resolve().parents[2]

#: The bucket the ``s3`` fixture creates.
BUCKET = "engine-bucket"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An S3 client on moto's in-memory S3 (no credentials, no network) with ``BUCKET`` created."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def capture_line(inputs: str, outputs: str, when: datetime, *, content_type: str = "text/csv") -> str:
    """One data-capture line as SageMaker writes it (CSV payloads, one or more lines each)."""
    encoding = "CSV" if "csv" in content_type else "JSON"
    return json.dumps(
        {
            "captureData": {
                "endpointInput": {
                    "observedContentType": content_type,
                    "mode": "INPUT",
                    "data": inputs,
                    "encoding": encoding,
                },
                "endpointOutput": {
                    "observedContentType": content_type,
                    "mode": "OUTPUT",
                    "data": outputs,
                    "encoding": encoding,
                },
            },
            "eventMetadata": {
                "eventId": f"id-{when.isoformat()}",
                "inferenceTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
            "eventVersion": "0",
        },
        separators=(",", ":"),
    )


def write_capture_files(
    root: Path, rows: Sequence[tuple[str, str]], start: datetime, *, per_file: int = 250
) -> list[Path]:
    """Capture files under ``root/yyyy/mm/dd/hh/``, records one second apart from ``start``."""
    paths = []
    for offset in range(0, len(rows), per_file):
        chunk = rows[offset : offset + per_file]
        first = start + timedelta(seconds=offset)
        folder = root / first.strftime("%Y/%m/%d/%H")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"capture-{offset // per_file:04d}.jsonl"
        path.write_text(
            "\n".join(
                capture_line(inputs, outputs, start + timedelta(seconds=offset + index))
                for index, (inputs, outputs) in enumerate(chunk)
            )
            + "\n",
            encoding="utf-8",
        )
        paths.append(path)
    return paths
