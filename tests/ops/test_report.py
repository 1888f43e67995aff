"""``report``: rendering from the real fixture files (local folders), and fetching them from a deployed stage
(S3 in moto; SageMaker stubbed, see sagemaker_stubs.py)."""

import base64
import contextlib
import io
import json
import re
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from lambdas.violation_metric.violations import Violation
from ops.__main__ import main
from ops.report import ReportInputs, feature_views, render_html
from ops.report_inputs import inputs_from_stage
from ops.statistics import parse_statistics

from . import sagemaker_stubs as sm
from .conftest import (
    NLP_CUSTOM_CONTAINER_VIOLATIONS,
    SCHEDULE_NAME,
    SCOTTREIDUX_ASSETS,
    SDK_GOOD_CONSTRAINTS,
    SDK_OLD_WORDING_VIOLATIONS,
    SDK_PIPELINE_STATISTICS,
    Stage,
    aws_client,
    client_factory,
    fixture_path,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Rendered:
    code: int
    out: str
    png: bytes
    html: str


def _render(argv: list[str]) -> Rendered:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    folder = Path(argv[argv.index("--out") + 1])
    return Rendered(
        code=code,
        out=out.getvalue(),
        png=(folder / "report.png").read_bytes(),
        html=(folder / "report.html").read_text(encoding="utf-8"),
    )


def _folder(root: Path, name: str, files: dict[str, str]) -> Path:
    """A folder holding fixture files under the given Model Monitor names."""
    folder = root / name
    folder.mkdir()
    for target, relative in files.items():
        shutil.copyfile(fixture_path(relative), folder / target)
    return folder


def _png_size(png: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk follows the 8-byte signature
    return width, height


def _row(html: str, feature: str) -> str:
    """The feature's row in the features table (not in the violations table above it)."""
    html = html[html.index("<h2>Features") :]
    match = re.search(rf"<tr[^>]*><td>{re.escape(feature)}</td>.*?</tr>", html)
    assert match, f"no table row for {feature}"
    return match.group(0)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    """Baseline: a recent analyzer's 14 housing features. Execution: a pipeline run's 6 headerless columns and
    early-wording violations on NYC taxi columns. No feature is on both sides; violations name a third set."""
    root = tmp_path_factory.mktemp("mixed")
    execution = _folder(
        root,
        "execution",
        {"statistics.json": SDK_PIPELINE_STATISTICS, "constraint_violations.json": SDK_OLD_WORDING_VIOLATIONS},
    )
    baseline = fixture_path(SCOTTREIDUX_ASSETS)
    return _render(["report", "--baseline", str(baseline), "--execution", str(execution), "--out", str(root / "out")])


def test_mixed_report_is_a_real_png(mixed: Rendered) -> None:
    assert mixed.code == 0
    assert mixed.png.startswith(PNG_MAGIC)
    assert len(mixed.png) > 20_000
    width, height = _png_size(mixed.png)
    assert width >= 1000 and height >= 1500  # 27 panels, 4 a row


def test_mixed_report_html_has_every_feature_and_marks_the_violated(mixed: Rendered) -> None:
    baseline = [
        f.name for f in parse_statistics(fixture_path(f"{SCOTTREIDUX_ASSETS}/statistics.json").read_bytes()).features
    ]
    current = [f.name for f in parse_statistics(fixture_path(SDK_PIPELINE_STATISTICS).read_bytes()).features]
    violations = json.loads(fixture_path(SDK_OLD_WORDING_VIOLATIONS).read_text())["violations"]
    violated = [v["feature_name"] for v in violations]
    assert len(baseline) == 14 and len(current) == 6 and len(violated) == 7

    for name in baseline + current:
        assert 'class="violated"' not in _row(mixed.html, name)
    for violation in violations:
        row = _row(mixed.html, violation["feature_name"])
        assert row.startswith('<tr class="violated">')
        assert f"violated: {violation['constraint_check_type']}" in row
    assert "<h2>Features (27, 7 violated)</h2>" in mixed.html
    embedded = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', mixed.html)
    assert embedded and base64.b64decode(embedded.group(1)) == mixed.png
    assert "<script" not in mixed.html and "http" not in mixed.html  # self-contained


def test_mixed_report_prints_the_violations_table(mixed: Rendered) -> None:
    lines = mixed.out.splitlines()

    assert lines[0] == "7 violation(s) on 7 feature(s)"
    assert lines[1].split() == ["FEATURE", "CHECK", "COUNT", "DESCRIPTION"]
    for violation in json.loads(fixture_path(SDK_OLD_WORDING_VIOLATIONS).read_text())["violations"]:
        expected = [violation["feature_name"], violation["constraint_check_type"], "1", "Value:"]
        assert any(line.split()[:4] == expected for line in lines), violation
    assert lines[-2].startswith("wrote ") and lines[-2].endswith("/out/report.png")
    assert lines[-1].startswith("wrote ") and lines[-1].endswith("/out/report.html")
    assert not any(line.startswith("note:") for line in lines)  # every file was there


def test_custom_container_violations_under_the_byoc_file_name(tmp_path: Path) -> None:
    baseline = _folder(
        tmp_path, "baseline", {"statistics.json": SDK_PIPELINE_STATISTICS, "constraints.json": SDK_GOOD_CONSTRAINTS}
    )
    execution = _folder(
        tmp_path,
        "execution",
        {"statistics.json": SDK_PIPELINE_STATISTICS, "constraints_violations.json": NLP_CUSTOM_CONTAINER_VIOLATIONS},
    )

    rendered = _render(
        ["report", "--baseline", str(baseline), "--execution", str(execution), "--out", str(tmp_path / "r")]
    )

    assert rendered.code == 0
    assert rendered.png.startswith(PNG_MAGIC) and len(rendered.png) > 10_000
    assert rendered.out.splitlines()[0] == "8 violation(s) on 1 feature(s)"
    assert rendered.out.splitlines()[3].split() == ["sent_mmd_score", "baseline_drift_check", "8", "-"]
    assert _row(rendered.html, "sent_mmd_score").startswith('<tr class="violated">')
    for name in ("_c0", "_c1", "_c2", "_c3", "_c4", "_c5"):
        row = _row(rendered.html, name)
        assert "<td>ok</td>" in row and "Fractional, completeness &gt;= 1, non-negative" in row
    assert "constraints_violations.json" in rendered.html


def test_html_escapes_what_came_from_files() -> None:
    statistics = parse_statistics(
        json.dumps({"features": [{"name": "<script>alert(1)</script>", "inferred_type": "String"}]})
    )
    inputs = ReportInputs(
        baseline=statistics,
        current=None,
        violations=(Violation("<script>alert(1)</script>", "data_type_check", "a < b & c"),),
        notes=("no <b>statistics.json</b> for the execution",),
    )

    page = render_html(inputs, feature_views(inputs), b"not a png")

    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "a &lt; b &amp; c" in page
    assert "no &lt;b&gt;statistics.json&lt;/b&gt;" in page


def test_views_list_each_feature_once_baseline_first() -> None:
    baseline = parse_statistics(json.dumps({"features": [{"name": "a"}, {"name": "b"}]}))
    current = parse_statistics(json.dumps({"features": [{"name": "b"}, {"name": "c"}]}))
    inputs = ReportInputs(
        baseline=baseline, current=current, violations=(Violation("d", "extra_column_check"), Violation("b", "x"))
    )

    views = feature_views(inputs)

    assert [(v.name, v.baseline is not None, v.current is not None, v.violated) for v in views] == [
        ("a", True, False, False),
        ("b", True, True, True),
        ("c", False, True, False),
        ("d", False, False, True),
    ]


@pytest.mark.parametrize(
    ("files", "argv_extra", "message"),
    [
        ({}, [], "no statistics.json found for the baseline or the execution"),
        ({"statistics.json": SDK_OLD_WORDING_VIOLATIONS}, [], "statistics.json: expected a 'features' list"),
        (
            {"statistics.json": SDK_PIPELINE_STATISTICS, "constraint_violations.json": SDK_PIPELINE_STATISTICS},
            [],
            "'violations' list",
        ),
        ({"statistics.json": SDK_PIPELINE_STATISTICS}, ["--processing-job", "x"], "cannot be combined"),
    ],
)
def test_local_files_that_cannot_be_used_are_one_error_line(
    tmp_path: Path, files: dict[str, str], argv_extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    execution = _folder(tmp_path, "execution", files)

    code = main(["report", "--execution", str(execution), "--out", str(tmp_path / "r"), *argv_extra])

    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.count("\n") == 1 and err.startswith("error: ")
    assert not (tmp_path / "r").exists()


def test_a_folder_that_does_not_exist_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--baseline", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 2
    assert "is not a folder" in capsys.readouterr().err


# --- from the deployed stage ------------------------------------------------------------------------------

OUTPUT_PREFIX = (
    "monitoring-reports/model-monitor-default-endpoint-ab12cd/DataQualitySchedule-8f3KxYq2LmNo/2026/11/22/13"
)
JOB = "model-monitoring-202611221300-0a1b2c3d4e5f60718293a4b5"


@pytest.fixture
def reports_bucket(stage: Stage) -> Any:
    """The baseline and one execution's report in moto's S3, at the URIs the stacks output."""
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=stage.bucket)
    objects = {
        "baseline/results/statistics.json": SDK_PIPELINE_STATISTICS,
        "baseline/results/constraints.json": SDK_GOOD_CONSTRAINTS,
        f"{OUTPUT_PREFIX}/statistics.json": SDK_PIPELINE_STATISTICS,
        f"{OUTPUT_PREFIX}/constraint_violations.json": SDK_OLD_WORDING_VIOLATIONS,
    }
    for key, relative in objects.items():
        s3.put_object(Bucket=stage.bucket, Key=key, Body=fixture_path(relative).read_bytes())
    return s3


def test_report_of_the_latest_completed_execution(
    reports_bucket: Any, stage: Stage, sagemaker: tuple[Any, Stubber], tmp_path: Path
) -> None:
    client, stubber = sagemaker
    stubber.add_response(
        "list_monitoring_executions",
        sm.executions(
            sm.execution(SCHEDULE_NAME, "Failed", job="newer-failed", failure="no data", hour=14),
            sm.execution(SCHEDULE_NAME, "CompletedWithViolations", job=JOB, hour=13),
        ),
        sm.list_request(schedule_name=SCHEDULE_NAME, limit=100),
    )
    stubber.add_response(
        "describe_processing_job",
        sm.processing_job(JOB, f"s3://{stage.bucket}/{OUTPUT_PREFIX}"),
        {"ProcessingJobName": JOB},
    )
    out_dir = tmp_path / "report"

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["report", "--out", str(out_dir)], client_factory=client_factory({"sagemaker": client}))

    assert code == 0
    assert out.getvalue().startswith("7 violation(s) on 7 feature(s)\n")
    assert (out_dir / "report.png").read_bytes().startswith(PNG_MAGIC)
    page = (out_dir / "report.html").read_text(encoding="utf-8")
    assert f"Model Monitor report: {JOB} (CompletedWithViolations)" in page
    assert f"s3://{stage.bucket}/{OUTPUT_PREFIX}/constraint_violations.json" in page
    # the downloaded files are kept, to redraw the report offline
    assert sorted(p.name for p in (out_dir / "baseline").iterdir()) == ["constraints.json", "statistics.json"]
    assert sorted(p.name for p in (out_dir / "execution").iterdir()) == [
        "constraint_violations.json",
        "statistics.json",
    ]
    assert (out_dir / "execution" / "constraint_violations.json").read_bytes() == fixture_path(
        SDK_OLD_WORDING_VIOLATIONS
    ).read_bytes()


def test_a_given_processing_job_without_violations_file_is_a_note(
    reports_bucket: Any, stage: Stage, sagemaker: tuple[Any, Stubber]
) -> None:
    client, stubber = sagemaker
    reports_bucket.delete_object(Bucket=stage.bucket, Key=f"{OUTPUT_PREFIX}/constraint_violations.json")
    stubber.add_response(
        "describe_processing_job",
        sm.processing_job(JOB, f"s3://{stage.bucket}/{OUTPUT_PREFIX}/"),
        {"ProcessingJobName": JOB},
    )

    inputs, location = inputs_from_stage(
        reports_bucket,
        client,
        statistics_uri=stage.statistics_uri,
        constraints_uri=stage.constraints_uri,
        schedule_name=SCHEDULE_NAME,
        processing_job=sm.job_arn(JOB),  # an ARN is accepted too
    )

    assert location.processing_job_name == JOB and location.output_uri.endswith("/13/")
    assert inputs.violations is None
    assert inputs.notes == ("no constraint_violations.json for the execution: its violations are unknown, not zero",)
    assert inputs.baseline is not None and inputs.current is not None and len(inputs.constraints) == 6


def test_a_schedule_without_completed_executions_says_so(
    stage: Stage, sagemaker: tuple[Any, Stubber], capsys: pytest.CaptureFixture[str]
) -> None:
    client, stubber = sagemaker
    stubber.add_response(
        "list_monitoring_executions",
        sm.executions(sm.execution(SCHEDULE_NAME, "InProgress", job="running")),
        sm.list_request(schedule_name=SCHEDULE_NAME, limit=100),
    )

    code = main(["report"], client_factory=client_factory({"sagemaker": client}))

    assert code == 2
    assert f"schedule {SCHEDULE_NAME} has no completed execution yet" in capsys.readouterr().err
