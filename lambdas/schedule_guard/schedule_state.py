"""Whether a monitoring schedule has left ``Pending``: the one state in which SageMaker refuses to delete it.

A schedule created right after its endpoint can stay ``Pending`` for minutes; ``DeleteMonitoringSchedule``
then fails with "Monitoring schedule in status Pending", and ``cdk destroy`` leaves the stack in
DELETE_FAILED. The guard waits for the schedule to settle before CloudFormation goes on, on creation (so
the stack reports a schedule that really runs) and before deletion (so the delete succeeds).
"""

from __future__ import annotations

from typing import Any, Final

from botocore.exceptions import ClientError

SETTLED: Final = frozenset({"Scheduled", "Stopped"})
RETRYABLE_ERRORS: Final = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException"})


class ScheduleFailedError(RuntimeError):
    """The schedule ended in ``Failed``; the message carries SageMaker's reason, for the stack's events."""


def schedule_status(sagemaker: Any, schedule_name: str) -> dict[str, Any] | None:
    """DescribeMonitoringSchedule, with a schedule that does not exist as None."""
    try:
        description: dict[str, Any] = sagemaker.describe_monitoring_schedule(MonitoringScheduleName=schedule_name)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFound":
            return None
        raise
    return description


def is_settled(sagemaker: Any, schedule_name: str, *, deleting: bool) -> bool:
    """True once the schedule can be relied on (creating) or deleted (deleting).

    A throttled describe answers "not yet", so the Provider asks again at its next poll instead of failing
    the stack. A ``Failed`` schedule fails a create with its reason; a delete lets CloudFormation remove it.
    """
    try:
        description = schedule_status(sagemaker, schedule_name)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in RETRYABLE_ERRORS:
            return False
        raise
    if description is None:
        return deleting  # gone already: nothing to wait for; on create, not visible yet
    status = description["MonitoringScheduleStatus"]
    if status == "Failed":
        if deleting:
            return True
        raise ScheduleFailedError(
            f"monitoring schedule {schedule_name} failed: {description.get('FailureReason', 'no reason given')}"
        )
    return status in SETTLED
