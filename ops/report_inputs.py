"""``report``: find the files a report is drawn from, render it, print the violations table.

Two sources, the same files under their Model Monitor names:

* **the deployed stage**: the baseline's statistics.json and constraints.json at the baseline stack's
  outputs ``BaselineStatisticsUri`` / ``BaselineConstraintsUri``; the execution's statistics.json and
  constraint_violations.json in the output of the newest completed execution of the deployed schedule (or of
  the processing job given with ``--processing-job``): ``DescribeProcessingJob`` →
  ``ProcessingOutputConfig.Outputs[0].S3Output.S3Uri``. The downloaded files are saved next to the report
  (``baseline/``, ``execution/``), so the same report can be redrawn offline from them.
* **local folders**: ``--baseline DIR`` (statistics.json, constraints.json) and ``--execution DIR``
  (statistics.json, constraint_violations.json), e.g. those saved folders or files copied from S3.

A missing file is a note on the page, not a failure: an execution that failed has no statistics, and a custom
container may name its violations file ``constraints_violations.json`` (the spelling of the BYOC docs), which
is read when the usual name is absent. Only when there are no statistics at all is it an error.
Violations are read with the violation-metric function's own parser, so the report and the alarm agree on
what a violations file says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from lambdas.violation_metric.violations import Violation, ViolationReportError, parse_violations

from .aws import S3Client, SageMakerClient, read_s3_object
from .errors import OpsError
from .executions import latest_completed_execution, processing_job_name
from .report import ReportFiles, ReportInputs, format_violations_table, write_report
from .statistics import (
    DatasetStatistics,
    FeatureConstraint,
    StatisticsError,
    parse_constraints,
    parse_statistics,
)

__all__ = [
    "CONSTRAINTS_FILE",
    "STATISTICS_FILE",
    "VIOLATIONS_FILE",
    "VIOLATIONS_FILE_BYOC",
    "ExecutionLocation",
    "execution_output_uri",
    "inputs_from_folder_uri",
    "inputs_from_folders",
    "inputs_from_stage",
    "print_report",
]

STATISTICS_FILE = "statistics.json"
CONSTRAINTS_FILE = "constraints.json"
#: What the prebuilt analyzer writes.
VIOLATIONS_FILE = "constraint_violations.json"
#: The spelling of the "bring your own container" docs, which some custom containers follow.
VIOLATIONS_FILE_BYOC = "constraints_violations.json"

#: Reads one file by name from one side; ``None`` when absent.
_Reader = Callable[[str], tuple[bytes, str] | None]


@dataclass(frozen=True)
class ExecutionLocation:
    """Which execution a report shows, and where its output is."""

    processing_job_name: str
    output_uri: str
    status: str | None = None


def _parsed(
    read: _Reader, name: str, label: str, notes: list[str], sources: dict[str, str]
) -> tuple[bytes, str] | None:
    found = read(name)
    if found is None:
        notes.append(f"no {name} for the {label}")
    else:
        sources[f"{label} {name}"] = found[1]
    return found


def _baseline_side(
    read: _Reader, notes: list[str], sources: dict[str, str]
) -> tuple[DatasetStatistics | None, dict[str, FeatureConstraint]]:
    """The baseline's statistics and constraints; absent files become notes, unparsable ones raise."""
    statistics = _parsed(read, STATISTICS_FILE, "baseline", notes, sources)
    constraints = _parsed(read, CONSTRAINTS_FILE, "baseline", notes, sources)
    try:
        return (
            parse_statistics(statistics[0], source=statistics[1]) if statistics else None,
            parse_constraints(constraints[0], source=constraints[1]) if constraints else {},
        )
    except StatisticsError as error:
        raise OpsError(str(error)) from error


def _execution_side(
    read: _Reader, notes: list[str], sources: dict[str, str]
) -> tuple[DatasetStatistics | None, tuple[Violation, ...] | None]:
    """The execution's statistics and violations (either spelling of the file); ``None`` for what is absent."""
    statistics = _parsed(read, STATISTICS_FILE, "execution", notes, sources)
    violations = read(VIOLATIONS_FILE) or read(VIOLATIONS_FILE_BYOC)
    if violations is None:
        notes.append(f"no {VIOLATIONS_FILE} for the execution: its violations are unknown, not zero")
    else:
        sources["execution violations"] = violations[1]
    try:
        return (
            parse_statistics(statistics[0], source=statistics[1]) if statistics else None,
            parse_violations(violations[0], source=violations[1]) if violations else None,
        )
    except (StatisticsError, ViolationReportError) as error:
        raise OpsError(str(error)) from error


def _folder_reader(folder: Path | None) -> _Reader:
    def read(name: str) -> tuple[bytes, str] | None:
        if folder is None:
            return None
        path = folder / name
        return (path.read_bytes(), str(path)) if path.is_file() else None

    return read


def _inputs(
    baseline_read: _Reader, execution_read: _Reader, *, title: str, notes: list[str], sources: dict[str, str]
) -> ReportInputs:
    baseline, constraints = _baseline_side(baseline_read, notes, sources)
    current, violations = _execution_side(execution_read, notes, sources)
    if baseline is None and current is None:
        raise OpsError(
            f"no {STATISTICS_FILE} found for the baseline or the execution: nothing to compare ({'; '.join(notes)})"
        )
    return ReportInputs(
        baseline=baseline,
        current=current,
        constraints=constraints,
        violations=violations,
        sources=sources,
        notes=tuple(notes),
        title=title,
    )


