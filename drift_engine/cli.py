"""``python -m drift_engine baseline|analyze``: the engine on local files.

Bad input (an unknown format, a missing baseline, an empty window, an unreadable file) ends with one line on
stderr naming the problem and exit status 2, never a traceback. Progress goes to stderr (the first group of
files, then at most one line every 5 seconds, and the last) unless ``--quiet``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn, TextIO

from .capture import CaptureOptions, parse_time
from .constraints import ConstraintsFileError, MonitoringConfig, parse_constraints
from .engine import EngineInputError, build_baseline, run_analysis, write_json
from .metrics import DATA_METRICS_NAMESPACE, CloudWatchPublisher, metric_data
from .readers import DatasetFormatError, list_files
from .statistics import StatisticsFileError, parse_statistics

__all__ = ["main"]

EXIT_BAD_INPUT = 2
#: Seconds between progress lines on a long run.
PROGRESS_SECONDS = 5.0


class _UsageError(ValueError):
    pass


class _Parser(argparse.ArgumentParser):
    """Usage errors become one line on the command's stderr (argparse would print the usage too)."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = _parser()
    try:
        arguments = parser.parse_args(argv)
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    except _UsageError as error:
        print(f"drift_engine: error: {error} (see --help)", file=err)
        return EXIT_BAD_INPUT
    try:
        if arguments.command == "baseline":
            return _baseline(arguments, out, err)
        return _analyze(arguments, out, err)
    except (
        _UsageError,
        DatasetFormatError,
        EngineInputError,
        StatisticsFileError,
        ConstraintsFileError,
        OSError,
    ) as error:
        print(f"drift_engine {arguments.command}: error: {error}", file=err)
        return EXIT_BAD_INPUT


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m drift_engine",
        description="A drift engine that reads and writes SageMaker Model Monitor's statistics, constraints and "
        "violations files.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    baseline = commands.add_parser("baseline", help="statistics.json and constraints.json of a dataset")
    baseline.add_argument("--dataset", required=True, help="a dataset file, or a folder of them")
    baseline.add_argument("--format", required=True, choices=("csv", "jsonl"), dest="dataset_format")
    baseline.add_argument(
        "--header", action=argparse.BooleanOptionalAction, default=False, help="CSV: the first line names the columns"
    )
    baseline.add_argument("--output", "--out", required=True, type=Path, dest="output", help="folder to write to")
    baseline.add_argument(
        "--categorical-drift-method",
        choices=("LInfinity", "ChiSquared"),
        default="LInfinity",
        help="written to the suggested constraints (suggest_baseline's categorical_drift_method)",
    )
    _common(baseline)

    analyze = commands.add_parser("analyze", help="check captured traffic against a baseline")
    analyze.add_argument("--capture", required=True, nargs="+", help="capture files or folders")
    analyze.add_argument("--baseline", type=Path, help="a folder with statistics.json and constraints.json")
    analyze.add_argument("--baseline-statistics", type=Path)
    analyze.add_argument("--baseline-constraints", type=Path)
    analyze.add_argument("--start", help="window start, ISO 8601 (UTC when no zone is given), inclusive")
    analyze.add_argument("--end", help="window end, ISO 8601, exclusive")
    analyze.add_argument(
        "--output-columns-position",
        choices=("START", "END"),
        default="START",
        help="where the endpoint's output values sit among the baseline's columns (default START)",
    )
    analyze.add_argument("--output", "--out", required=True, type=Path, dest="output", help="folder to write to")
    analyze.add_argument(
        "--publish-metrics", action="store_true", help="publish the per-feature metrics to CloudWatch (needs boto3)"
    )
    analyze.add_argument("--endpoint-name", help="the Endpoint dimension of the metrics")
    analyze.add_argument("--monitoring-schedule-name", help="the MonitoringSchedule dimension of the metrics")
    _common(analyze)
    return parser


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument(
        "--runner",
        choices=("local", "spark"),
        default="local",
        help="local: worker processes on this machine (default); spark: PySpark (drift_engine.spark), which "
        "reads the inputs itself",
    )
    parser.add_argument(
        "--spark-master", help="with --runner spark: the master, e.g. local[4] (default: spark-submit's, or local[*])"
    )


def _progress(err: TextIO, quiet: bool) -> object:
    """Progress lines on stderr: the first, then at most one every few seconds, and the last."""
    if quiet:
        return None
    started = time.monotonic()
    last = [float("-inf")]

    def report(done: int, total: int, records: int) -> None:
        now = time.monotonic()
        if done < total and now - last[0] < PROGRESS_SECONDS:
            return
        last[0] = now
        print(f"  {done}/{total} file(s), {records} record(s), {now - started:.0f} s", file=err, flush=True)

    return report


def _local_files(location: str) -> list[Path]:
    if location.startswith("s3:"):
        raise _UsageError(f"{location}: this command reads local files only; copy the objects first (aws s3 sync)")
    return list_files(Path(location))


