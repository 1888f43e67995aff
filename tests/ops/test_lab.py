"""``python -m ops lab``: the builtin engine's whole loop in memory, and nothing left behind in the process.

The lab once passed alone and failed in the full suite (shared Powertools metrics, moto's environment): so this
test checks the lab's expected outcome and that the environment, the functions' cached clients and the pending
metrics are as they were.
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lambdas.drift_analysis import handler as analysis
from ops import lab as lab_module
from ops.__main__ import main
from ops.lab import LabResult


@dataclass(frozen=True)
class LabRun:
    """One ``python -m ops lab``: what run_lab returned, what the command printed and the process around it."""

    code: int
    result: LabResult
    printed: str
    out_dir: Path
    environment_before: dict[str, str]
    environment_after: dict[str, str]
    cached_clients_after: int
    pending_metrics_after: dict[str, Any]


@pytest.fixture(scope="module")
def lab_run(tmp_path_factory: pytest.TempPathFactory) -> LabRun:
    """The lab run once, through its command, for both tests: a run analyzes two hours and draws two reports
    (seconds). The command hands its --rate and the stage's thresholds (cdk.json's defaults: the same as
    run_lab's) to run_lab, whose result is kept as returned."""
    out_dir = tmp_path_factory.mktemp("lab")
    environment = dict(os.environ)
    returned: list[LabResult] = []
    run_lab = lab_module.run_lab

    def keep_result(*args: Any, **kwargs: Any) -> LabResult:
        returned.append(run_lab(*args, **kwargs))
        return returned[-1]

    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out):
        patch.setattr(lab_module, "run_lab", keep_result)
        code = main(["lab", "--out", str(out_dir), "--rate", "0.5"])
    (result,) = returned
    return LabRun(
        code=code,
        result=result,
        printed=out.getvalue(),
        out_dir=out_dir,
        environment_before=environment,
        environment_after=dict(os.environ),
        cached_clients_after=analysis.aws_clients.cache_info().currsize,
        pending_metrics_after=dict(analysis.metrics.metric_set),
    )


def test_steady_hour_is_ok_and_the_drifted_hour_alarms(lab_run: LabRun) -> None:
    steady, drifted = lab_run.result.hours
    assert (steady.status, steady.records, steady.violation_percentage, steady.alarm) == ("completed", 1800, 0.0, "OK")
    assert drifted.status == "completed"
    assert drifted.alarm == "ALARM"
    assert drifted.violation_percentage == pytest.approx(800 / 9)  # 8 of the 9 columns (tip_amount stays)
    assert set(drifted.drifted_features) == {"passenger_count", "total_amount"}
    for hour in lab_run.result.hours:
        assert hour.report_html is not None
        assert hour.report_html.is_file()
        assert (hour.report_html.parent / "report.png").is_file()
    assert "88.9" in lab_run.printed
    # Nothing leaks into the tests that run after this one.
    assert lab_run.environment_after == lab_run.environment_before
    assert lab_run.cached_clients_after == 0
    assert lab_run.pending_metrics_after == {}


def test_lab_command(lab_run: LabRun) -> None:
    assert lab_run.code == 0
    assert "ALARM" in lab_run.printed
    assert (lab_run.out_dir / "drifted" / "report.html").is_file()
