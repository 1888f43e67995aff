"""The Spark runner (PySpark, local mode) gives the one-machine runner's result.

One session for the module (starting one costs about ten seconds), two cores, and inputs split into several
partitions so the partial profiles and the tree merge really run. Counts, types, sums, extremes and
means must be identical; standard deviations agree to rounding; KLL-derived numbers (bucket counts, drift
distances) agree within the sketch's rank error (and exactly below k = 2048 values, where the sketch is exact).

Every job is one the runner really does, and no two tests run the same one: the session's warm-up job is the
headerless baseline, and one analysis serves both the comparison with the one-machine runner and the Processing
job's arguments. Partitions are as few as still exercise the merge: each is a task, and each task a Python worker's
round trip.
"""

import io
import json
import shutil
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from datasketches import kll_doubles_sketch

from demo.generate_demo import draw_feature_rows, format_csv_row
from drift_engine import build_baseline
from drift_engine.kll import ANALYZER_SKETCH_SIZE

from .conftest import REPO_ROOT, SDK_DATA_QUALITY, capture_line, write_capture_files

pytestmark = [
    pytest.mark.skipif(
        shutil.which("java") is None, reason="no JVM: the Spark runner's tests need java on PATH (PySpark local mode)"
    ),
]

BASELINE_CSV = REPO_ROOT / "demo" / "data" / "baseline.csv"
HOUR = datetime(2024, 6, 11, 10, tzinfo=UTC)
#: KLL's normalized rank error at k = 2048 (both sides of a comparison may err, hence twice it).
RANK_ERROR = kll_doubles_sketch.get_normalized_rank_error(ANALYZER_SKETCH_SIZE, False)


#: Local mode on two cores, inputs split into partitions of at most 512 KiB (the 1.5 MiB capture becomes four
#: partial profiles; the large-baseline test splits its file smaller).
SPARK_CONFIG = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.files.maxPartitionBytes": "524288",
    "spark.sql.files.openCostInBytes": "0",
    "spark.default.parallelism": "2",
    # A short-lived test JVM: the client compiler only and the serial collector start and warm up in a fraction of
    # the CPU the server defaults take (their gains come after minutes, never in a test).
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto",
}
#: The headerless dataset the session's warm-up job profiles, which its test then checks.
HEADERLESS_BASELINE = SDK_DATA_QUALITY / "baseline_dataset.csv"
_starting: Future[tuple[Any, Any]] | None = None


def start_in_background() -> None:
    """Start the module's session while other modules' tests run (tests/conftest.py calls this after collection
    when any test here is selected): the JVM's start and the first job's warm-up (the Python workers importing the
    engine) are seconds of a second core, spent in the JVM and the workers while this process only waits."""
    global _starting
    if _starting is None:
        _starting = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spark-start").submit(_started_session)


def _started_session() -> tuple[Any, Any]:
    """The session and its warm-up job: a test's real job (the smallest dataset here), whose result it checks."""
    from drift_engine import spark as runner

    session = runner.spark_session("local[2]", SPARK_CONFIG)
    session.sparkContext.setLogLevel("ERROR")
    return session, runner.build_baseline(session, [str(HEADERLESS_BASELINE)], dataset_format="csv", header=False)


@pytest.fixture(scope="module")
def started() -> Iterator[tuple[Any, Any]]:
    start_in_background()  # a no-op when the run already started it
    assert _starting is not None
    session, warm_up = _starting.result(timeout=600)
    yield session, warm_up
    session.stop()


@pytest.fixture(scope="module")
def spark(started: tuple[Any, Any]) -> Any:
    return started[0]


