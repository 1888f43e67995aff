"""The fleet dashboard within CloudWatch's limits: alarm widgets of at most 100 alarms, at most 500 widgets."""

from __future__ import annotations

import json

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Template

from cdk_constructs.drift_metrics import DataQualityMetrics, ViolationMetrics
from cdk_constructs.fleet_dashboard import (
    ROW_WIDGETS,
    DashboardTooLargeError,
    FleetDashboard,
    FleetMember,
    _endpoint_row,
)
from tests.synth import construct_app, declare_in_synth_worker


def members(count: int, alarms_each: int = 3) -> list[FleetMember]:
    return [
        FleetMember(
            id=f"ep{index}",
            endpoint_name=f"endpoint-{index}",
            data_quality=DataQualityMetrics(endpoint_name=f"endpoint-{index}", schedule_name=f"schedule-{index}"),
            violations=ViolationMetrics(endpoint_name=f"endpoint-{index}", schedule_name=f"schedule-{index}"),
            monitored_features=["f1", "f2"],
            drift_threshold=0.1,
            violation_threshold_percent=25,
            alarm_names=[f"prefix-ep{index}-Alarm{alarm}" for alarm in range(alarms_each)],
        )
        for index in range(count)
    ]


def widgets(count: int) -> list[dict[str, object]]:
    stack = Stack(construct_app(), "Shared")
    FleetDashboard(stack, "Dashboard", members=members(count))
    (dashboard,) = Template.from_stack(stack).find_resources("AWS::CloudWatch::Dashboard").values()
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    body = json.loads("".join(part if isinstance(part, str) else "x" for part in parts))
    return list(body["widgets"])


#: 34 endpoints' dashboard, 102 alarms: built in the synth worker.
WIDGETS_OF_34 = declare_in_synth_worker(widgets, 34)


def test_alarms_are_split_into_widgets_of_at_most_100() -> None:
    assert len(_endpoint_row(members(1)[0])) == ROW_WIDGETS
    found = WIDGETS_OF_34.result()
    alarm_widgets = [widget for widget in found if widget["type"] == "alarm"]
    assert [len(widget["properties"]["alarms"]) for widget in alarm_widgets] == [100, 2]  # type: ignore[index]
    assert len(found) == 2 + 2 + 34 * 3  # alarm widgets, the two summary graphs, a row of three per endpoint


def test_more_widgets_than_a_dashboard_holds_is_refused() -> None:
    with pytest.raises(
        DashboardTooLargeError,
        match="setting endpoints: 170 endpoints need 520 widgets on the fleet dashboard; a CloudWatch dashboard "
        "holds at most 500",
    ):
        widgets(170)  # 6 alarm widgets (510 alarms), 2 x 2 summary graphs (100 metrics each), 510 row widgets


def test_the_app_prints_a_fleet_too_large_for_one_dashboard_as_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """app.py's own handling (building 170 endpoints' stacks to reach the real error would take minutes)."""
    import app

    def too_large(*_: object) -> None:
        widgets(170)

    monkeypatch.setattr(app, "build_stacks", too_large)
    monkeypatch.setenv("CDK_CONTEXT_JSON", json.dumps({"stages": {"default": {}}}))
    with pytest.raises(SystemExit) as stopped:
        app.main()
    assert str(stopped.value.code).startswith("error: setting endpoints: 170 endpoints need 520 widgets")
    assert "\n" not in str(stopped.value.code)
