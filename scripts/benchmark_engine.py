"""Measure the drift engine's ``analyze`` against Evidently and a read floor, side by side, in one run.

What it does (issue 10, "Measure"):

1. Generates N taxi-like capture records as SageMaker writes them (``demo.capture.capture_hour``: ``text/csv``
   requests of the demo's 8 features answered by the demo model, JSON Lines files of about 3,500 records under
   ``<endpoint>/<variant>/yyyy/mm/dd/hh`` folders, a new file every 5 minutes; beyond 1,000,000 records, those
   files linked under more variants), unless the data folder already holds them, and the engine's baseline of
   the demo's ``baseline.csv``.
2. Runs each contender in its own process and measures its wall time (interpreter start and imports included:
   that is what a user waits for) and its peak memory: the largest sum of resident set sizes over the process
   tree (sampled every 50 ms from ``/proc``; worker processes and Spark's JVM included) and the largest single
   process (``wait4``'s ``ru_maxrss``):

   * ``engine``: ``python -m drift_engine analyze`` over the folder (one worker thread per core), under
     ``--engine-python``: best a virtual environment with only ``drift_engine/requirements.txt``, as the engine's
     image has (with pandas installed, importing pyarrow imports it too, about a second);
   * ``read-floor``: the same files read and split into columns by the engine's column-wise reader
     (``drift_engine.capture.iter_capture_file``: pyarrow's JSON reader, payloads parsed by pyarrow's CSV
     reader), in as many threads, with no statistics at all: what reading alone costs;
   * ``evidently``: Evidently's ``DataDriftPreset`` on the same records loaded the way its users load capture
     files (``json.loads`` per line, the CSV payloads split into a pandas DataFrame), against the baseline CSV
     read with ``pandas.read_csv``. Evidently is benchmark-only: it runs in its own virtual environment
     (``--evidently-python``, e.g. ``/work/bench-venv/bin/python`` with ``pip install evidently``), never in
     the project's requirements;
   * ``spark`` (``--spark``): ``python -m drift_engine.spark analyze`` in local mode on every core, for reference.

Usage::

    python -m venv /tmp/engine-venv && /tmp/engine-venv/bin/pip install -r drift_engine/requirements.txt
    python -m venv /tmp/bench-venv && /tmp/bench-venv/bin/pip install evidently==0.7.23 "pandas<3"
    python scripts/benchmark_engine.py --records 1000000 --data /tmp/bench-1m --engine-python \\
        /tmp/engine-venv/bin/python --evidently-python /tmp/bench-venv/bin/python --spark
    python scripts/benchmark_engine.py --records 10000000 --data /tmp/bench-10m --only engine \\
        --engine-python /tmp/engine-venv/bin/python

The functions a child process runs (``_child_read_floor``, ``_child_evidently``) import what they need
themselves: the Evidently child runs under another interpreter that has neither this project nor its
requirements.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
BASELINE_CSV = REPO_ROOT / "demo" / "data" / "baseline.csv"
RECORDS_PER_HOUR = 42_000  # 12 files an hour: about 3,500 records per capture file
BASE_RECORDS = 1_000_000  # generated; larger runs link these files under more variants
SAMPLE_SECONDS = 0.05
if str(REPO_ROOT) not in sys.path:  # the project's packages, for this script's own children too
    sys.path.insert(0, str(REPO_ROOT))


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    if arguments.command == "_read-floor":
        return _child_read_floor(Path(arguments.capture), arguments.workers)
    if arguments.command == "_evidently":
        return _child_evidently(Path(arguments.capture), Path(arguments.baseline_csv))
    return _run(arguments)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("command", nargs="?", default="run", choices=("run", "_read-floor", "_evidently"))
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument(
        "--data",
        default=str(Path(tempfile.gettempdir()) / "drift-engine-benchmark"),
        help="where the capture files are kept",
    )
    parser.add_argument("--evidently-python", help="an interpreter with evidently installed")
    parser.add_argument(
        "--engine-python",
        default=sys.executable,
        help="the interpreter of the engine and the read floor, e.g. a virtual environment with only "
        "drift_engine/requirements.txt, as in the engine's image (default: this one)",
    )
    parser.add_argument("--spark", action="store_true", help="also time the Spark runner in local mode")
    parser.add_argument("--only", nargs="+", choices=("engine", "read-floor", "evidently", "spark"))
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", help="write the figures to this file too")
    parser.add_argument("--capture", help=argparse.SUPPRESS)
    parser.add_argument("--baseline-csv", help=argparse.SUPPRESS)
    return parser


# --- the driver ---------------------------------------------------------------------------------------


def _run(arguments: argparse.Namespace) -> int:
    data = Path(arguments.data)
    capture = data / "capture"
    baseline = data / "baseline"
    _generate(capture, arguments.records)
    if not (baseline / "statistics.json").is_file():
        _check([sys.executable, "-m", "drift_engine", "baseline", "--dataset", str(BASELINE_CSV), "--format", "csv",
                "--header", "--out", str(baseline), "--quiet"])  # fmt: skip
    first, last = _window(capture)
    window = ["--start", first, "--end", last]
    chosen = set(arguments.only or ("engine", "read-floor", "evidently", "spark"))
    if not arguments.spark and not arguments.only:
        chosen.discard("spark")
    if not arguments.evidently_python:
        chosen.discard("evidently")
    runs: dict[str, list[str]] = {
        "engine": [arguments.engine_python, "-m", "drift_engine", "analyze", "--capture", str(capture), "--baseline",
                   str(baseline), "--out", str(data / "out-engine"), "--quiet", "--workers", str(arguments.workers),
                   *window],
        "read-floor": [arguments.engine_python, __file__, "_read-floor", "--capture", str(capture), "--workers",
                       str(arguments.workers)],
        "evidently": [str(arguments.evidently_python), __file__, "_evidently", "--capture", str(capture),
                      "--baseline-csv", str(BASELINE_CSV)],
        "spark": [sys.executable, "-m", "drift_engine.spark", "analyze", "--capture", str(capture), "--baseline",
                  str(baseline), "--out", str(data / "out-spark"), "--quiet", "--spark-master",
                  f"local[{arguments.workers}]", *window],
    }  # fmt: skip
    results: dict[str, dict[str, Any]] = {}
    load_before = os.getloadavg()
    for name in ("read-floor", "engine", "evidently", "spark"):
        if name in chosen:
            print(f"running {name} …", file=sys.stderr, flush=True)
            results[name] = _measure(runs[name])
            results[name]["records_per_second"] = arguments.records / results[name]["seconds"]
            results[name]["records_per_cpu_second"] = arguments.records / results[name]["cpu_seconds"]
            print(f"  {_line(name, results[name])}", file=sys.stderr, flush=True)
    report = {
        "records": arguments.records,
        "files": sum(1 for _ in capture.rglob("*.jsonl")),
        "bytes": sum(path.stat().st_size for path in capture.rglob("*.jsonl")),
        "cores": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "results": results,
        "commands": {name: " ".join(command) for name, command in runs.items() if name in chosen},
    }
    print(f"{report['records']:,} records in {report['files']} files ({report['bytes'] / 2**20:,.0f} MiB), "
          f"{report['cores']} cores, load average {load_before[0]:.1f} before")  # fmt: skip
    for name, result in results.items():
        print(_line(name, result))
    if "engine" in results and "evidently" in results:
        engine, evidently = results["engine"], results["evidently"]
        print(
            f"engine / evidently throughput: {evidently['seconds'] / engine['seconds']:.1f}x (wall), "
            f"{evidently['cpu_seconds'] / engine['cpu_seconds']:.1f}x (per CPU second)"
        )
    if "engine" in results and "read-floor" in results:
        print(f"engine time / read floor time: {results['engine']['seconds'] / results['read-floor']['seconds']:.2f}")
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


def _line(name: str, result: dict[str, Any]) -> str:
    return (
        f"{name:<11} {result['seconds']:6.1f} s {result['records_per_second']:>9,.0f} records/s, "
        f"CPU {result['cpu_seconds']:6.1f} s {result['records_per_cpu_second']:>9,.0f} records/CPU-s, "
        f"peak RSS {result['peak_tree_rss'] / 2**20:7,.0f} MiB (tree), {result['max_process_rss'] / 2**20:7,.0f} MiB "
        f"(largest process)"
    )


def _generate(capture: Path, records: int) -> None:
    """Capture files for ``records`` requests, kept for the next run.

    Up to :data:`BASE_RECORDS`: one variant (``AllTraffic``), one hour folder per 42,000 records. Beyond, in
    multiples of it: those files, hard-linked under further variants (``Variant1``, …) as an endpoint with
    several production variants has them; the records repeat, which changes nothing the engine's memory or
    speed depends on, and 10,000,000 records need neither 40 minutes of generation nor 4 GB more disk.
    """
    marker = capture / ".records"
    if marker.is_file() and int(marker.read_text()) == records:
        return
    variants = 1
    if records > BASE_RECORDS:
        if records % BASE_RECORDS:
            raise SystemExit(f"--records above {BASE_RECORDS:,} must be a multiple of it")
        variants = records // BASE_RECORDS
    base = records // variants
    base_marker = capture / ".base-records"
    if not (base_marker.is_file() and int(base_marker.read_text()) == base):
        _generate_variant(capture, base)
        base_marker.write_text(str(base))
    source = capture / "benchmark" / "AllTraffic"
    for variant in range(1, variants):
        for path in sorted(source.rglob("*.jsonl")):
            link = capture / "benchmark" / f"Variant{variant}" / path.relative_to(source)
            link.parent.mkdir(parents=True, exist_ok=True)
            if not link.exists():
                link.hardlink_to(path)
    marker.write_text(str(records))


def _generate_variant(capture: Path, records: int) -> None:
    from datetime import UTC, datetime, timedelta

    from demo.capture import capture_hour

    started = time.monotonic()
    start = datetime(2024, 6, 11, tzinfo=UTC)
    hours = -(-records // RECORDS_PER_HOUR)
    for index in range(hours):
        count = min(RECORDS_PER_HOUR, records - index * RECORDS_PER_HOUR)
        files = capture_hour(endpoint_name="benchmark", hour=start + timedelta(hours=index), records=count, seed=index)
        for key, content in files.items():
            path = capture / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        print(f"  generated hour {index + 1}/{hours}", file=sys.stderr, flush=True)
    print(f"generated {records:,} records in {time.monotonic() - started:.0f} s", file=sys.stderr)


def _window(capture: Path) -> tuple[str, str]:
    """From the first hour folder's start to the last one's end: every generated record is inside."""
    from datetime import UTC, datetime, timedelta

    hours = sorted(
        datetime.strptime(path.parent.relative_to(capture).as_posix()[-13:], "%Y/%m/%d/%H").replace(tzinfo=UTC)
        for path in capture.rglob("*.jsonl")
    )
    return hours[0].strftime("%Y-%m-%dT%H:%M:%SZ"), (hours[-1] + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check(command: list[str]) -> None:
    subprocess.run(command, check=True, cwd=REPO_ROOT)  # noqa: S603 - our own interpreter and arguments


def _measure(command: list[str]) -> dict[str, Any]:
    """Wall time and peak memory of one command (its whole process tree)."""
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=REPO_ROOT)  # noqa: S603 - our own interpreter and arguments
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss(process.pid))
            done.wait(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    done.set()
    sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{command[0]} … exited with {process.returncode}")
    return {
        "seconds": seconds,
        # User and system CPU of the process and the children it waited for (worker processes, not Spark's JVM).
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_tree_rss": peak[0],
        "max_process_rss": usage.ru_maxrss * 1024,
    }


def _tree_rss(root: int) -> int:
    """The summed resident set size (bytes) of ``root`` and its descendants, from ``/proc``."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            statm = Path(entry.path, "statm").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
        rss[int(entry.name)] = int(statm.split()[1]) * page
    total = 0
    for pid in rss:
        ancestor = pid
        while ancestor not in (0, 1, root) and ancestor in parents:
            ancestor = parents[ancestor]
        if ancestor == root:
            total += rss[pid]
    return total


