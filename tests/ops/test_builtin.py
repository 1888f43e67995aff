"""``run-now``, ``status`` and ``report`` on a builtin-engine stage: moto for CloudFormation, S3 and CloudWatch,
botocore's Stubber for Lambda's Invoke (moto would run the function in Docker)."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from ops.__main__ import main
from ops.builtin import list_runs, run_now_builtin

from .conftest import (
    CONSTRAINTS_URI,
    SDK_GOOD_CONSTRAINTS,
    SDK_OLD_WORDING_VIOLATIONS,
    SDK_PIPELINE_STATISTICS,
    STATISTICS_URI,
    aws_client,
    client_factory,
    fixture_path,
)

ENDPOINT = "model-monitor-default"
SCHEDULE = "model-monitor-default-drift"
FUNCTION = "model-monitor-default-drift-analysis"
BUCKET = "model-monitor-default-data"
REPORTS = f"s3://{BUCKET}/reports"
NOW = datetime(2026, 11, 22, 13, 5, 1, tzinfo=UTC)


@pytest.fixture
def builtin_stage(aws: None) -> None:
    """The default stage's stacks, the monitoring one as the builtin engine outputs it."""
    from ops.stack_outputs import load_stage_settings

    prefix = load_stage_settings(None).stack_prefix
    cloudformation = aws_client("cloudformation")

    def stack(kind: str, outputs: dict[str, Any]) -> None:
        body = {
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {key: {"Value": value} for key, value in outputs.items()},
        }
        cloudformation.create_stack(StackName=f"{prefix}-{kind}", TemplateBody=json.dumps(body))

    stack("endpoint", {"EndpointName": ENDPOINT})
    stack("baseline", {"BaselineStatisticsUri": STATISTICS_URI, "BaselineConstraintsUri": CONSTRAINTS_URI})
    stack(
        "monitoring",
        {
            "MonitoringEngine": "builtin",
            "MonitoringScheduleName": SCHEDULE,
            "DriftAnalysisFunctionName": FUNCTION,
            "ReportsS3Uri": REPORTS,
            "AlertsTopicArn": {"Ref": "Topic"},
            "ViolationAlarmName": "violation-alarm",
        },
    )
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(
        Bucket=BUCKET, Key="baseline/results/statistics.json", Body=fixture_path(SDK_PIPELINE_STATISTICS).read_bytes()
    )
    s3.put_object(
        Bucket=BUCKET, Key="baseline/results/constraints.json", Body=fixture_path(SDK_GOOD_CONSTRAINTS).read_bytes()
    )


def _run(folder: str, record: dict[str, Any], files: bool = False) -> None:
    s3 = aws_client("s3")
    key = f"reports/{ENDPOINT}/{folder}"
    s3.put_object(Bucket=BUCKET, Key=f"{key}/run.json", Body=json.dumps(record).encode())
    if files:
        s3.put_object(
            Bucket=BUCKET, Key=f"{key}/statistics.json", Body=fixture_path(SDK_PIPELINE_STATISTICS).read_bytes()
        )
        s3.put_object(
            Bucket=BUCKET,
            Key=f"{key}/constraint_violations.json",
            Body=fixture_path(SDK_OLD_WORDING_VIOLATIONS).read_bytes(),
        )


def _payload(document: dict[str, Any]) -> StreamingBody:
    raw = json.dumps(document).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


def _invoke(argv: list[str], lambda_client: Any = None) -> tuple[int, str]:
    out = io.StringIO()
    overrides = {"lambda": lambda_client} if lambda_client is not None else {}
    with contextlib.redirect_stdout(out):
        code = main(argv, client_factory=client_factory(overrides))
    return code, out.getvalue()


EVENT = {
    "scheduledTime": "2026-11-22T13:05:01Z",
    "windowStart": "2026-11-22T12:05:01Z",
    "windowEnd": "2026-11-22T13:05:01Z",
    "runName": "model-monitor-default-run-now-20261122130501-ab12",
}