def inputs_from_folders(baseline_dir: Path | None, execution_dir: Path | None) -> ReportInputs:
    """The report's inputs from local folders holding the files under their Model Monitor names.

    Raises:
        OpsError: A folder given does not exist, a file cannot be parsed, or there are no statistics at all.
    """
    for label, folder in (("--baseline", baseline_dir), ("--execution", execution_dir)):
        if folder is not None and not folder.is_dir():
            raise OpsError(f"{label}: {folder} is not a folder")
    notes: list[str] = []
    if baseline_dir is None:
        notes.append("no baseline folder given")
    if execution_dir is None:
        notes.append("no execution folder given")
    return _inputs(
        _folder_reader(baseline_dir),
        _folder_reader(execution_dir),
        title="Model Monitor report",
        notes=notes,
        sources={},
    )


def execution_output_uri(sagemaker: SageMakerClient, job_name: str) -> str:
    """Where a monitoring execution (a processing job) uploaded its report: its first output's S3 URI.

    Raises:
        OpsError: The job has no S3 output (not a monitoring execution).
    """
    description = sagemaker.describe_processing_job(ProcessingJobName=job_name)
    outputs = description.get("ProcessingOutputConfig", {}).get("Outputs", [])
    uri = outputs[0].get("S3Output", {}).get("S3Uri") if outputs else None
    if not uri:
        raise OpsError(f"processing job {job_name} has no S3 output: is it a monitoring execution?")
    return str(uri)


def _s3_reader(s3: S3Client, locate: Callable[[str], str | None], save_dir: Path | None) -> _Reader:
    """Reads a file by name from the S3 URI ``locate`` gives it, keeping a copy in ``save_dir`` when given."""

    def read(name: str) -> tuple[bytes, str] | None:
        uri = locate(name)
        body = read_s3_object(s3, uri) if uri else None
        if body is None or uri is None:
            return None
        if save_dir is not None:
            save_dir.mkdir(parents=True, exist_ok=True)
            (save_dir / name).write_bytes(body)
        return body, uri

    return read


def inputs_from_stage(
    s3: S3Client,
    sagemaker: SageMakerClient,
    *,
    statistics_uri: str,
    constraints_uri: str,
    schedule_name: str,
    processing_job: str | None = None,
    save_dir: Path | None = None,
) -> tuple[ReportInputs, ExecutionLocation]:
    """The report's inputs from S3: the deployed baseline and one execution's output.

    Args:
        processing_job: The execution to show; ``None``: the newest completed execution of ``schedule_name``.
        save_dir: Where to keep copies of the files (``baseline/`` and ``execution/`` below it); ``None``: nowhere.

    Raises:
        OpsError: The schedule has no completed execution yet, or a file cannot be parsed.
    """
    status: str | None = None
    if processing_job is None:
        execution = latest_completed_execution(sagemaker, schedule_name=schedule_name)
        if execution is None or not execution.processing_job_name:
            raise OpsError(
                f"schedule {schedule_name} has no completed execution yet: wait for the top of the hour, or start "
                "one with python -m ops run-now"
            )
        processing_job = execution.processing_job_name
        status = execution.status
    processing_job = processing_job_name(processing_job) or processing_job  # an ARN works too
    output_uri = execution_output_uri(sagemaker, processing_job)
    inputs = _inputs(
        _s3_reader(
            s3,
            {STATISTICS_FILE: statistics_uri, CONSTRAINTS_FILE: constraints_uri}.get,
            save_dir / "baseline" if save_dir else None,
        ),
        _s3_reader(s3, lambda name: f"{output_uri.rstrip('/')}/{name}", save_dir / "execution" if save_dir else None),
        title=f"Model Monitor report: {processing_job}" + (f" ({status})" if status else ""),
        notes=[],
        sources={"execution output": output_uri},
    )
    return inputs, ExecutionLocation(processing_job_name=processing_job, output_uri=output_uri, status=status)


def inputs_from_folder_uri(
    s3: S3Client,
    *,
    statistics_uri: str,
    constraints_uri: str,
    folder_uri: str,
    title: str,
    save_dir: Path | None = None,
) -> ReportInputs:
    """The report's inputs from the baseline's files and an S3 folder holding a run's files (builtin engine)."""
    return _inputs(
        _s3_reader(
            s3,
            {STATISTICS_FILE: statistics_uri, CONSTRAINTS_FILE: constraints_uri}.get,
            save_dir / "baseline" if save_dir else None,
        ),
        _s3_reader(s3, lambda name: f"{folder_uri.rstrip('/')}/{name}", save_dir / "execution" if save_dir else None),
        title=title,
        notes=[],
        sources={"run folder": folder_uri},
    )


def print_report(inputs: ReportInputs, out_dir: Path, *, out: TextIO) -> ReportFiles:
    """Print the violations table and the notes, write report.png and report.html, print where they are."""
    print(format_violations_table(inputs.violations), file=out)
    for note in inputs.notes:
        print(f"note: {note}", file=out)
    files = write_report(inputs, out_dir)
    print(f"wrote {files.png}", file=out)
    print(f"wrote {files.html}", file=out)
    return files
