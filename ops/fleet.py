"""A stage with several endpoints (``endpoints`` in cdk.json): choosing one with ``--endpoint``, and ``status``
of the whole fleet as one table.

Each entry's stacks are ``<name>-<stage>-<id>-endpoint``, ``-baseline`` and ``-monitoring`` (``stacks.build_fleet``
with ``settings.endpoint_settings``), so every command works on one entry exactly as on a stage without
``endpoints``, with the entry's settings. The alerts topic is the shared stack's (``<name>-<stage>-shared``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

from botocore.exceptions import ClientError

from settings import MonitoredEndpoint, Settings, endpoint_settings

from . import stack_outputs as so
from .aws import CloudFormationClient, CloudWatchClient, SageMakerClient
from .errors import OpsError
from .tables import format_table

__all__ = ["FleetRow", "choose_endpoint", "fleet_rows", "fleet_status", "format_fleet"]

#: DescribeAlarms takes at most 100 names per call (CloudWatch API reference, ``AlarmNames``).
ALARM_NAMES_PER_CALL = 100


def choose_endpoint(settings: Settings, endpoint_id: str | None, *, command: str) -> MonitoredEndpoint | None:
    """The entry ``--endpoint`` names; None on a stage without ``endpoints`` (and no ``--endpoint``), or for
    ``status`` of the whole fleet.

    Raises:
        OpsError: ``--endpoint`` on a stage without ``endpoints``, an unknown id, or no ``--endpoint`` on a fleet
            stage for a command about one endpoint.
    """
    ids = [entry.id for entry in settings.endpoints]
    if not settings.endpoints:
        if endpoint_id is not None:
            raise OpsError(f"--endpoint {endpoint_id}: stage {settings.stage} has no endpoints; leave --endpoint out")
        return None
    if endpoint_id is None:
        if command == "status":
            return None
        raise OpsError(f"stage {settings.stage} monitors several endpoints ({', '.join(ids)}): pass --endpoint ID")
    for entry in settings.endpoints:
        if entry.id == endpoint_id:
            return entry
    raise OpsError(f"--endpoint {endpoint_id}: stage {settings.stage} has no such endpoint; it has {', '.join(ids)}")


def entry_alarm_prefix(settings: Settings, entry: MonitoredEndpoint) -> str:
    """Every alarm of the entry is named ``<prefix><Alarm>`` (``MonitoringAlarms.alarm_name``)."""
    return f"{endpoint_settings(settings, entry).stack_prefix}-"


@dataclass(frozen=True)
class FleetRow:
    id: str
    endpoint_name: str
    origin: str
    engine: str
    schedule: str
    last_execution: str
    violation_alarm: str


def fleet_rows(
    cloudformation: CloudFormationClient,
    sagemaker: SageMakerClient,
    cloudwatch: CloudWatchClient,
    settings: Settings,
) -> list[FleetRow]:
    """One row per entry, read from its monitoring stack's outputs, its schedule, and its violation alarm."""
    found: list[tuple[MonitoredEndpoint, dict[str, str], str | None]] = []
    for entry in settings.endpoints:
        outputs, status = so.read_stack_outputs(
            cloudformation, so.stack_name(endpoint_settings(settings, entry), "monitoring")
        )
        found.append((entry, outputs, status))
    alarm_names = [outputs[so.VIOLATION_ALARM_NAME] for _, outputs, _ in found if outputs.get(so.VIOLATION_ALARM_NAME)]
    states = _alarm_states(cloudwatch, alarm_names)
    rows = []
    for entry, outputs, status in found:
        own = endpoint_settings(settings, entry)
        name = entry.existing_endpoint_name or own.endpoint_name
        origin = "existing" if entry.is_existing else "this app"
        if status is None:
            rows.append(FleetRow(entry.id, name, origin, own.monitoring_engine, "not deployed", "-", "-"))
            continue
        engine = outputs.get(so.MONITORING_ENGINE, so.ENGINE_MODEL_MONITOR)
        schedule, last = "-", "-"
        schedule_name = outputs.get(so.MONITORING_SCHEDULE_NAME)
        if engine == so.ENGINE_MODEL_MONITOR and schedule_name:
            schedule, last = _schedule(sagemaker, schedule_name)
        elif engine == so.ENGINE_BUILTIN:
            schedule = "EventBridge Scheduler (ops status --endpoint for runs)"
        alarm = states.get(outputs.get(so.VIOLATION_ALARM_NAME, ""), "-")
        rows.append(FleetRow(entry.id, name, origin, engine, schedule, last, alarm))
    return rows


def _schedule(sagemaker: SageMakerClient, schedule_name: str) -> tuple[str, str]:
    try:
        description = sagemaker.describe_monitoring_schedule(MonitoringScheduleName=schedule_name)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFound":
            return "missing", "-"
        raise
    last = description.get("LastMonitoringExecutionSummary")
    last_status = str(last.get("MonitoringExecutionStatus", "-")) if isinstance(last, Mapping) else "none yet"
    return str(description.get("MonitoringScheduleStatus", "Unknown")), last_status


def _alarm_states(cloudwatch: CloudWatchClient, names: Sequence[str]) -> dict[str, str]:
    states: dict[str, str] = {}
    for start in range(0, len(names), ALARM_NAMES_PER_CALL):
        request: dict[str, Any] = {"AlarmNames": list(names[start : start + ALARM_NAMES_PER_CALL])}
        while True:
            response = cloudwatch.describe_alarms(**request)
            for alarm in response.get("MetricAlarms", []):
                states[str(alarm.get("AlarmName"))] = str(alarm.get("StateValue", "Unknown"))
            token = response.get("NextToken")
            if not token:
                break
            request["NextToken"] = token
    return states


def format_fleet(settings: Settings, rows: Sequence[FleetRow]) -> str:
    table = format_table(
        ["endpoint", "name", "deployed by", "engine", "schedule", "last execution", "violation alarm"],
        [
            [row.id, row.endpoint_name, row.origin, row.engine, row.schedule, row.last_execution, row.violation_alarm]
            for row in rows
        ],
    )
    return (
        f"stage {settings.stage}: {len(rows)} monitored endpoints\n{table}\n"
        f"details of one: python -m ops status --stage {settings.stage} --endpoint ID"
    )


def fleet_status(
    cloudformation: CloudFormationClient,
    sagemaker: SageMakerClient,
    cloudwatch: CloudWatchClient,
    settings: Settings,
    *,
    out: IO[str],
) -> int:
    """Print the fleet table; 1 when a violation alarm is in ALARM or a schedule failed (as ``status``)."""
    rows = fleet_rows(cloudformation, sagemaker, cloudwatch, settings)
    print(format_fleet(settings, rows), file=out)
    return 1 if any(row.violation_alarm == "ALARM" or row.schedule == "Failed" for row in rows) else 0