@pytest.mark.parametrize(
    ("result", "function_error", "code", "printed"),
    [
        ({"status": "completed", "analyzed_records": 360, "violations": 3, "violation_percentage": 37.5}, None, 0,
         "violation percentage 37.5 %"),
        ({"status": "no-data"}, None, 0, "NoCapturedData=1"),
        ({"status": "analyzing", "job_name": "model-monitor-job-2026112213-0a1b2c3d"}, None, 0,
         "Processing job model-monitor-job-2026112213-0a1b2c3d is analyzing the window"),
        ({"status": "failed", "error": "baseline s3://b/c.json does not exist"}, None, 1, "does not exist"),
        ({"errorType": "ClientError", "errorMessage": "AccessDenied"}, "Unhandled", 1, "function error"),
    ],
)  # fmt: skip
def test_run_now_invokes_the_function_for_the_last_hour(
    aws: None, result: dict[str, Any], function_error: str | None, code: int, printed: str
) -> None:
    client = aws_client("lambda")
    response: dict[str, Any] = {"StatusCode": 200, "Payload": _payload(result)}
    if function_error:
        response["FunctionError"] = function_error
    out = io.StringIO()
    with Stubber(client) as stub:
        stub.add_response(
            "invoke",
            response,
            {"FunctionName": FUNCTION, "InvocationType": "RequestResponse", "Payload": json.dumps(EVENT).encode()},
        )
        exit_code = run_now_builtin(
            client, function_name=FUNCTION, name_prefix="model-monitor-default-run-now-", stage="default",
            out=out, now=NOW, name=EVENT["runName"],
        )  # fmt: skip
    assert exit_code == code
    assert printed in out.getvalue()


def test_run_now_through_the_cli_reads_the_function_from_the_stack(builtin_stage: None) -> None:
    client = aws_client("lambda")
    sent: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        sent.append(params)

    client.meta.events.register("provide-client-params.lambda.Invoke", record)
    try:
        with Stubber(client) as stub:
            stub.add_response(
                "invoke", {"StatusCode": 202}, {"FunctionName": FUNCTION, "InvocationType": "Event", "Payload": ANY}
            )
            code, out = _invoke(["run-now", "--no-wait", "--hours", "2"], client)
    finally:
        client.meta.events.unregister("provide-client-params.lambda.Invoke", record)  # the client serves the run
    assert code == 0
    assert FUNCTION in out and "started" in out
    event = json.loads(sent[0]["Payload"])
    start, end = (datetime.fromisoformat(event[key]) for key in ("windowStart", "windowEnd"))
    assert end - start == timedelta(hours=2)
    assert event["runName"].startswith("model-monitor-default-run-now-")


def test_status_lists_runs_newest_first_and_fails_on_a_failed_run(builtin_stage: None) -> None:
    _run(
        f"{SCHEDULE}/2026/11/22/12",
        {
            "status": "completed",
            "window_start": "2026-11-22T11:00:00Z",
            "window_end": "2026-11-22T12:00:00Z",
            "analyzed_records": 36000,
            "violations": 0,
            "violation_percentage": 0,
        },
    )
    _run(f"{SCHEDULE}/2026/11/22/13", {"status": "failed", "window_start": "2026-11-22T12:00:00Z",
         "window_end": "2026-11-22T13:00:00Z", "error": "baseline s3://x/constraints.json does not exist"})  # fmt: skip

    code, out = _invoke(["status"])

    assert code == 1
    assert FUNCTION in out
    lines = out.splitlines()
    failed = next(i for i, line in enumerate(lines) if " failed " in line)
    completed = next(i for i, line in enumerate(lines) if " completed " in line)
    assert failed < completed
    assert "36000" in lines[completed]
    runs = list_runs(aws_client("s3"), reports_uri=REPORTS, endpoint_name=ENDPOINT, limit=1)
    assert [run.status for run in runs] == ["failed"]


def test_report_reads_the_latest_completed_run(builtin_stage: None, tmp_path: Path) -> None:
    _run(f"{SCHEDULE}/2026/11/22/12", {"status": "completed"}, files=True)
    _run(f"{SCHEDULE}/2026/11/22/13", {"status": "no-data"})

    code, out = _invoke(["report", "--out", str(tmp_path)])

    assert code == 0
    assert f"wrote {tmp_path / 'report.png'}" in out
    assert (tmp_path / "report.png").read_bytes().startswith(b"\x89PNG")
    assert "builtin engine" in (tmp_path / "report.html").read_text(encoding="utf-8")
    assert (tmp_path / "execution" / "constraint_violations.json").is_file()


def test_report_of_a_named_run_and_errors(builtin_stage: None, tmp_path: Path) -> None:
    run_name = "model-monitor-default-run-now-20261122130501-ab12"
    _run(f"{run_name}/2026/11/22/13", {"status": "completed"}, files=True)

    assert _invoke(["report", "--run", run_name, "--out", str(tmp_path)])[0] == 0
    assert _invoke(["report", "--run", "unknown-run", "--out", str(tmp_path)])[0] == 2
    assert _invoke(["report", "--processing-job", "job-1", "--out", str(tmp_path)])[0] == 2
