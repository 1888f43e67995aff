"""SageMaker monitoring responses, for botocore's Stubber.

moto 5.2.5 implements none of the monitoring-schedule APIs (Create/Describe/DeleteMonitoringSchedule and
ListMonitoringExecutions raise NotImplementedError), and its processing jobs carry no monitoring output, so
the SageMaker client is stubbed with botocore's ``Stubber``: it checks every request against the service
model and every canned response below against the response shape, so a misspelled field fails the test.
"""

from datetime import UTC, datetime
from typing import Any

from .conftest import ACCOUNT, ENDPOINT_NAME, REGION

JOB_DEFINITION = "data-quality-job-definition-3f9a2b"
CREATED = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def schedule_arn(name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:monitoring-schedule/{name.lower()}"


def job_arn(name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:processing-job/{name}"


def execution(
    schedule: str,
    status: str,
    *,
    job: str | None = None,
    failure: str | None = None,
    hour: int = 13,
) -> dict[str, Any]:
    """One ``MonitoringExecutionSummary``."""
    summary: dict[str, Any] = {
        "MonitoringScheduleName": schedule,
        "ScheduledTime": datetime(2026, 11, 22, hour, 0, tzinfo=UTC),
        "CreationTime": datetime(2026, 11, 22, hour, 1, tzinfo=UTC),
        "LastModifiedTime": datetime(2026, 11, 22, hour, 9, tzinfo=UTC),
        "MonitoringExecutionStatus": status,
        "EndpointName": ENDPOINT_NAME,
        "MonitoringType": "DataQuality",
        "MonitoringJobDefinitionName": JOB_DEFINITION,
    }
    if job:
        summary["ProcessingJobArn"] = job_arn(job)
    if failure:
        summary["FailureReason"] = failure
    return summary


def executions(*summaries: dict[str, Any]) -> dict[str, Any]:
    """A ``ListMonitoringExecutions`` response."""
    return {"MonitoringExecutionSummaries": list(summaries)}


def schedule(
    name: str,
    *,
    status: str = "Scheduled",
    expression: str = "cron(0 * ? * * *)",
    failure: str | None = None,
    last: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``DescribeMonitoringSchedule`` response for a schedule that names its job definition."""
    response: dict[str, Any] = {
        "MonitoringScheduleArn": schedule_arn(name),
        "MonitoringScheduleName": name,
        "MonitoringScheduleStatus": status,
        "MonitoringType": "DataQuality",
        "CreationTime": CREATED,
        "LastModifiedTime": CREATED,
        "MonitoringScheduleConfig": {
            "ScheduleConfig": {"ScheduleExpression": expression},
            "MonitoringJobDefinitionName": JOB_DEFINITION,
            "MonitoringType": "DataQuality",
        },
        "EndpointName": ENDPOINT_NAME,
    }
    if failure:
        response["FailureReason"] = failure
    if last:
        response["LastMonitoringExecutionSummary"] = last
    return response


def processing_job(name: str, output_uri: str) -> dict[str, Any]:
    """A ``DescribeProcessingJob`` response of a monitoring execution, with its report output."""
    return {
        "ProcessingJobName": name,
        "ProcessingJobArn": job_arn(name),
        "ProcessingJobStatus": "Completed",
        "ExitMessage": "CompletedWithViolations: Job completed successfully with 7 violations.",
        "CreationTime": CREATED,
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}
        },
        "AppSpecification": {
            "ImageUri": "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"
        },
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "result",
                    "S3Output": {
                        "S3Uri": output_uri,
                        "LocalPath": "/opt/ml/processing/output",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
        "MonitoringScheduleArn": schedule_arn("DataQualitySchedule-8f3KxYq2LmNo"),
    }


def list_request(*, schedule_name: str | None = None, endpoint_name: str | None = None, limit: int) -> dict[str, Any]:
    """The ``ListMonitoringExecutions`` request the commands send."""
    request: dict[str, Any] = {"SortBy": "CreationTime", "SortOrder": "Descending", "MaxResults": limit}
    if schedule_name:
        request["MonitoringScheduleName"] = schedule_name
    if endpoint_name:
        request["EndpointName"] = endpoint_name
    return request