def _assert_same_statistics(spark_document: dict[str, Any], local_document: dict[str, Any], *, exact: bool) -> None:
    assert spark_document["dataset"] == local_document["dataset"]
    spark_features = {feature["name"]: feature for feature in spark_document["features"]}
    assert sorted(spark_features) == sorted(feature["name"] for feature in local_document["features"])
    for theirs in local_document["features"]:
        ours = spark_features[theirs["name"]]
        assert ours["inferred_type"] == theirs["inferred_type"], theirs["name"]
        if "string_statistics" in theirs:
            assert ours["string_statistics"] == theirs["string_statistics"], theirs["name"]
            continue
        mine, local = ours["numerical_statistics"], theirs["numerical_statistics"]
        for key in ("common", "sum", "mean", "min", "max"):
            assert mine[key] == local[key], (theirs["name"], key)
        assert mine["std_dev"] == pytest.approx(local["std_dev"], rel=1e-12), theirs["name"]
        buckets = mine["distribution"]["kll"]["buckets"]
        expected = local["distribution"]["kll"]["buckets"]
        assert [(b["lower_bound"], b["upper_bound"]) for b in buckets] == [
            (b["lower_bound"], b["upper_bound"]) for b in expected
        ]
        present = mine["common"]["num_present"]
        tolerance = 0 if exact else 2 * RANK_ERROR * present
        for bucket, reference in zip(buckets, expected, strict=True):
            assert abs(bucket["count"] - reference["count"]) <= tolerance, theirs["name"]


def test_a_headerless_baseline_on_spark_equals_the_one_machine_baseline(started: tuple[Any, Any]) -> None:
    local = build_baseline([HEADERLESS_BASELINE], dataset_format="csv", header=False, workers=1)
    distributed = started[1]  # the session's warm-up job
    assert distributed.profile.item_count == 100
    _assert_same_statistics(distributed.statistics, local.statistics, exact=True)
    assert distributed.constraints == local.constraints


def test_local_workers_fork_from_the_engines_daemon_without_sparks_archives_on_their_path(spark: Any) -> None:
    """The workers of a local session come from drift_engine.spark_daemon: Spark's jar is off their path, PySpark is
    the installed package (not compiled from Spark's zip), and the engine was imported before they were forked."""

    def worker_state(_: Iterator[int]) -> Iterator[tuple[str, list[str], str, bool]]:
        import sys

        import pyspark

        archives = [entry for entry in sys.path if entry.endswith((".jar", ".zip")) and "pyspark" in entry]
        yield sys.argv[0], archives, pyspark.__file__ or "", "drift_engine.spark" in sys.modules

    ((daemon, archives, pyspark_file, engine_imported),) = (
        spark.sparkContext.parallelize([0], 1).mapPartitions(worker_state).collect()
    )
    assert daemon.endswith("drift_engine/spark_daemon.py")
    assert archives == []
    assert ".zip" not in pyspark_file and engine_imported


def test_a_large_baseline_split_in_partitions_is_within_the_sketch_error(spark: Any, tmp_path: Path) -> None:
    """20,000 rows (a 600 KiB file, 5 partitions of 128 KiB): past k, so the sketches compact differently."""
    from drift_engine import spark as runner

    rng = np.random.default_rng(11)
    rows = [format_csv_row(row) for row in draw_feature_rows(rng, 20_000)]
    dataset = tmp_path / "train.csv"
    dataset.write_text("\n".join(rows) + "\n", encoding="ascii")
    local = build_baseline([dataset], dataset_format="csv", header=False, workers=1)
    spark.conf.set("spark.sql.files.maxPartitionBytes", "131072")
    try:
        distributed = runner.build_baseline(spark, [str(dataset)], dataset_format="csv", header=False)
        assert spark.read.csv(str(dataset)).rdd.getNumPartitions() >= 4
    finally:
        spark.conf.set("spark.sql.files.maxPartitionBytes", SPARK_CONFIG["spark.sql.files.maxPartitionBytes"])
    _assert_same_statistics(distributed.statistics, local.statistics, exact=False)
    assert distributed.constraints == local.constraints


