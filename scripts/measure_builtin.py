"""Measure the builtin engine: an hour of demo traffic analyzed, the demo baseline, the monthly cost of both engines.

    python scripts/measure_builtin.py [--rate 10] [--memory-mb 1769] [--repeat 3]

What it measures, each case in a fresh Python process (so that peak RSS is the case's own, ``ru_maxrss``):

* ``hourly``: one hour of demo traffic at ``--rate`` requests/s (36,000 records at 10/s, SageMaker's capture layout,
  a file every 5 minutes) in moto's S3, analyzed through the hourly function's real entry point
  (``lambdas.drift_analysis.handler.lambda_handler``): reports written, metrics published. moto's in-memory S3 and
  CloudWatch run in the same process, so this overstates what the function itself needs.
* ``engine``: the same files profiled and checked by the engine alone, from bytes in memory (no AWS, no moto).
* ``baseline``: the demo's ``baseline.csv`` baselined by the engine, with one worker as in the function.

Then the cost of hourly monitoring per endpoint-month (720 runs), from the measured duration and published prices
(cited below), for the builtin engine and for Model Monitor. Not a test: run it by hand; it prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HOUR = datetime(2024, 6, 11, 13, tzinfo=UTC)
ENDPOINT = "measure-endpoint"
RUNS_PER_MONTH = 720  # hourly, 30 days

# Published prices, us-east-1, on-demand (checked 2026-12; see the README's cost table for the sources):
#  Lambda: $0.0000166667 per GB-second (x86), $0.20 per million requests
#    (docs.aws.amazon.com/whitepapers/latest/how-aws-pricing-works/lambda.html).
#  S3 Standard: $0.005 per 1,000 PUT/COPY/POST/LIST, $0.0004 per 1,000 GET (aws.amazon.com/s3/pricing).
#  CloudWatch: PutMetricData $0.01 per 1,000 requests (aws.amazon.com/cloudwatch/pricing).
#  EventBridge Scheduler: $1.00 per million invocations after 14 million free (aws.amazon.com/eventbridge/pricing).
#  SageMaker Processing ml.m5.xlarge: $0.23 per hour (aws.amazon.com/sagemaker/pricing, Processing).
LAMBDA_GB_SECOND = 0.0000166667
LAMBDA_REQUEST = 0.20 / 1_000_000
S3_PUT_LIST = 0.005 / 1000
S3_GET = 0.0004 / 1000
PUT_METRIC_DATA = 0.01 / 1000
SCHEDULER_INVOCATION = 1.00 / 1_000_000
ML_M5_XLARGE_HOUR = 0.23


def _capture_dir(target: Path, rate: float) -> int:
    from demo.capture import capture_hour

    files = capture_hour(endpoint_name=ENDPOINT, hour=HOUR, requests_per_second=rate, seed=7, drift=True)
    for key, body in files.items():
        path = target / "capture" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return len(files)


def _baseline_files(target: Path) -> tuple[Path, Path]:
    from drift_engine import build_baseline

    baseline = build_baseline([ROOT / "demo/data/baseline.csv"], dataset_format="csv", header=True, workers=1)
    statistics_path, constraints_path = target / "statistics.json", target / "constraints.json"
    statistics_path.write_text(json.dumps(baseline.statistics))
    constraints_path.write_text(json.dumps(baseline.constraints))
    return statistics_path, constraints_path


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def case_engine(data: Path) -> dict[str, Any]:
    from drift_engine import CaptureOptions, analyze_profile, merge_profiles, parse_constraints, parse_statistics
    from drift_engine.engine import profile_capture_file

    baseline = parse_statistics((data / "statistics.json").read_bytes())
    constraints = parse_constraints((data / "constraints.json").read_bytes())
    paths = sorted((data / "capture").rglob("*.jsonl"))
    before = _rss_mb()
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    options = CaptureOptions(
        baseline_columns=[feature.name for feature in constraints.features],
        start=HOUR,
        end=HOUR.replace(hour=HOUR.hour + 1),
    )
    profiles = [
        profile_capture_file(path.read_bytes(), options=options, domains=constraints.domains() or None, name=str(path))
        for path in paths
    ]
    profile = merge_profiles(profiles)
    analysis = analyze_profile(profile, baseline, constraints)
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_started
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rss_before_mb": before,
        "peak_rss_mb": _rss_mb(),
        "records": profile.item_count,
        "violations": len(analysis.violations),
    }


def case_hourly(data: Path) -> dict[str, Any]:
    import boto3
    from moto import mock_aws

    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "measure",
            "AWS_SECRET_ACCESS_KEY": "measure",
            "AWS_DEFAULT_REGION": "us-east-1",
            "ENDPOINT_NAME": ENDPOINT,
            "MONITORING_SCHEDULE_NAME": "measure-drift",
            "CAPTURE_S3_URI": "s3://capture/datacapture",
            "REPORTS_S3_URI": "s3://data/reports",
            "BASELINE_STATISTICS_URI": "s3://data/baseline/statistics.json",
            "BASELINE_CONSTRAINTS_URI": "s3://data/baseline/constraints.json",
            "DRIFT_METRICS_NAMESPACE": "aws/sagemaker/Endpoints/data-metrics",
            "POWERTOOLS_METRICS_NAMESPACE": "ModelMonitorAsCode",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
    )
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        for bucket in ("capture", "data"):
            s3.create_bucket(Bucket=bucket)
        for name in ("statistics.json", "constraints.json"):
            s3.put_object(Bucket="data", Key=f"baseline/{name}", Body=(data / name).read_bytes())
        for path in sorted((data / "capture").rglob("*.jsonl")):
            key = path.relative_to(data / "capture").as_posix()
            s3.put_object(Bucket="capture", Key=f"datacapture/{key}", Body=path.read_bytes())
        from lambdas.drift_analysis import handler

        calls: dict[str, int] = {}

        def count(event_name: str, **_: Any) -> None:
            operation = event_name.split(".")[-1]
            calls[operation] = calls.get(operation, 0) + 1

        clients = handler.aws_clients()
        for client in (clients.s3, clients.cloudwatch):
            client.meta.events.register("before-call.*.*", count)

        class Context:
            aws_request_id = "measure"
            function_name = "measure"
            memory_limit_in_mb = 1769
            invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:measure"

            def get_remaining_time_in_millis(self) -> int:
                return 900_000

        before = _rss_mb()
        started, cpu_started = time.perf_counter(), _cpu_seconds()
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):
            result = handler.lambda_handler({"scheduledTime": "2024-06-11T14:00:00Z"}, Context())
        seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_started
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rss_before_mb": before,
        "peak_rss_mb": _rss_mb(),
        "records": result.get("analyzed_records"),
        "violation_percentage": result.get("violation_percentage"),
        "calls": calls,
    }


def case_baseline(data: Path) -> dict[str, Any]:
    from drift_engine import build_baseline

    before = _rss_mb()
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    baseline = build_baseline([ROOT / "demo/data/baseline.csv"], dataset_format="csv", header=True, workers=1)
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_started
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rss_before_mb": before,
        "peak_rss_mb": _rss_mb(),
        "records": baseline.profile.item_count,
    }


CASES = {"hourly": case_hourly, "engine": case_engine, "baseline": case_baseline}


def _run_case(name: str, data: Path) -> dict[str, Any]:
    completed = subprocess.run(  # noqa: S603 - this script, another case
        [sys.executable, __file__, "--case", name, "--data", str(data)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def _builtin_cost(seconds: float, memory_mb: int, calls: dict[str, int]) -> dict[str, float]:
    put_list = calls.get("PutObject", 0) + calls.get("ListObjectsV2", 0)
    gets = calls.get("GetObject", 0)
    return {
        "compute": RUNS_PER_MONTH * seconds * memory_mb / 1024 * LAMBDA_GB_SECOND,
        "requests": RUNS_PER_MONTH * LAMBDA_REQUEST,
        "s3": RUNS_PER_MONTH * (put_list * S3_PUT_LIST + gets * S3_GET),
        "put_metric_data": RUNS_PER_MONTH * calls.get("PutMetricData", 0) * PUT_METRIC_DATA,
        "scheduler": RUNS_PER_MONTH * SCHEDULER_INVOCATION,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=10.0, help="demo requests per second (default: 10)")
    parser.add_argument("--memory-mb", type=int, default=1769, help="the function's memory (default: 1769 = 1 vCPU)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each case; the median is shown (default: 3)")
    parser.add_argument(
        "--model-monitor-minutes",
        type=float,
        nargs=2,
        default=(5.0, 10.0),
        metavar=("LOW", "HIGH"),
        help="billed minutes of one Model Monitor execution, start-up included (default: 5 10)",
    )
    parser.add_argument("--case", choices=sorted(CASES), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        print(json.dumps(CASES[args.case](args.data)))
        return 0

    with tempfile.TemporaryDirectory(prefix="measure-builtin-") as scratch:
        data = Path(scratch)
        files = _capture_dir(data, args.rate)
        _baseline_files(data)
        size = sum(path.stat().st_size for path in (data / "capture").rglob("*.jsonl"))
        print(
            f"one hour at {args.rate:g} requests/s: {files} capture files, {size / 2**20:.1f} MiB; "
            f"{os.cpu_count()} cpu(s)"
        )
        results = {name: [_run_case(name, data) for _ in range(args.repeat)] for name in CASES}

    rows = []
    median: dict[str, dict[str, Any]] = {}
    for name, runs in results.items():
        chosen = sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2]
        median[name] = chosen
        rows.append(
            f"  {name:<9} {statistics.median(run['seconds'] for run in runs):7.2f} s wall, "
            f"{statistics.median(run['cpu_seconds'] for run in runs):6.2f} s CPU  "
            f"peak RSS {chosen['peak_rss_mb']:6.0f} MB (before the case: {chosen['rss_before_mb']:.0f} MB)  "
            f"records {chosen.get('records')}"
        )
    print("measured (median of", args.repeat, "runs, each in a fresh process):")
    print("\n".join(rows))
    hourly = median["hourly"]
    print(f"  hourly run's AWS calls: {hourly['calls']}; violation percentage {hourly['violation_percentage']}")

    # The function's billed duration at 1 vCPU (1769 MB): the run's CPU time, which on this shared machine is a
    # better estimate than its wall time (other processes stretch the wall clock; Lambda gives the run its vCPU).
    seconds = statistics.median(run["cpu_seconds"] for run in results["hourly"])
    builtin = _builtin_cost(seconds, args.memory_mb, hourly["calls"])
    low, high = (RUNS_PER_MONTH * minutes / 60 * ML_M5_XLARGE_HOUR for minutes in args.model_monitor_minutes)
    total = sum(builtin.values())
    print(f"\nmonthly cost per endpoint, hourly ({RUNS_PER_MONTH} runs), us-east-1 on-demand:")
    for item, value in builtin.items():
        print(f"  builtin {item:<16} ${value:.4f}")
    print(f"  builtin total            ${total:.4f}")
    print(
        f"  Model Monitor ml.m5.xlarge, {args.model_monitor_minutes[0]:g}-{args.model_monitor_minutes[1]:g} billed "
        f"minutes per execution: ${low:.2f}-${high:.2f}  ({low / total:.0f}x-{high / total:.0f}x the builtin engine)"
    )
    print(
        f"\nlatency, end of the hour to the violation metric (builtin): Scheduler invokes at the hour, the run takes "
        f"{statistics.median(run['seconds'] for run in results['hourly']):.1f} s wall here, {seconds:.1f} s CPU "
        f"(+ a container cold start). Model Monitor: a documented start delay of 0-20 minutes, then the instance "
        f"start-up and the analysis."
    )
    baseline_wall = statistics.median(run["seconds"] for run in results["baseline"])
    baseline_cpu = statistics.median(run["cpu_seconds"] for run in results["baseline"])
    print(f"baseline of the demo dataset in the function: {baseline_wall:.2f} s wall, {baseline_cpu:.2f} s CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
