"""``python -m drift_engine baseline|analyze``: the engine on local paths or ``s3://`` locations.

Every location (dataset, capture, baseline, output) is a local path or an ``s3://bucket/key`` URI. S3 goes
through :mod:`drift_engine.s3` and boto3, imported only when an ``s3://`` location is given: the objects under a
dataset or capture prefix (capture objects whose ``yyyy/mm/dd/hh`` folder is outside the window are not
fetched) are downloaded to a temporary folder, concurrently, and profiled there by the same worker processes as
local files (memory stays bounded by the sketches; the disk holds one run's input); the baseline is read with
:func:`drift_engine.s3.read_baseline` and the output files written with :func:`drift_engine.s3.put_json`. With
``--runner spark`` the dataset and capture locations go to Spark as they are.

Bad input (an unknown format, a missing baseline, an empty window, an unreadable file or object, no AWS
credentials) ends with one line on stderr naming the problem and exit status 2, never a traceback. Progress
goes to stderr (downloads, then the first group of files, at most one line every 5 seconds, and the last)
unless ``--quiet``.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, NoReturn, TextIO

from .capture import CaptureOptions, file_in_window, parse_time
from .constraints import ConstraintsFileError, MonitoringConfig, parse_constraints
from .engine import EngineInputError, build_baseline, run_analysis, write_json
from .metrics import ANALYSIS_SUMMARY_FILE, DATA_METRICS_NAMESPACE, CloudWatchPublisher, analysis_summary, metric_data
from .readers import DatasetFormatError, list_files
from .statistics import StatisticsFileError, parse_statistics

__all__ = ["main"]

EXIT_BAD_INPUT = 2
#: Seconds between progress lines on a long run.
PROGRESS_SECONDS = 5.0
#: Concurrent downloads of S3 objects (each a GET; capture objects are a few MB).
DOWNLOAD_THREADS = 8


class _UsageError(ValueError):
    pass


class _Parser(argparse.ArgumentParser):
    """Usage errors become one line on the command's stderr (argparse would print the usage too)."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    s3_client: Any = None,
) -> int:
    """Run the command; ``s3_client``: the boto3 S3 client for ``s3://`` locations (default: created when needed)."""
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
        with _Locations(s3_client, err, arguments.quiet) as locations:
            if arguments.command == "baseline":
                return _baseline(arguments, locations, out, err)
            return _analyze(arguments, locations, out, err)
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
    except Exception as error:
        # S3's errors (botocore's, and the S3 edge's, which know of botocore) without importing botocore here.
        if not type(error).__module__.startswith(("botocore", "drift_engine.s3")):
            raise
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
    baseline.add_argument(
        "--dataset", required=True, help="a dataset file or a folder of them, or an s3:// object or prefix"
    )
    baseline.add_argument("--format", required=True, choices=("csv", "jsonl"), dest="dataset_format")
    baseline.add_argument(
        "--header", action=argparse.BooleanOptionalAction, default=False, help="CSV: the first line names the columns"
    )
    baseline.add_argument(
        "--output", "--out", required=True, dest="output", help="folder or s3:// prefix to write the files to"
    )
    baseline.add_argument(
        "--categorical-drift-method",
        choices=("LInfinity", "ChiSquared"),
        default="LInfinity",
        help="written to the suggested constraints (suggest_baseline's categorical_drift_method)",
    )
    _common(baseline)

    analyze = commands.add_parser("analyze", help="check captured traffic against a baseline")
    analyze.add_argument("--capture", required=True, nargs="+", help="capture files or folders, or s3:// prefixes")
    analyze.add_argument(
        "--baseline", help="a folder or s3:// prefix with statistics.json and constraints.json (either engine's)"
    )
    analyze.add_argument("--baseline-statistics", help="statistics.json elsewhere (path or s3://)")
    analyze.add_argument("--baseline-constraints", help="constraints.json elsewhere (path or s3://)")
    analyze.add_argument("--start", help="window start, ISO 8601 (UTC when no zone is given), inclusive")
    analyze.add_argument("--end", help="window end, ISO 8601, exclusive")
    analyze.add_argument(
        "--output-columns-position",
        choices=("START", "END"),
        default="START",
        help="where the endpoint's output values sit among the baseline's columns (default START)",
    )
    analyze.add_argument(
        "--output", "--out", required=True, dest="output", help="folder or s3:// prefix to write the files to"
    )
    analyze.add_argument(
        "--publish-metrics", action="store_true", help="publish the per-feature metrics to CloudWatch (needs boto3)"
    )
    analyze.add_argument(
        "--summary",
        action="store_true",
        help=f"also write {ANALYSIS_SUMMARY_FILE}: the record counts and the per-feature metrics, for whoever "
        "publishes them later (the stacks' Processing-job runs)",
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


class _Locations:
    """Reads and writes local paths and ``s3://`` locations; S3 objects are staged in a temporary folder."""

    def __init__(self, s3_client: Any, err: TextIO, quiet: bool) -> None:
        self._client = s3_client
        self._err = err
        self._quiet = quiet
        self._stack = contextlib.ExitStack()
        self._staging: Path | None = None
        self._downloads = 0

    def __enter__(self) -> _Locations:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    @property
    def s3(self) -> Any:
        if self._client is None:
            try:
                import boto3
            except ImportError as error:
                raise _UsageError(f"s3:// locations need boto3 ({error})") from error
            self._client = boto3.client("s3")
        return self._client

    def files(self, location: str, *, keep: Callable[[str], bool] | None = None) -> list[Path]:
        """The files of a local file or folder; or the objects of an ``s3://`` object or prefix, downloaded."""
        if not _is_s3(location):
            return list_files(Path(location))
        from .s3 import CaptureObject, S3Location, list_objects

        root = S3Location.parse(location)
        objects = list(list_objects(self.s3, root))
        if not objects and root.key:  # the location is one object, or nothing
            try:
                head = self.s3.head_object(Bucket=root.bucket, Key=root.key)
            except Exception as error:  # botocore's ClientError, not imported here
                if getattr(error, "response", {}).get("Error", {}).get("Code") not in {"404", "NoSuchKey", "NotFound"}:
                    raise
                raise _UsageError(f"{location}: no such object or prefix") from error
            objects = [CaptureObject(root.bucket, root.key, int(head.get("ContentLength", 0)))]
        objects = [item for item in objects if keep is None or keep(item.key)]
        if not objects:
            raise _UsageError(f"{location}: no objects")
        self._downloads += 1
        staging = self._staging_folder() / str(self._downloads)  # one folder per location: keys may repeat
        paths = [staging / item.key for item in objects]
        for path in paths:
            path.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=DOWNLOAD_THREADS) as pool:
            list(pool.map(lambda item, path: self.s3.download_file(item.bucket, item.key, str(path)), objects, paths))
        if not self._quiet:
            size = sum(item.size for item in objects) / 2**20
            print(
                f"  downloaded {len(objects)} object(s), {size:.1f} MiB from {location} in "
                f"{time.monotonic() - started:.0f} s",
                file=self._err,
                flush=True,
            )
        return paths

    def read(self, location: str) -> bytes:
        """A local file's or an S3 object's bytes."""
        if not _is_s3(location):
            path = Path(location)
            if not path.is_file():
                raise _UsageError(f"no baseline file at {path}")
            return path.read_bytes()
        from .s3 import S3Location, read_object

        target = S3Location.parse(location)
        body = read_object(self.s3, target.bucket, target.key)
        if body is None:
            raise _UsageError(f"no baseline file at {location}")
        return body

    def write(self, folder: str, name: str, document: dict[str, Any]) -> str:
        """Write a JSON file into a local folder or under an ``s3://`` prefix; returns where it went."""
        if not _is_s3(folder):
            write_json(Path(folder) / name, document)
            return str(Path(folder) / name)
        from .s3 import S3Location, put_json

        target = S3Location.parse(folder).child(name)
        put_json(self.s3, target, document)
        return target.uri

    def _staging_folder(self) -> Path:
        if self._staging is None:
            self._staging = Path(self._stack.enter_context(tempfile.TemporaryDirectory(prefix="drift-engine-")))
        return self._staging