def test_a_json_lines_baseline_on_spark_equals_the_one_machine_baseline(spark: Any, tmp_path: Path) -> None:
    from drift_engine import spark as runner

    dataset = tmp_path / "baseline.jsonl"
    lines = [json.dumps({"a": index, "b": index / 4, "c": {"kind": "xyz"[index % 3]}}) for index in range(1500)]
    lines.insert(700, "{not json")
    dataset.write_text("\n".join(lines) + "\n", encoding="utf-8")
    local = build_baseline([dataset], dataset_format="jsonl", header=False, workers=1)
    distributed = runner.build_baseline(spark, [str(dataset)], dataset_format="jsonl", header=False)
    assert distributed.profile.malformed == local.profile.malformed == 1
    _assert_same_statistics(distributed.statistics, local.statistics, exact=True)


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three hours of drifted taxi traffic (a malformed line, a file two hours early) in hour folders."""
    root = tmp_path_factory.mktemp("capture")
    rng = np.random.default_rng(21)
    rows = draw_feature_rows(rng, 6000, drift=True)
    requests = [(format_csv_row(row), f"{rng.uniform(0, 10):.2f}") for row in rows]
    capture = root / "capture"
    write_capture_files(capture, requests, HOUR - timedelta(minutes=30), per_file=400)
    early = capture / (HOUR - timedelta(hours=2)).strftime("%Y/%m/%d/%H") / "early.jsonl"
    early.parent.mkdir(parents=True)
    early.write_text(capture_line("1,2,3,4,5,6,7,8", "1.0", HOUR - timedelta(hours=2)) + "\n", encoding="utf-8")
    with next(capture.rglob("capture-0003.jsonl")).open("a", encoding="utf-8") as file:
        file.write("{this is not a capture line\n")
    return capture


def test_the_spark_entry_point_writes_a_baseline_equal_to_the_one_machine_one(spark: Any, tmp_path: Path) -> None:
    """``baseline`` through the entry point (its ``analyze`` runs in the Processing-job test below)."""
    from drift_engine.spark import main

    argv = ["baseline", "--dataset", str(BASELINE_CSV), "--format", "csv", "--header", "--out", str(tmp_path)]
    assert main(argv, stdout=io.StringIO()) == 0
    local = build_baseline([BASELINE_CSV], dataset_format="csv", header=True, workers=1)
    statistics = json.loads((tmp_path / "statistics.json").read_text(encoding="utf-8"))
    _assert_same_statistics(statistics, local.statistics, exact=True)
    assert json.loads((tmp_path / "constraints.json").read_text(encoding="utf-8")) == local.constraints


def test_the_processing_job_s_analysis_on_spark_equals_the_one_machine_analysis(
    spark: Any, capture: Path, tmp_path: Path
) -> None:
    """``builtin_runtime: processing``: the entry point the hourly function gives each job, run by spark-submit's
    script in the image (``drift_engine.spark.main``), writes the reports and the summary the function publishes
    from, equal to the one-machine runner's on the same arguments. Container paths are mapped to local folders.

    The hour holds 3,600 records in four partitions, a malformed line and records of other hours: statistics,
    violations and drift distances agree with the one-machine analysis within the sketch's rank error."""
    from drift_engine.cli import main as local_main
    from drift_engine.metrics import ANALYSIS_SUMMARY_FILE, parse_analysis_summary
    from drift_engine.s3 import S3Location
    from drift_engine.spark import main as spark_main
    from lambdas.drift_analysis import processing
    from lambdas.drift_analysis.config import ProcessingJobSettings, Settings
    from lambdas.drift_analysis.hourly import RunRequest

    baseline = build_baseline([BASELINE_CSV], dataset_format="csv", header=True, workers=1)
    inputs = {
        processing.BASELINE_STATISTICS_PATH: baseline.statistics,
        processing.BASELINE_CONSTRAINTS_PATH: baseline.constraints,
    }
    local = {container: tmp_path / container.rsplit("/", 1)[-1] for container in inputs}
    for container, document in inputs.items():
        local[container].mkdir()
        name = "statistics.json" if container == processing.BASELINE_STATISTICS_PATH else "constraints.json"
        (local[container] / name).write_text(json.dumps(document), encoding="utf-8")
    settings = Settings(
        endpoint_name="endpoint",
        monitoring_schedule_name="schedule",
        capture=S3Location.parse("s3://capture/datacapture"),
        reports=S3Location.parse("s3://data/reports"),
        baseline_statistics=S3Location.parse("s3://data/baseline/statistics.json"),
        baseline_constraints=S3Location.parse("s3://data/baseline/constraints.json"),
        drift_metrics_namespace="aws/sagemaker/Endpoints/data-metrics",
        metrics_namespace="ModelMonitorAsCode",
    )
    job_settings = ProcessingJobSettings(
        job_name_prefix="test", image_uri="image", role_arn="role", instance_type="ml.m5.xlarge", instance_count=2,
        volume_size_gb=20, max_runtime_seconds=3600, kms_key_arn="key", network={},
    )  # fmt: skip
    end = HOUR + timedelta(hours=1)
    request = RunRequest(start=HOUR, end=end, scheduled_time=end)
    folders = sorted({f"{path.parent}/" for path in capture.rglob("*.jsonl")})
    job = processing.processing_job_request(
        settings, job_settings, request, S3Location.parse("s3://data/reports/x"), "test-job", folders
    )
    entrypoint = job["AppSpecification"]["ContainerEntrypoint"]
    assert entrypoint[:2] == [processing.SPARK_SUBMIT, processing.SPARK_APPLICATION]

    def arguments(output: Path) -> list[str]:
        mapped = {**{container: str(path) for container, path in local.items()}, processing.OUTPUT_PATH: str(output)}
        result = []
        for argument in entrypoint[2:]:
            for container, path in mapped.items():
                argument = argument.replace(container, path)
            result.append(argument)
        return result

    assert spark.read.option("recursiveFileLookup", "true").text(str(capture)).rdd.getNumPartitions() >= 3
    assert spark_main(arguments(tmp_path / "spark"), stdout=io.StringIO()) == 0
    assert local_main(arguments(tmp_path / "local"), stdout=io.StringIO(), stderr=io.StringIO()) == 0

    reports = {runner: tmp_path / runner for runner in ("spark", "local")}
    documents = {
        runner: {
            name: json.loads((folder / name).read_text(encoding="utf-8"))
            for name in ("statistics.json", "constraint_violations.json", ANALYSIS_SUMMARY_FILE)
        }
        for runner, folder in reports.items()
    }
    on_spark, local_run = documents["spark"], documents["local"]
    assert on_spark["statistics.json"]["dataset"]["item_count"] == 3600
    _assert_same_statistics(on_spark["statistics.json"], local_run["statistics.json"], exact=False)
    violations = {
        runner: {
            (v["feature_name"], v["constraint_check_type"])
            for v in document["constraint_violations.json"]["violations"]
        }
        for runner, document in documents.items()
    }
    assert violations["spark"] == violations["local"]
    assert {check for _, check in violations["spark"]} >= {"data_type_check", "baseline_drift_check"}

    summary, local_summary = (
        parse_analysis_summary(documents[runner][ANALYSIS_SUMMARY_FILE], source=runner) for runner in ("spark", "local")
    )
    assert (summary.analyzed_records, summary.malformed_records) == (3600, 1)
    assert summary.records_outside_window == local_summary.records_outside_window > 0
    assert (summary.analyzed_records, summary.malformed_records) == (
        local_summary.analyzed_records,
        local_summary.malformed_records,
    )
    spark_metrics = {metric.feature: metric for metric in summary.feature_metrics}
    assert spark_metrics.keys() == {metric.feature for metric in local_summary.feature_metrics}
    for metric in local_summary.feature_metrics:
        assert spark_metrics[metric.feature].non_null == metric.non_null
        if metric.baseline_drift is not None:
            assert spark_metrics[metric.feature].baseline_drift == pytest.approx(
                metric.baseline_drift, abs=2 * RANK_ERROR
            ), metric.feature
