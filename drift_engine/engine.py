"""The one-machine runner: files in, the three Model Monitor files out, every core used.

Capture files: consecutive files are grouped (a quarter of a worker's share, at most 32 MiB a group) and each
group becomes one partial profile in a pool of worker threads, its files read column-wise and their rows
profiled in batches of up to 65,536. Threads, not processes: the work is pyarrow's readers and compute kernels
and numpy, which release the GIL, so threads use every core without starting an interpreter per worker and
importing pyarrow in it (0.4 CPU-seconds each, over a tenth of the whole run on 1,000,000 records). Baseline
datasets: this process reads (pyarrow's CSV and JSON readers parse with their own threads) and worker processes
profile the batches, so one large file uses every core too. Either way the partial profiles are merged as a
balanced tree in input order, and baseline inputs under 16 MiB are profiled in this process (starting workers
would cost more than it saves). The per-file functions (:func:`profile_dataset_file`,
:func:`profile_capture_file`) and :func:`drift_engine.profile.profile_batch` are what other runners build on
(:mod:`drift_engine.spark` maps them over partitions); :func:`drift_engine.profile.merge_profiles` is the reduce.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from .capture import CaptureOptions, CaptureReadResult, file_in_window, iter_capture_file, iter_capture_files
from .checks import Analysis, analyze_profile
from .constraints import MonitoringConfig, ParsedConstraints, suggest_constraints
from .profile import DatasetProfile, merge_profiles, profile_batch
from .readers import ReadResult, iter_csv_batches, iter_jsonl_batches
from .statistics import BaselineStatistics, statistics_document

__all__ = [
    "Baseline",
    "DatasetFormat",
    "EngineInputError",
    "Progress",
    "build_baseline",
    "finish_analysis",
    "finish_baseline",
    "profile_capture_file",
    "profile_capture_files",
    "profile_dataset_file",
    "run_analysis",
    "write_json",
]

DatasetFormat = Literal["csv", "jsonl"]
#: Called after each file: (files done, files in all, records so far).
Progress = Callable[[int, int, int], None]
#: Below this many bytes in all, baseline files are profiled in this process: starting workers would cost more.
_PARALLEL_MIN_BYTES = 16 << 20
#: Rows per profiled batch: small batches (one capture file's) are joined up to this many first.
_BATCH_ROWS = 65536
#: Largest group of capture files one worker task profiles.
_GROUP_MAX_BYTES = 32 << 20


class EngineInputError(ValueError):
    """Input the engine cannot work with (no records, an empty window); the message says which."""


@dataclass(frozen=True)
class Baseline:
    statistics: dict[str, Any]
    constraints: dict[str, Any]
    profile: DatasetProfile


def profile_dataset_file(path: Path, *, dataset_format: DatasetFormat, header: bool) -> DatasetProfile:
    """The partial profile of one baseline dataset file."""
    result = ReadResult()
    batches = iter_csv_batches(path, header=header) if dataset_format == "csv" else iter_jsonl_batches(path, result)
    profile = _fold(batches, None)
    profile.malformed += result.malformed
    return profile


def profile_capture_file(
    path: Path | bytes,
    *,
    options: CaptureOptions,
    domains: dict[str, frozenset[str]] | None = None,
    name: str | None = None,
) -> DatasetProfile:
    """The partial profile of one data-capture file (records outside the window skipped, bad lines counted).

    ``path`` may be the file's bytes (an S3 object read into memory); ``name`` (its key) then stands for the path
    in the ``yyyy/mm/dd/hh`` window check.
    """
    if not file_in_window(name if name is not None else path if isinstance(path, Path) else "", options):
        return DatasetProfile()
    result = CaptureReadResult()
    profile = _fold(iter_capture_file(path, options, result), domains)
    profile.malformed += result.malformed
    profile.records_outside_window += result.outside_window
    return profile


def profile_capture_files(
    paths: Sequence[Path], *, options: CaptureOptions, domains: dict[str, frozenset[str]] | None = None
) -> DatasetProfile:
    """The partial profile of several capture files, their rows profiled together in batches of up to 65,536.

    A capture file holds a few thousand records; profiling each file's rows alone would pay the per-batch cost
    (a few dozen compute calls per column) once per file instead of once per 65,536 rows.
    """
    result = CaptureReadResult()
    batches = iter_capture_files([path for path in paths if file_in_window(path, options)], options, result)
    profile = _fold(batches, domains)
    profile.malformed += result.malformed
    profile.records_outside_window += result.outside_window
    return profile


def build_baseline(
    paths: Sequence[Path],
    *,
    dataset_format: DatasetFormat,
    header: bool,
    config: MonitoringConfig | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> Baseline:
    """``statistics.json`` and the suggested ``constraints.json`` of a dataset (one file or many)."""
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if workers > 1 and sum(path.stat().st_size for path in paths) >= _PARALLEL_MIN_BYTES:
        profile = _profile_dataset_batches(paths, dataset_format, header, workers, progress)
    else:
        profile = _profile_groups(
            [[path] for path in paths],
            partial(_profile_dataset_files, dataset_format=dataset_format, header=header),
            1,
            progress,
        )
    return finish_baseline(profile, config=config, inputs=f"{len(paths)} file(s) read")


def run_analysis(
    paths: Sequence[Path],
    *,
    baseline: BaselineStatistics,
    constraints: ParsedConstraints,
    options: CaptureOptions,
    workers: int | None = None,
    progress: Progress | None = None,
) -> Analysis:
    """Profile captured traffic in the window and check it against the baseline."""
    domains = constraints.domains() or None
    workers = workers if workers is not None else (os.cpu_count() or 1)
    profile = _profile_groups(
        _groups(paths, workers), partial(profile_capture_files, options=options, domains=domains), workers, progress
    )
    return finish_analysis(profile, baseline=baseline, constraints=constraints, inputs=f"{len(paths)} file(s)")


def finish_baseline(profile: DatasetProfile, *, config: MonitoringConfig | None, inputs: str) -> Baseline:
    """The files of a merged dataset profile, whichever runner built it; ``inputs`` describes them for errors."""
    if profile.item_count == 0:
        raise EngineInputError(f"the dataset has no records ({inputs})")
    return Baseline(statistics_document(profile), suggest_constraints(profile, config=config), profile)


def finish_analysis(
    profile: DatasetProfile, *, baseline: BaselineStatistics, constraints: ParsedConstraints, inputs: str
) -> Analysis:
    """The checks of a merged capture profile, whichever runner built it; an empty window is an input error."""
    if profile.item_count == 0:
        raise EngineInputError(
            f"no captured records to analyze: {inputs}, {profile.records_outside_window} record(s) "
            f"outside the window, {profile.malformed} malformed line(s)"
        )
    return analyze_profile(profile, baseline, constraints)


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n", encoding="utf-8")


def _profile_dataset_batches(
    paths: Sequence[Path], dataset_format: DatasetFormat, header: bool, workers: int, progress: Progress | None
) -> DatasetProfile:
    """Dataset files read here (pyarrow's reader threads parse), their batches profiled by worker processes.

    A single large file then uses every core too. At most two batches per worker are in flight, so memory
    stays bounded; partial profiles are merged in reading order.
    """
    profiles: list[DatasetProfile] = []
    pending: deque[Future[DatasetProfile]] = deque()
    malformed = 0
    records = 0
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        for done, path in enumerate(paths, start=1):
            result = ReadResult()
            batches = (
                iter_csv_batches(path, header=header) if dataset_format == "csv" else iter_jsonl_batches(path, result)
            )
            for batch in batches:
                if not batch.num_rows:
                    continue
                pending.append(pool.submit(_profile_ipc, _to_ipc(batch)))
                records += batch.num_rows
                while len(pending) > 2 * workers:
                    profiles.append(pending.popleft().result())
            malformed += result.malformed
            if progress is not None:
                progress(done, len(paths), records)
        profiles.extend(future.result() for future in pending)
    profile = merge_profiles(profiles)
    profile.malformed += malformed
    return profile


def _to_ipc(batch: pa.RecordBatch) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    data: bytes = sink.getvalue().to_pybytes()
    return data


def _profile_ipc(data: bytes) -> DatasetProfile:
    return profile_batch(pa.ipc.open_stream(data).read_all())


def _profile_dataset_files(paths: Sequence[Path], *, dataset_format: DatasetFormat, header: bool) -> DatasetProfile:
    return merge_profiles(profile_dataset_file(path, dataset_format=dataset_format, header=header) for path in paths)


def _fold(batches: Iterable[pa.RecordBatch], domains: dict[str, frozenset[str]] | None) -> DatasetProfile:
    """Profile batches, consecutive ones with the same columns joined up to :data:`_BATCH_ROWS` rows first."""
    profile = DatasetProfile()
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in batches:
        if not batch.num_rows:
            continue
        if pending and batch.schema != pending[0].schema:
            profile = profile.merge(profile_batch(pa.Table.from_batches(pending), domains=domains))
            pending, rows = [], 0
        pending.append(batch)
        rows += batch.num_rows
        if rows >= _BATCH_ROWS:
            profile = profile.merge(profile_batch(pa.Table.from_batches(pending), domains=domains))
            pending, rows = [], 0
    if pending:
        profile = profile.merge(profile_batch(pa.Table.from_batches(pending), domains=domains))
    return profile


def _groups(paths: Sequence[Path], workers: int) -> list[list[Path]]:
    """Consecutive files in groups of about a quarter of a worker's share, at most 32 MiB: one task each.

    Several groups per worker keep both cores busy to the end; a bounded group keeps progress reports coming.
    """
    sizes = [path.stat().st_size for path in paths]
    target = min(_GROUP_MAX_BYTES, max(1, sum(sizes) // (4 * max(workers, 1))))
    groups: list[list[Path]] = []
    size = 0
    for path, path_size in zip(paths, sizes, strict=True):
        if not groups or size >= target:
            groups.append([])
            size = 0
        groups[-1].append(path)
        size += path_size
    return groups


def _profile_groups(
    groups: Sequence[Sequence[Path]],
    profile_group: Callable[[Sequence[Path]], DatasetProfile],
    workers: int | None,
    progress: Progress | None,
) -> DatasetProfile:
    """One partial profile per group of files, in worker threads when there are several, merged in input order."""
    workers = workers if workers is not None else (os.cpu_count() or 1)
    total_files = sum(len(group) for group in groups)
    profiles: list[DatasetProfile] = []
    records = files = 0
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(groups)))) as pool:
        results: Iterator[DatasetProfile] = (
            map(profile_group, groups) if workers <= 1 or len(groups) <= 1 else pool.map(profile_group, groups)
        )
        for group, profile in zip(groups, results, strict=True):
            profiles.append(profile)
            records, files = records + profile.item_count, files + len(group)
            if progress is not None:
                progress(files, total_files, records)
    return merge_profiles(profiles)