def _is_s3(location: str) -> bool:
    return location.startswith("s3://")


def _spark(arguments: argparse.Namespace) -> Any:
    """The Spark runner's module and session (pyspark is imported only when this runner is chosen)."""
    try:
        from . import spark
    except ImportError as error:
        raise _UsageError(f"--runner spark needs pyspark ({error})") from error
    config = {"spark.ui.showConsoleProgress": "false"} if arguments.quiet else None
    return spark, spark.spark_session(arguments.spark_master, config)


def _baseline(arguments: argparse.Namespace, locations: _Locations, out: TextIO, err: TextIO) -> int:
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
        paths = locations.files(arguments.dataset)
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
    written = [
        locations.write(arguments.output, "statistics.json", result.statistics),
        locations.write(arguments.output, "constraints.json", result.constraints),
    ]
    malformed = f", {result.profile.malformed} malformed line(s) skipped" if result.profile.malformed else ""
    print(
        f"baseline of {result.profile.item_count} record(s), {len(result.profile.columns)} feature(s){malformed}: "
        f"{', '.join(written)}",
        file=out,
    )
    return 0


def _analyze(arguments: argparse.Namespace, locations: _Locations, out: TextIO, err: TextIO) -> int:
    statistics_location, constraints_location = _baseline_files(arguments)
    baseline = parse_statistics(locations.read(statistics_location), source=statistics_location)
    constraints = parse_constraints(locations.read(constraints_location), source=constraints_location)
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
        in_window = partial(file_in_window, options=options)
        paths = [path for location in arguments.capture for path in locations.files(location, keep=in_window)]
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
    locations.write(arguments.output, "statistics.json", analysis.statistics)
    violations = locations.write(arguments.output, "constraint_violations.json", analysis.violations_document())
    if arguments.summary:
        locations.write(
            arguments.output,
            ANALYSIS_SUMMARY_FILE,
            analysis_summary(
                analyzed_records=int(analysis.statistics["dataset"]["item_count"]),
                malformed_records=analysis.malformed_records,
                records_outside_window=analysis.records_outside_window,
                features=analysis.feature_metrics,
            ),
        )
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
        f"{'; ' + ', '.join(skipped) if skipped else ''}: {violations}",
        file=out,
    )
    return 0


def _baseline_files(arguments: argparse.Namespace) -> tuple[str, str]:
    """Where the baseline's statistics.json and constraints.json are (paths or s3:// URIs)."""
    folder = arguments.baseline.rstrip("/") if arguments.baseline else None
    statistics = arguments.baseline_statistics or (f"{folder}/statistics.json" if folder else None)
    constraints = arguments.baseline_constraints or (f"{folder}/constraints.json" if folder else None)
    if statistics is None or constraints is None:
        raise _UsageError("no baseline: give --baseline DIR, or --baseline-statistics and --baseline-constraints")
    return statistics, constraints


def _time(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_time(text)
    except ValueError as error:
        raise _UsageError(f"{option} {text!r} is not an ISO 8601 time ({error})") from error
