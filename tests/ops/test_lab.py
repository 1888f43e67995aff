"""``python -m ops lab``: the builtin engine's whole loop in memory, and nothing left behind in the process.

The lab once passed alone and failed in the full suite (shared Powertools metrics, moto's environment): so this
test checks the lab's expected outcome and that the environment, the functions' cached clients and the pending
metrics are as they were.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from lambdas.drift_analysis import handler as analysis
from ops.__main__ import main
from ops.lab import run_lab


def test_steady_hour_is_ok_and_the_drifted_hour_alarms(tmp_path: Path) -> None:
    environment = dict(os.environ)
    out = io.StringIO()

    result = run_lab(tmp_path, requests_per_second=0.5, out=out)

    steady, drifted = result.hours
    assert (steady.status, steady.records, steady.violation_percentage, steady.alarm) == ("completed", 1800, 0.0, "OK")
    assert drifted.status == "completed"
    assert drifted.alarm == "ALARM"
    assert drifted.violation_percentage == pytest.approx(800 / 9)  # 8 of the 9 columns (tip_amount stays)
    assert set(drifted.drifted_features) == {"passenger_count", "total_amount"}
    for hour in result.hours:
        assert hour.report_html is not None
        assert hour.report_html.is_file()
        assert (hour.report_html.parent / "report.png").is_file()
    assert "88.9" in out.getvalue()
    # Nothing leaks into the tests that run after this one.
    assert dict(os.environ) == environment
    assert analysis.aws_clients.cache_info().currsize == 0
    assert analysis.metrics.metric_set == {}


def test_lab_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lab", "--out", str(tmp_path), "--rate", "0.2"]) == 0
    assert "ALARM" in capsys.readouterr().out
    assert (tmp_path / "drifted" / "report.html").is_file()
