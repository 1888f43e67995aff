"""``run-now``: one monitoring execution over the last hour(s) of captured data, now rather than at the hour.

Model Monitor has no "start execution" call. What it has is a one-time schedule: ``CreateMonitoringSchedule``
with ``ScheduleExpression: NOW`` and the analysis window as offsets (``DataAnalysisStartTime: -PT1H``,
``DataAnalysisEndTime: -PT0H``; both are required with ``NOW``, at most 24 hours apart). The one-time schedule
reuses the deployed schedule's job definition (same image, baseline, inputs, outputs and role), so the
execution is exactly what the hourly one would do, and its report lands where the hourly reports land.

Waiting polls ``ListMonitoringExecutions`` for the one-time schedule (and ``DescribeMonitoringSchedule`` while
no execution exists yet, to catch a schedule that failed to start), prints a line per poll, and deletes the
one-time schedule once its execution has finished. It is left in place when the wait ends early (timeout,
Ctrl-C) or with ``--no-wait``, since its execution may still be running: the command prints how to delete it.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

from .aws import SageMakerClient
from .errors import OpsError
from .executions import COMPLETED_STATUSES, TERMINAL_STATUSES, ExecutionSummary, list_executions
from .progress import Progress

__all__ = [
    "DeployedSchedule",
    "WaitResult",
    "deployed_schedule",
    "one_time_schedule_name",
    "run_now",
    "start_one_time_schedule",
    "wait_for_execution",
]

#: SageMaker's limit on schedule names.
_MAX_NAME_LENGTH = 63


@dataclass(frozen=True)
class DeployedSchedule:
    """The parts of the deployed schedule a one-time run reuses."""

    name: str
    job_definition_name: str
    monitoring_type: str


@dataclass(frozen=True)
class WaitResult:
    """How the wait ended: with an execution in a terminal state, a failed schedule, or neither (timed out)."""

    execution: ExecutionSummary | None
    schedule_status: str | None = None
    schedule_failure_reason: str | None = None

    @property
    def finished(self) -> bool:
        """Nothing will change any more: the execution ended, or the schedule failed before starting one."""
        return (self.execution is not None and self.execution.status in TERMINAL_STATUSES) or (
            self.schedule_status == "Failed"
        )

    @property
    def succeeded(self) -> bool:
        """The execution wrote a report (with or without violations)."""
        return self.execution is not None and self.execution.status in COMPLETED_STATUSES


def deployed_schedule(sagemaker: SageMakerClient, schedule_name: str) -> DeployedSchedule:
    """Read the deployed schedule's job definition name and monitoring type.

    Raises:
        OpsError: The schedule embeds its job definition instead of naming one (not how the stacks build it),
            so there is nothing a one-time schedule could reuse.
    """
    config = sagemaker.describe_monitoring_schedule(MonitoringScheduleName=schedule_name).get(
        "MonitoringScheduleConfig", {}
    )
    job_definition = config.get("MonitoringJobDefinitionName")
    if not job_definition:
        raise OpsError(
            f"monitoring schedule {schedule_name} names no job definition (MonitoringJobDefinitionName): "
            "run-now reuses the deployed job definition and cannot start this schedule's job"
        )
    return DeployedSchedule(
        name=schedule_name,
        job_definition_name=str(job_definition),
        monitoring_type=str(config.get("MonitoringType") or "DataQuality"),
    )


def one_time_schedule_name(prefix: str, *, now: datetime | None = None, suffix: str | None = None) -> str:
    """A unique name such as ``model-monitor-default-run-now-20261122130501-a1b2``.

    ``prefix`` is the stage's ``Settings.one_time_schedule_prefix``: the violation-metric function reports the
    executions of schedules so named as the stage's own, so a run now moves the same alarm as the hourly
    run. The time says when it was started (the name shows up in the console and in the reports' S3 paths);
    the random suffix keeps two operators starting runs in the same second apart.
    """
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S")
    name = f"{prefix}{stamp}-{suffix or secrets.token_hex(2)}"
    if len(name) > _MAX_NAME_LENGTH:
        raise OpsError(f"one-time schedule name {name!r} is longer than {_MAX_NAME_LENGTH} characters")
    return name


def start_one_time_schedule(
    sagemaker: SageMakerClient, *, name: str, deployed: DeployedSchedule, hours: int = 1
) -> None:
    """Create the one-time (``NOW``) schedule over the last ``hours`` hours of captured data."""
    if not 1 <= hours <= 24:
        raise OpsError(f"--hours: got {hours}; expected 1 to 24 (Model Monitor's longest analysis window)")
    sagemaker.create_monitoring_schedule(
        MonitoringScheduleName=name,
        MonitoringScheduleConfig={
            "ScheduleConfig": {
                "ScheduleExpression": "NOW",
                "DataAnalysisStartTime": f"-PT{hours}H",
                "DataAnalysisEndTime": "-PT0H",
            },
            "MonitoringJobDefinitionName": deployed.job_definition_name,
            "MonitoringType": deployed.monitoring_type,
        },
        Tags=[{"Key": "created-by", "Value": "python -m ops run-now"}],
    )


def wait_for_execution(
    sagemaker: SageMakerClient,
    *,
    schedule_name: str,
    progress: Progress,
    poll_seconds: float,
    timeout_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
) -> WaitResult:
    """Poll until the schedule's execution ends, the schedule fails, or ``timeout_seconds`` pass.

    One progress line per poll: the execution's status once there is one, else the schedule's.
    """
    while True:
        executions = list_executions(sagemaker, schedule_name=schedule_name, limit=1)
        if executions:
            execution = executions[0]
            job = f" (processing job {execution.processing_job_name})" if execution.processing_job_name else ""
            progress.report(f"execution {execution.status}{job}")
            if execution.status in TERMINAL_STATUSES:
                return WaitResult(execution=execution)
            result = WaitResult(execution=execution)
        else:
            description = sagemaker.describe_monitoring_schedule(MonitoringScheduleName=schedule_name)
            status = str(description.get("MonitoringScheduleStatus", "Unknown"))
            result = WaitResult(
                execution=None, schedule_status=status, schedule_failure_reason=description.get("FailureReason")
            )
            progress.report(f"schedule {status}, no execution yet")
            if status == "Failed":
                return result
        if progress.elapsed + poll_seconds > timeout_seconds:
            return result
        sleep(poll_seconds)


def _delete_hint(name: str) -> str:
    return f"aws sagemaker delete-monitoring-schedule --monitoring-schedule-name {name}"


def run_now(
    sagemaker: SageMakerClient,
    *,
    schedule_name: str,
    name_prefix: str,
    stage: str,
    hours: int = 1,
    wait: bool = True,
    poll_seconds: float = 30.0,
    timeout_seconds: float = 3600.0,
    out: TextIO,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
    name: str | None = None,
) -> int:
    """Start one execution now; with ``wait``, follow it to the end, print the outcome, delete the schedule.

    Returns:
        The exit code: 0 when the execution completed (with or without violations) or was started without
        waiting, 1 when it failed, was stopped, or the wait timed out.
    """
    deployed = deployed_schedule(sagemaker, schedule_name)
    one_time = name or one_time_schedule_name(name_prefix)
    start_one_time_schedule(sagemaker, name=one_time, deployed=deployed, hours=hours)
    print(
        f"started one-time schedule {one_time} (job definition {deployed.job_definition_name}, "
        f"last {hours} hour(s) of captured data)",
        file=out,
    )
    if not wait:
        print(f"follow it with: python -m ops status --stage {stage}", file=out)
        print(f"delete it once its execution has finished: {_delete_hint(one_time)}", file=out)
        return 0

    progress = progress or Progress("run-now")
    try:
        result = wait_for_execution(
            sagemaker,
            schedule_name=one_time,
            progress=progress,
            poll_seconds=poll_seconds,
            timeout_seconds=timeout_seconds,
            sleep=sleep,
        )
    except KeyboardInterrupt:
        print(f"interrupted; the one-time schedule {one_time} is left in place: {_delete_hint(one_time)}", file=out)
        raise

    execution = result.execution
    if not result.finished:
        status = execution.status if execution else result.schedule_status
        print(
            f"timed out after {timeout_seconds:.0f} s with the run {status}; the one-time schedule {one_time} "
            f"is left in place: {_delete_hint(one_time)}",
            file=out,
        )
        return 1
    if execution is None:
        print(f"schedule {one_time} failed: {result.schedule_failure_reason or 'no reason given'}", file=out)
    else:
        print(f"outcome: {execution.status}", file=out)
        if execution.failure_reason:
            print(f"failure reason: {execution.failure_reason}", file=out)
        if execution.processing_job_name:
            print(f"processing job: {execution.processing_job_name}", file=out)
            if result.succeeded:
                print(
                    f"see it: python -m ops report --stage {stage} --processing-job {execution.processing_job_name}",
                    file=out,
                )
    sagemaker.delete_monitoring_schedule(MonitoringScheduleName=one_time)
    print(f"deleted the one-time schedule {one_time}", file=out)
    return 0 if result.succeeded else 1
