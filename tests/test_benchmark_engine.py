"""scripts/benchmark_engine.py's own parts on tiny data (the benchmark itself is run by hand, not timed in tests):
capture files as SageMaker lays them out, more variants by hard links, a window holding every record, and the
memory of a process tree measured from /proc."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

import benchmark_engine


def test_generated_capture_files_and_their_window(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(benchmark_engine, "BASE_RECORDS", 1000)
    capture = tmp_path / "capture"
    benchmark_engine._generate(capture, 3000)
    files = sorted(capture.rglob("*.jsonl"))
    variants = {path.relative_to(capture).parts[1] for path in files}
    assert variants == {"AllTraffic", "Variant1", "Variant2"}
    first = json.loads(files[0].read_text().splitlines()[0])
    assert first["captureData"]["endpointInput"]["observedContentType"] == "text/csv"
    assert len(first["captureData"]["endpointInput"]["data"].split(",")) == 8
    assert sum(len(path.read_text().splitlines()) for path in files) == 3000
    assert files[0].stat().st_nlink == 3  # linked, not copied
    start, end = benchmark_engine._window(capture)
    times = [json.loads(line)["eventMetadata"]["inferenceTime"] for path in files for line in path.open()]
    assert start <= min(times) and max(times) < end


def test_a_measured_command_reports_its_time_and_the_memory_of_its_children() -> None:
    child = "x = bytearray(200 << 20); import time; time.sleep(0.5)"
    allocate = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {child!r}])"
    result = benchmark_engine._measure([sys.executable, "-c", allocate])
    assert result["seconds"] >= 0.5 and 0 < result["cpu_seconds"] < result["seconds"] + 1
    assert result["peak_tree_rss"] >= 200 << 20  # the grandchild's 200 MiB, seen through the tree
    assert result["max_process_rss"] >= 200 << 20
