"""Monitoring executions as ``ListMonitoringExecutions`` returns them, shared by run-now, status and report.

An execution is a processing job that a schedule started; its summary carries the status
(``MonitoringExecutionStatus``: Pending, InProgress, Completed, CompletedWithViolations, Failed, Stopping,
Stopped), the ``FailureReason`` when it failed, and the ``ProcessingJobArn`` from which the report's location
is found.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .aws import SageMakerClient

__all__ = [
    "COMPLETED_STATUSES",
    "TERMINAL_STATUSES",
    "ExecutionSummary",
    "latest_completed_execution",
    "list_executions",
    "processing_job_name",
]

#: Statuses after which nothing changes any more.
TERMINAL_STATUSES = frozenset({"Completed", "CompletedWithViolations", "Failed", "Stopped"})
#: Statuses whose execution wrote a report (statistics.json, constraint_violations.json).
COMPLETED_STATUSES = frozenset({"Completed", "CompletedWithViolations"})

_PROCESSING_JOB_MARKER = ":processing-job/"


@dataclass(frozen=True)
class ExecutionSummary:
    """One ``MonitoringExecutionSummary``, the fields an operator reads."""

    schedule_name: str
    status: str
    scheduled_time: datetime | None
    creation_time: datetime | None
    processing_job_arn: str | None
    failure_reason: str | None
    monitoring_type: str | None

    @classmethod
    def from_api(cls, summary: Mapping[str, Any]) -> ExecutionSummary:
        """Build from the API's dict; absent optional fields become ``None``."""
        return cls(
            schedule_name=str(summary.get("MonitoringScheduleName", "")),
            status=str(summary.get("MonitoringExecutionStatus", "Unknown")),
            scheduled_time=summary.get("ScheduledTime"),
            creation_time=summary.get("CreationTime"),
            processing_job_arn=summary.get("ProcessingJobArn") or None,
            failure_reason=summary.get("FailureReason") or None,
            monitoring_type=summary.get("MonitoringType") or None,
        )

    @property
    def processing_job_name(self) -> str | None:
        """The processing job's name (the part of the ARN after ``processing-job/``)."""
        return processing_job_name(self.processing_job_arn)


def processing_job_name(arn: str | None) -> str | None:
    """``arn:aws:sagemaker:...:processing-job/NAME`` → ``NAME``; ``None`` for anything else."""
    if not arn or _PROCESSING_JOB_MARKER not in arn:
        return None
    return arn.partition(_PROCESSING_JOB_MARKER)[2] or None


def list_executions(
    sagemaker: SageMakerClient,
    *,
    schedule_name: str | None = None,
    endpoint_name: str | None = None,
    limit: int = 10,
) -> list[ExecutionSummary]:
    """The newest ``limit`` executions (by creation time) of one schedule or of every schedule of an endpoint."""
    filters: dict[str, Any] = {}
    if schedule_name:
        filters["MonitoringScheduleName"] = schedule_name
    if endpoint_name:
        filters["EndpointName"] = endpoint_name
    executions: list[ExecutionSummary] = []
    token: str | None = None
    while len(executions) < limit:
        page_size = min(100, limit - len(executions))
        request: dict[str, Any] = {"SortBy": "CreationTime", "SortOrder": "Descending", "MaxResults": page_size}
        if token:
            request["NextToken"] = token
        response = sagemaker.list_monitoring_executions(**filters, **request)
        executions.extend(ExecutionSummary.from_api(item) for item in response.get("MonitoringExecutionSummaries", []))
        token = response.get("NextToken")
        if not token:
            break
    return executions[:limit]


def latest_completed_execution(
    sagemaker: SageMakerClient, *, schedule_name: str, search: int = 100
) -> ExecutionSummary | None:
    """The newest execution of the schedule that wrote a report (Completed or CompletedWithViolations).

    Looks through the ``search`` newest executions: a schedule whose last hundred runs all failed has no
    report worth showing, and reading its whole history would be slow.
    """
    for execution in list_executions(sagemaker, schedule_name=schedule_name, limit=search):
        if execution.status in COMPLETED_STATUSES and execution.processing_job_arn:
            return execution
    return None
