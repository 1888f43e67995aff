"""``status``: the schedule, its latest executions and the stage's alarms, on one screen.

What an operator asks first when an alert arrives: is the schedule running, did the last executions
complete (and with what), and which alarms are in ALARM. The executions listed are those of every schedule
on the endpoint, so ``run-now`` executions show up next to the hourly ones (the schedule column tells them
apart). The alarms are the violation alarm the monitoring stack outputs, plus every alarm whose actions
notify the stage's alerts topic (latency, errors, drift per feature), metric and composite alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from .aws import CloudWatchClient, SageMakerClient, format_time
from .executions import ExecutionSummary, list_executions
from .tables import format_table

__all__ = [
    "AlarmState",
    "ScheduleState",
    "describe_schedule",
    "format_status",
    "stage_alarms",
    "status",
]


@dataclass(frozen=True)
class ScheduleState:
    """The deployed schedule as ``DescribeMonitoringSchedule`` tells it."""

    name: str
    status: str
    schedule_expression: str | None
    monitoring_type: str | None
    endpoint_name: str | None
    failure_reason: str | None
    last_execution: ExecutionSummary | None


@dataclass(frozen=True)
class AlarmState:
    """One alarm: its state, since when, and CloudWatch's reason."""

    name: str
    state: str
    updated: datetime | None
    reason: str
    composite: bool


def describe_schedule(sagemaker: SageMakerClient, schedule_name: str) -> ScheduleState:
    """Read the schedule's status, expression, endpoint and last execution."""
    description = sagemaker.describe_monitoring_schedule(MonitoringScheduleName=schedule_name)
    config = description.get("MonitoringScheduleConfig", {})
    last = description.get("LastMonitoringExecutionSummary")
    return ScheduleState(
        name=str(description.get("MonitoringScheduleName", schedule_name)),
        status=str(description.get("MonitoringScheduleStatus", "Unknown")),
        schedule_expression=config.get("ScheduleConfig", {}).get("ScheduleExpression"),
        monitoring_type=description.get("MonitoringType") or config.get("MonitoringType"),
        endpoint_name=description.get("EndpointName"),
        failure_reason=description.get("FailureReason"),
        last_execution=ExecutionSummary.from_api(last) if isinstance(last, Mapping) else None,
    )


def _describe_alarms(cloudwatch: CloudWatchClient, **filters: Any) -> Iterable[tuple[Mapping[str, Any], bool]]:
    token: str | None = None
    while True:
        request: dict[str, Any] = {"AlarmTypes": ["MetricAlarm", "CompositeAlarm"], **filters}
        if token:
            request["NextToken"] = token
        response = cloudwatch.describe_alarms(**request)
        yield from ((alarm, False) for alarm in response.get("MetricAlarms", []))
        yield from ((alarm, True) for alarm in response.get("CompositeAlarms", []))
        token = response.get("NextToken")
        if not token:
            return


def is_entry_alarm(name: str, prefix: str) -> bool:
    """Whether alarm ``name`` is one endpoint's of a stage with ``endpoints``: its alarms are ``<prefix><Alarm>``
    with ``<prefix>`` ``<name>-<stage>-<id>-``. Alarm construct ids start with a capital letter and endpoint ids are
    lower case, so ``...-demo-Drift0`` is demo's and ``...-demo-2-Drift0`` is not."""
    return name.startswith(prefix) and name[len(prefix) : len(prefix) + 1].isupper()


def stage_alarms(
    cloudwatch: CloudWatchClient,
    *,
    alarm_names: Iterable[str],
    topic_arn: str | None,
    alarm_name_prefix: str | None = None,
) -> list[AlarmState]:
    """The named alarms plus every alarm that notifies ``topic_arn``, once each: ALARM first, then by name.

    ``alarm_name_prefix``: of the topic's alarms, only one endpoint's (``is_entry_alarm``), for a stage with
    ``endpoints`` whose endpoints share the topic.

    ``ActionPrefix`` narrows the listing on the server; it matches prefixes (``...:alerts`` would also match
    ``...:alerts-old``), so an alarm is kept only when ``topic_arn`` is one of its ``AlarmActions``.
    """
    found: dict[str, AlarmState] = {}

    def keep(alarm: Mapping[str, Any], composite: bool) -> None:
        name = str(alarm.get("AlarmName", ""))
        found.setdefault(
            name,
            AlarmState(
                name=name,
                state=str(alarm.get("StateValue", "Unknown")),
                updated=alarm.get("StateUpdatedTimestamp"),
                reason=str(alarm.get("StateReason", "")),
                composite=composite,
            ),
        )

    names = [name for name in alarm_names if name]
    if names:
        for alarm, composite in _describe_alarms(cloudwatch, AlarmNames=names):
            keep(alarm, composite)
    if topic_arn:
        for alarm, composite in _describe_alarms(cloudwatch, ActionPrefix=topic_arn):
            name = str(alarm.get("AlarmName", ""))
            if topic_arn in alarm.get("AlarmActions", []) and (
                alarm_name_prefix is None or is_entry_alarm(name, alarm_name_prefix)
            ):
                keep(alarm, composite)
    order = {"ALARM": 0, "INSUFFICIENT_DATA": 1, "OK": 2}
    return sorted(found.values(), key=lambda alarm: (order.get(alarm.state, 3), alarm.name))


