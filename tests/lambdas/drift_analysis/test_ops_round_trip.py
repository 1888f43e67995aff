"""``ops`` against the real function: run-now invokes the entry point (in process), status and report read its run.

The Lambda client is a stand-in whose ``invoke`` calls ``lambda_handler`` with the payload, as Lambda would; S3
and CloudWatch are moto. So the event ``ops run-now`` builds, the folder the function writes and the folder
``ops status``/``ops report`` read are checked against each other, not against copies of each other's constants.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lambdas.drift_analysis import handler
from ops.builtin import list_runs, run_now_builtin, run_report_inputs

from .conftest import BUCKET, ENDPOINT, Aws, FakeLambdaContext, Output

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")


class InProcessLambda:
    """``invoke`` as Lambda does it for a synchronous call: the handler's return value as the payload."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def invoke(self, *, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:  # noqa: N803
        assert InvocationType == "RequestResponse"
        event = json.loads(Payload)
        self.events.append(event)
        result = handler.lambda_handler(event, FakeLambdaContext(aws_request_id=f"invoke-{len(self.events)}"))
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(result).encode())}


def test_run_now_then_status_and_report(
    aws: Aws, steady_hour: dict[str, bytes], output: Callable[[], Output], tmp_path: Path
) -> None:
    aws.capture(steady_hour)
    client = InProcessLambda()
    out = io.StringIO()

    code = run_now_builtin(
        client,
        function_name="drift-analysis",
        name_prefix="demo-run-now-",
        stage="default",
        out=out,
        now=datetime(2024, 6, 11, 14, 20, tzinfo=UTC),
    )

    assert code == 0, out.getvalue()
    assert "outcome: completed" in out.getvalue()
    assert "analyzed 2400 record(s)" in out.getvalue()  # 13:20-14:20 of an hour captured 13:00-14:00
    assert output().values()["ViolationPercentage"] == 0
    (run,) = list_runs(aws.s3, reports_uri=f"s3://{BUCKET}/reports", endpoint_name=ENDPOINT, limit=10)
    assert run.run_name == client.events[0]["runName"]
    assert (run.status, run.analyzed_records, run.violation_percentage) == ("completed", 2400, 0)
    inputs = run_report_inputs(
        aws.s3,
        reports_uri=f"s3://{BUCKET}/reports",
        endpoint_name=ENDPOINT,
        statistics_uri=f"s3://{BUCKET}/baseline/statistics.json",
        constraints_uri=f"s3://{BUCKET}/baseline/constraints.json",
        run=run.run_name,
        save_dir=tmp_path,
    )
    assert inputs.violations == ()
    assert inputs.current is not None
    assert (tmp_path / "execution" / "statistics.json").is_file()
