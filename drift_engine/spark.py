"""The Spark runner: the same partial profiles and merge as one machine, over Spark partitions.

For datasets and capture windows larger than one machine reads in time, on SageMaker Processing's Spark image
(``sagemaker-spark-processing``, Spark 3.5 at most per sagemaker-core's ``image_uri_config/spark.json``; its
``py312`` variant, this package needs Python 3.11 or later) with several instances, or in local mode.

* Spark reads and splits the input (local paths, or objects through the cluster's Hadoop file systems): baseline
  CSV with Spark's own CSV reader, every column as text (``_c0``, ``_c1``, … without a header, the analyzer's
  names, since the analyzer is Spark too); JSON Lines and capture files as text lines.
* ``DataFrame.mapInArrow`` hands each partition's Arrow batches to this package's functions in the Python
  workers: :func:`drift_engine.profile.profile_batch` for CSV; for lines, up to 8 MiB of them are joined into
  one buffer and read by the same readers the one-machine runner uses on a file
  (:func:`drift_engine.readers.iter_jsonl_batches`, :func:`drift_engine.capture.iter_capture_file`), so a
  capture record is parsed, windowed and named exactly as on one machine. Each partition yields one row: its
  partial profile in :meth:`DatasetProfile.to_bytes` form.
* The partial profiles are merged as a tree (``RDD.treeAggregate``, depth 2) so the driver receives a few
  merged profiles rather than one per partition; the merge is associative, so counts, sums, minimum and
  maximum equal the one-machine result exactly and quantiles agree within the KLL sketch's rank error.

Capture files whose ``yyyy/mm/dd/hh`` folder is more than an hour outside the window are dropped before
parsing (Spark still reads them: list only the hour folders you need to save that). Spark skips files whose
names start with ``_`` or ``.``; CSV values spanning lines are not supported here (Spark's CSV reader would
have to read every file whole).

Run it with ``python -m drift_engine.spark baseline|analyze …`` (the CLI's arguments, local mode) or, on a
cluster, ``spark-submit --py-files drift_engine.zip scripts/spark_drift_engine.py analyze …``. The workers
need this package's requirements (``drift_engine/requirements.txt``) installed, pyspark comes with Spark.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, TextIO

import pyarrow as pa
import pyarrow.compute as pc

from drift_engine.capture import CaptureOptions, CaptureReadResult, file_in_window, iter_capture_file
from drift_engine.checks import Analysis
from drift_engine.constraints import MonitoringConfig, ParsedConstraints
from drift_engine.engine import Baseline, DatasetFormat, finish_analysis, finish_baseline
from drift_engine.profile import DatasetProfile, profile_batch
from drift_engine.readers import ReadResult, iter_jsonl_batches, lines_buffer
from drift_engine.statistics import BaselineStatistics

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "build_baseline",
    "main",
    "profile_capture",
    "profile_dataset",
    "run_analysis",
    "spark_session",
]

#: What each partition yields: one partial profile.
_PROFILE_SCHEMA = "profile binary"
#: Lines joined into one buffer before a reader parses them (the one-machine readers' block size).
_LINES_BUFFER_BYTES = 8 << 20
#: Depth of the merge tree: partitions → about √partitions merged profiles on executors → the driver.
_TREE_DEPTH = 2


def spark_session(master: str | None = None, config: Mapping[str, str] | None = None) -> SparkSession:
    """The active session, or a new one (``master`` such as ``local[2]``; under spark-submit, its master).

    In local mode the Python workers run this interpreter (``PYSPARK_PYTHON``), so they import the same
    packages, and are forked from :mod:`drift_engine.spark_daemon`; on a cluster the image's settings decide.
    ``config``: Spark settings for a new session.
    """
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("drift_engine")
    if master is not None and master.startswith("local"):
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        # The workers' daemon: drift_engine.spark_daemon says what it saves each task (``config`` may override).
        builder = builder.config("spark.python.daemon.module", "drift_engine.spark_daemon")
    for key, value in (config or {}).items():
        builder = builder.config(key, value)
    if master is not None:
        builder = builder.master(master)
    session: SparkSession = builder.getOrCreate()
    return session


def profile_dataset(
    spark: SparkSession, locations: Sequence[str], *, dataset_format: DatasetFormat, header: bool
) -> DatasetProfile:
    """The merged profile of a baseline dataset (files or folders, local or on the cluster's file systems)."""
    reader = spark.read.option("recursiveFileLookup", "true")
    if dataset_format == "csv":
        # Every column as text (no inferSchema): types are inferred value by value, as the analyzer does.
        frame = reader.csv(list(locations), header=header, inferSchema=False, mode="PERMISSIVE")
        return _tree_merge(frame.mapInArrow(_profile_batches, _PROFILE_SCHEMA))
    frame = reader.text(list(locations)).select("value")
    return _tree_merge(frame.mapInArrow(_profile_jsonl_lines, _PROFILE_SCHEMA))


def profile_capture(
    spark: SparkSession,
    locations: Sequence[str],
    *,
    options: CaptureOptions,
    domains: Mapping[str, frozenset[str]] | None = None,
) -> DatasetProfile:
    """The merged profile of the capture records in the window, from capture files or folders of them."""
    from pyspark.sql import functions

    frame = (
        spark.read.option("recursiveFileLookup", "true")
        .text(list(locations))
        .select("value", functions.input_file_name().alias("file"))
    )
    profile_partition = partial(_profile_capture_lines, options=options, domains=dict(domains) if domains else None)
    return _tree_merge(frame.mapInArrow(profile_partition, _PROFILE_SCHEMA))


def build_baseline(
    spark: SparkSession,
    locations: Sequence[str],
    *,
    dataset_format: DatasetFormat,
    header: bool,
    config: MonitoringConfig | None = None,
) -> Baseline:
    """``statistics.json`` and the suggested ``constraints.json`` of a dataset, profiled on Spark."""
    profile = profile_dataset(spark, locations, dataset_format=dataset_format, header=header)
    return finish_baseline(profile, config=config, inputs=", ".join(locations))


def run_analysis(
    spark: SparkSession,
    locations: Sequence[str],
    *,
    baseline: BaselineStatistics,
    constraints: ParsedConstraints,
    options: CaptureOptions,
) -> Analysis:
    """Captured traffic in the window, profiled on Spark and checked against the baseline."""
    profile = profile_capture(spark, locations, options=options, domains=constraints.domains() or None)
    return finish_analysis(profile, baseline=baseline, constraints=constraints, inputs=", ".join(locations))


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """The CLI (``baseline`` / ``analyze``, same arguments) with ``--runner spark``."""
    from drift_engine.cli import main as cli_main

    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and not any(argument.startswith("--runner") for argument in arguments):
        arguments[1:1] = ["--runner", "spark"]
    return cli_main(arguments, stdout=stdout, stderr=stderr)


# --- in the Python workers ----------------------------------------------------------------------------


def _profile_batches(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    profile = DatasetProfile()
    for batch in batches:
        if batch.num_rows:
            profile = profile.merge(profile_batch(batch))
    yield _profile_row(profile)


def _profile_jsonl_lines(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    def profile_lines(lines: pa.Array) -> DatasetProfile:
        result = ReadResult()
        profile = DatasetProfile()
        for batch in iter_jsonl_batches(lines_buffer(lines), result):
            if batch.num_rows:
                profile = profile.merge(profile_batch(batch))
        profile.malformed += result.malformed
        return profile

    yield _profile_row(_fold_lines(batches, profile_lines))


def _profile_capture_lines(
    batches: Iterable[pa.RecordBatch],
    *,
    options: CaptureOptions,
    domains: dict[str, frozenset[str]] | None,
) -> Iterator[pa.RecordBatch]:
    def profile_lines(lines: pa.Array) -> DatasetProfile:
        result = CaptureReadResult()
        profile = DatasetProfile()
        for batch in iter_capture_file(lines_buffer(lines), options, result):
            if batch.num_rows:
                profile = profile.merge(profile_batch(batch, domains=domains))
        profile.malformed += result.malformed
        profile.records_outside_window += result.outside_window
        return profile

    def in_window(batch: pa.RecordBatch) -> pa.RecordBatch:
        files = batch.column("file")
        names = pc.unique(files).to_pylist()
        inside = [name for name in names if file_in_window(name, options)]
        if len(inside) == len(names):
            return batch
        return batch.filter(pc.is_in(files, value_set=pa.array(inside, pa.string())))

    if options.start is not None or options.end is not None:
        batches = (in_window(batch) for batch in batches)
    yield _profile_row(_fold_lines(batches, profile_lines))


def _fold_lines(
    batches: Iterable[pa.RecordBatch], profile_lines: Callable[[pa.Array], DatasetProfile]
) -> DatasetProfile:
    """Lines gathered into buffers of about :data:`_LINES_BUFFER_BYTES`, each profiled, all merged."""
    profile = DatasetProfile()
    pending: list[pa.Array] = []
    size = 0
    for batch in batches:
        lines = batch.column("value").drop_null()
        if not len(lines):
            continue
        pending.append(lines)
        size += lines.nbytes
        if size >= _LINES_BUFFER_BYTES:
            profile = profile.merge(profile_lines(pa.concat_arrays(pending)))
            pending, size = [], 0
    if pending:
        profile = profile.merge(profile_lines(pa.concat_arrays(pending)))
    return profile


def _profile_row(profile: DatasetProfile) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict({"profile": [profile.to_bytes()]}, schema=pa.schema([("profile", pa.binary())]))


# --- on the driver ------------------------------------------------------------------------------------


def _tree_merge(profiles: DataFrame) -> DatasetProfile:
    merged: DatasetProfile = profiles.rdd.map(_row_profile).treeAggregate(
        DatasetProfile(), _merge, _merge, depth=_TREE_DEPTH
    )
    return merged


def _row_profile(row: Any) -> DatasetProfile:
    return DatasetProfile.from_bytes(bytes(row[0]))


def _merge(left: DatasetProfile, right: DatasetProfile) -> DatasetProfile:
    return left.merge(right)


if __name__ == "__main__":
    sys.exit(main())