def _spark(arguments: argparse.Namespace) -> Any:
    """The Spark runner's module and session (pyspark is imported only when this runner is chosen)."""
    try:
        from . import spark
    except ImportError as error:
        raise _UsageError(f"--runner spark needs pyspark ({error})") from error
    return spark, spark.spark_session(arguments.spark_master)


def _baseline(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    config = MonitoringConfig(categorical_drift_method=arguments.categorical_drift_method)
    if arguments.runner == "spark":
        spark, session = _spark(arguments)
        result = spark.build_baseline(
            session,
            [arguments.dataset],
            dataset_format=arguments.dataset_format,
            header=arguments.header,
            config=config,
        )
    else:
        paths = _local_files(arguments.dataset)
        if not paths:
            raise _UsageError(f"{arguments.dataset}: no files")
        result = build_baseline(
            paths,
            dataset_format=arguments.dataset_format,
            header=arguments.header,
            config=config,
            workers=arguments.workers,
            progress=_progress(err, arguments.quiet),  # type: ignore[arg-type]
        )
    write_json(arguments.output / "statistics.json", result.statistics)
    write_json(arguments.output / "constraints.json", result.constraints)
    malformed = f", {result.profile.malformed} malformed line(s) skipped" if result.profile.malformed else ""
    print(
        f"baseline of {result.profile.item_count} record(s), {len(result.profile.columns)} feature(s){malformed}: "
        f"{arguments.output / 'statistics.json'}, {arguments.output / 'constraints.json'}",
        file=out,
    )
    return 0


def _analyze(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    statistics_path, constraints_path = _baseline_files(arguments)
    baseline = parse_statistics(statistics_path.read_bytes(), source=str(statistics_path))
    constraints = parse_constraints(constraints_path.read_bytes(), source=str(constraints_path))
    start, end = _time(arguments.start, "--start"), _time(arguments.end, "--end")
    if start is not None and end is not None and end <= start:
        raise _UsageError(f"--end {arguments.end} is not after --start {arguments.start}")
    if arguments.publish_metrics and not (arguments.endpoint_name and arguments.monitoring_schedule_name):
        raise _UsageError("--publish-metrics needs --endpoint-name and --monitoring-schedule-name")
    options = CaptureOptions(
        baseline_columns=[feature.name for feature in constraints.features] or [f.name for f in baseline.features],
        output_columns_position=arguments.output_columns_position,
        start=start,
        end=end,
    )
    if arguments.runner == "spark":
        spark, session = _spark(arguments)
        analysis = spark.run_analysis(
            session, arguments.capture, baseline=baseline, constraints=constraints, options=options
        )
    else:
        paths = [path for location in arguments.capture for path in _local_files(location)]
        if not paths:
            raise _UsageError("no capture files found")
        analysis = run_analysis(
            paths,
            baseline=baseline,
            constraints=constraints,
            options=options,
            workers=arguments.workers,
            progress=_progress(err, arguments.quiet),  # type: ignore[arg-type]
        )
    write_json(arguments.output / "statistics.json", analysis.statistics)
    write_json(arguments.output / "constraint_violations.json", analysis.violations_document())
    if arguments.publish_metrics:
        data = metric_data(
            analysis.feature_metrics,
            endpoint_name=arguments.endpoint_name,
            monitoring_schedule_name=arguments.monitoring_schedule_name,
        )
        CloudWatchPublisher().publish(DATA_METRICS_NAMESPACE, data)
    skipped = []
    if analysis.malformed_records:
        skipped.append(f"{analysis.malformed_records} malformed line(s) skipped")
    if analysis.records_outside_window:
        skipped.append(f"{analysis.records_outside_window} record(s) outside the window")
    print(
        f"analyzed {analysis.statistics['dataset']['item_count']} record(s): {len(analysis.violations)} violation(s)"
        f"{'; ' + ', '.join(skipped) if skipped else ''}: {arguments.output / 'constraint_violations.json'}",
        file=out,
    )
    return 0


def _baseline_files(arguments: argparse.Namespace) -> tuple[Path, Path]:
    statistics = arguments.baseline_statistics or (
        arguments.baseline / "statistics.json" if arguments.baseline else None
    )
    constraints = arguments.baseline_constraints or (
        arguments.baseline / "constraints.json" if arguments.baseline else None
    )
    if statistics is None or constraints is None:
        raise _UsageError("no baseline: give --baseline DIR, or --baseline-statistics and --baseline-constraints")
    for path in (statistics, constraints):
        if not path.is_file():
            raise _UsageError(f"no baseline file at {path}")
    return statistics, constraints


def _time(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_time(text)
    except ValueError as error:
        raise _UsageError(f"{option} {text!r} is not an ISO 8601 time ({error})") from error
