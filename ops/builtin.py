"""``run-now``, ``status`` and ``report`` on a stage that runs the builtin engine (``monitoring_engine: builtin``).

The builtin engine has no monitoring schedule and no processing jobs to list: an EventBridge Scheduler schedule
invokes the hourly analysis function (stack output ``DriftAnalysisFunctionName``), and each run leaves a
``run.json`` next to its reports under ``<reports>/<endpoint>/<schedule or run name>/yyyy/mm/dd/hh/`` (output
``ReportsS3Uri``). So:

* ``run-now`` invokes the function with the last ``--hours`` hours as an explicit window and a run name of its
  own (like Model Monitor's one-time schedule, whose folder is named after it); waiting is a synchronous
  ``Invoke`` (the function answers with the run's outcome; at most 15 minutes), ``--no-wait`` an asynchronous one.
* ``status`` lists the newest ``run.json`` objects with their outcome, then the stage's alarms.
* ``report`` reads the newest completed run's files (or ``--run``: a run name, a folder or its S3 URI).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from .aws import CloudWatchClient, S3Client, format_time, parse_s3_uri
from .errors import OpsError
from .report import ReportInputs
from .run_now import one_time_schedule_name
from .status import AlarmState, stage_alarms
from .tables import format_table

__all__ = [
    "BuiltinRun",
    "format_builtin_status",
    "latest_completed_run",
    "list_runs",
    "run_now_builtin",
    "run_report_inputs",
    "status_builtin",
]

RUN_FILE = "run.json"
_FAILED = frozenset({"failed", "error"})


@dataclass(frozen=True)
class BuiltinRun:
    """One run of the hourly analysis, from its ``run.json``."""

    folder_uri: str
    run_name: str
    status: str
    window_start: str | None
    window_end: str | None
    analyzed_records: int | None
    malformed_records: int | None
    violations: int | None
    violation_percentage: float | None
    error: str | None
    modified: datetime | None

    @classmethod
    def from_json(cls, folder_uri: str, run_name: str, record: dict[str, Any], modified: datetime | None) -> BuiltinRun:
        def number(key: str) -> Any:
            value = record.get(key)
            return value if isinstance(value, int | float) and not isinstance(value, bool) else None

        return cls(
            folder_uri=folder_uri,
            run_name=run_name,
            status=str(record.get("status", "unknown")),
            window_start=record.get("window_start"),
            window_end=record.get("window_end"),
            analyzed_records=number("analyzed_records"),
            malformed_records=number("malformed_records"),
            violations=number("violations"),
            violation_percentage=number("violation_percentage"),
            error=record.get("error"),
            modified=modified,
        )


def list_runs(s3: Any, *, reports_uri: str, endpoint_name: str, limit: int) -> list[BuiltinRun]:
    """The newest ``limit`` runs of the endpoint (scheduled and run-now), newest first by last write."""
    bucket, prefix = parse_s3_uri(reports_uri)
    root = "/".join(part for part in (prefix.strip("/"), endpoint_name) if part) + "/"
    found: list[tuple[datetime, str]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=root):
        found.extend(
            (item["LastModified"], str(item["Key"]))
            for item in page.get("Contents", [])
            if str(item["Key"]).endswith("/" + RUN_FILE)
        )
    found.sort(reverse=True)
    runs = []
    for modified, key in found[:limit]:
        folder = key.rsplit("/", 1)[0]
        run_name = folder[len(root) :].split("/", 1)[0]
        try:
            record = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        except ValueError:
            record = {"status": "unreadable run.json"}
        runs.append(BuiltinRun.from_json(f"s3://{bucket}/{folder}", run_name, record, modified))
    return runs


def latest_completed_run(s3: Any, *, reports_uri: str, endpoint_name: str) -> BuiltinRun | None:
    """The newest run that wrote reports (status ``completed``), among the last 100."""
    for run in list_runs(s3, reports_uri=reports_uri, endpoint_name=endpoint_name, limit=100):
        if run.status == "completed":
            return run
    return None


def run_now_builtin(
    lambda_client: Any,
    *,
    function_name: str,
    name_prefix: str,
    stage: str,
    hours: int = 1,
    wait: bool = True,
    out: TextIO,
    now: datetime | None = None,
    name: str | None = None,
) -> int:
    """Analyze the last ``hours`` hours now. Returns 0 when the run completed, found no data or started its
    Processing job (``builtin_runtime: processing``), else 1."""
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    run_name = name or one_time_schedule_name(name_prefix, now=moment)
    event = {
        "scheduledTime": _iso(moment),
        "windowStart": _iso(moment - timedelta(hours=hours)),
        "windowEnd": _iso(moment),
        "runName": run_name,
    }
    print(f"analyzing {event['windowStart']} to {event['windowEnd']} with {function_name} (run {run_name})", file=out)
    response = lambda_client.invoke(
        FunctionName=function_name,
        InvocationType="RequestResponse" if wait else "Event",
        Payload=json.dumps(event).encode(),
    )
    if not wait:
        print(f"started; follow it with: python -m ops status --stage {stage}", file=out)
        return 0
    payload = response["Payload"].read()
    try:
        result = json.loads(payload) if payload else {}
    except ValueError:
        result = {"errorMessage": payload.decode(errors="replace")}
    if response.get("FunctionError"):
        print(f"outcome: function error: {result.get('errorType', '')} {result.get('errorMessage', '')}", file=out)
        return 1
    status = str(result.get("status", "unknown"))
    print(f"outcome: {status}", file=out)
    if status == "completed":
        print(
            f"analyzed {result.get('analyzed_records')} record(s): {result.get('violations')} violation(s), "
            f"violation percentage {result.get('violation_percentage')} %",
            file=out,
        )
        print(f"see it: python -m ops report --stage {stage} --run {run_name}", file=out)
    elif status == "no-data":
        print("no captured records in the window (NoCapturedData=1): send traffic first", file=out)
    elif status == "analyzing":
        # builtin_runtime: processing. The function started the run's job; it publishes when the job ends.
        print(
            f"Processing job {result.get('job_name')} is analyzing the window (its instances take minutes to "
            f"start); follow it with: python -m ops status --stage {stage}",
            file=out,
        )
    elif result.get("error"):
        print(f"reason: {result['error']}", file=out)
    return 0 if status in ("completed", "no-data", "analyzing") else 1


def format_builtin_status(function_name: str, runs: list[BuiltinRun], alarms: list[AlarmState]) -> str:
    """The status screen of a builtin-engine stage as text."""
    lines = [f"Builtin engine: hourly analysis function {function_name}", "", "Latest runs (newest first):"]
    if runs:
        rows = [
            [
                f"{run.window_start or '-'} .. {run.window_end or '-'}",
                run.status,
                run.run_name,
                "-" if run.analyzed_records is None else str(run.analyzed_records),
                "-" if run.violations is None else str(run.violations),
                "-" if run.violation_percentage is None else f"{run.violation_percentage:.1f}",
                (run.error or "-")[:100],
            ]
            for run in runs
        ]
        lines.append(format_table(["WINDOW", "STATUS", "RUN", "RECORDS", "VIOLATIONS", "VIOLATION %", "ERROR"], rows))
    else:
        lines.append("  none yet (the first run starts at the top of the hour after deployment)")
    lines += ["", "Alarms:"]
    if alarms:
        rows = [[alarm.state, alarm.name, format_time(alarm.updated), alarm.reason[:100]] for alarm in alarms]
        lines.append(format_table(["STATE", "ALARM", "SINCE", "REASON"], rows))
    else:
        lines.append("  none found")
    return "\n".join(lines)


def status_builtin(
    s3: Any,
    cloudwatch: CloudWatchClient,
    *,
    function_name: str,
    reports_uri: str,
    endpoint_name: str,
    violation_alarm_name: str | None,
    topic_arn: str | None,
    limit: int,
    out: TextIO,
    alarm_name_prefix: str | None = None,
) -> int:
    """Print the runs and alarms. Returns 1 when an alarm is in ALARM or the newest run failed, else 0."""
    runs = list_runs(s3, reports_uri=reports_uri, endpoint_name=endpoint_name, limit=limit)
    alarms = stage_alarms(
        cloudwatch,
        alarm_names=[violation_alarm_name or ""],
        topic_arn=topic_arn,
        alarm_name_prefix=alarm_name_prefix,
    )
    print(format_builtin_status(function_name, runs, alarms), file=out)
    failed = bool(runs) and runs[0].status in _FAILED
    return 1 if failed or any(alarm.state == "ALARM" for alarm in alarms) else 0


def run_report_inputs(
    s3: S3Client,
    *,
    reports_uri: str,
    endpoint_name: str,
    statistics_uri: str,
    constraints_uri: str,
    run: str | None,
    save_dir: Path | None,
) -> ReportInputs:
    """The report's inputs: the baseline and the files of one run (``run``: a run name, folder URI, or newest)."""
    from .report_inputs import inputs_from_folder_uri

    if run is not None and run.startswith("s3://"):
        folder = run.rstrip("/")
        title = folder
    else:
        runs = list_runs(s3, reports_uri=reports_uri, endpoint_name=endpoint_name, limit=100)
        chosen = next(
            (r for r in runs if r.status == "completed" and (run is None or r.run_name == run)),
            None,
        )
        if chosen is None:
            what = f"run {run}" if run else "the endpoint"
            raise OpsError(
                f"no completed builtin run found for {what} under {reports_uri}: wait for the top of the hour, or "
                "start one with python -m ops run-now"
            )
        folder = chosen.folder_uri
        title = f"{chosen.run_name} {chosen.window_start} .. {chosen.window_end}"
    return inputs_from_folder_uri(
        s3,
        statistics_uri=statistics_uri,
        constraints_uri=constraints_uri,
        folder_uri=folder,
        title=f"Drift report (builtin engine): {title}",
        save_dir=save_dir,
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