# --- child processes ----------------------------------------------------------------------------------


def _child_read_floor(capture: Path, workers: int) -> int:
    """Every capture file read and split into columns (the engine's reader), nothing computed."""
    from concurrent.futures import ThreadPoolExecutor

    from drift_engine.readers import list_files

    paths = list_files(capture)
    # Worker threads, as the engine's own pool: pyarrow releases the GIL while it parses.
    with ThreadPoolExecutor(max_workers=workers) as pool:
        rows = sum(pool.map(_read_columns, paths))
    print(f"read-floor: {rows} rows", file=sys.stderr)
    return 0


def _read_columns(path: Path) -> int:
    from drift_engine.capture import CaptureOptions, iter_capture_file

    options = CaptureOptions(baseline_columns=[f"c{index}" for index in range(9)])
    return sum(batch.num_rows for batch in iter_capture_file(path, options))


def _child_evidently(capture: Path, baseline_csv: Path) -> int:
    """Evidently's DataDriftPreset on the capture records, loaded as its users load them, against the baseline."""
    # Installed only in the benchmark's own environment (--evidently-python), not in the project's.
    import pandas as pd  # type: ignore[import-untyped]
    from evidently import Report  # type: ignore[import-not-found]
    from evidently.presets import DataDriftPreset  # type: ignore[import-not-found]

    reference = pd.read_csv(baseline_csv)
    columns = list(reference.columns)  # the prediction (tip_amount) first, as captured output comes first
    rows = []
    for path in sorted(capture.rglob("*.jsonl")):
        with path.open(encoding="utf-8") as file:
            for line in file:
                record = json.loads(line)
                data = record["captureData"]
                rows.append(data["endpointOutput"]["data"].split(",") + data["endpointInput"]["data"].split(","))
    current = pd.DataFrame(rows, columns=columns).replace("", None).astype(float)
    del rows
    loaded = time.monotonic()
    result = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
    drifted = json.dumps(result.dict(), default=str)
    print(
        f"evidently: {len(current)} rows, report of {len(drifted)} characters, "
        f"{time.monotonic() - loaded:.1f} s after loading",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