def _short(text: str | None, width: int = 120) -> str:
    if not text:
        return "-"
    return text if len(text) <= width else text[: width - 3] + "..."


def format_status(
    schedule: ScheduleState,
    executions: list[ExecutionSummary],
    alarms: list[AlarmState],
    *,
    missing_alarms: Iterable[str] = (),
) -> str:
    """The status screen as text: schedule, executions table, alarms table."""
    lines = [
        f"Monitoring schedule {schedule.name}: {schedule.status}",
        f"  type {schedule.monitoring_type or '-'}, expression {schedule.schedule_expression or '-'}, "
        f"endpoint {schedule.endpoint_name or '-'}",
    ]
    if schedule.failure_reason:
        lines.append(f"  failure reason: {schedule.failure_reason}")
    if schedule.last_execution:
        last = schedule.last_execution
        lines.append(f"  last execution: {last.status}, scheduled {format_time(last.scheduled_time)}")
    lines.append("")
    where = f"endpoint {schedule.endpoint_name}" if schedule.endpoint_name else f"schedule {schedule.name}"
    lines.append(f"Latest executions ({where}, newest first):")
    if executions:
        rows = [
            [
                format_time(execution.scheduled_time),
                execution.status,
                execution.schedule_name if execution.schedule_name != schedule.name else "(deployed)",
                execution.processing_job_name or "-",
                _short(execution.failure_reason),
            ]
            for execution in executions
        ]
        lines.append(format_table(["SCHEDULED", "STATUS", "SCHEDULE", "PROCESSING JOB", "FAILURE REASON"], rows))
    else:
        lines.append("  none yet (the first execution starts at the top of the hour after deployment)")
    lines.append("")
    lines.append("Alarms:")
    if alarms:
        rows = [
            [
                alarm.state,
                alarm.name + (" (composite)" if alarm.composite else ""),
                format_time(alarm.updated),
                _short(alarm.reason),
            ]
            for alarm in alarms
        ]
        lines.append(format_table(["STATE", "ALARM", "SINCE", "REASON"], rows))
    else:
        lines.append("  none found")
    lines.extend(f"  not found: alarm {name}" for name in missing_alarms)
    return "\n".join(lines)


def status(
    sagemaker: SageMakerClient,
    cloudwatch: CloudWatchClient,
    *,
    schedule_name: str,
    violation_alarm_name: str | None,
    topic_arn: str | None,
    limit: int,
    out: TextIO,
    alarm_name_prefix: str | None = None,
) -> int:
    """Print the status screen. Returns 0, or 1 when an alarm is in ALARM or the schedule has failed.

    The exit code lets a script or a CI job ask "is everything fine?" without parsing the text.
    """
    schedule = describe_schedule(sagemaker, schedule_name)
    executions = (
        list_executions(sagemaker, endpoint_name=schedule.endpoint_name, limit=limit)
        if schedule.endpoint_name
        else list_executions(sagemaker, schedule_name=schedule_name, limit=limit)
    )
    names = [violation_alarm_name] if violation_alarm_name else []
    alarms = stage_alarms(cloudwatch, alarm_names=names, topic_arn=topic_arn, alarm_name_prefix=alarm_name_prefix)
    found = {alarm.name for alarm in alarms}
    print(format_status(schedule, executions, alarms, missing_alarms=[n for n in names if n not in found]), file=out)
    alarming = any(alarm.state == "ALARM" for alarm in alarms)
    return 1 if alarming or schedule.status == "Failed" else 0
