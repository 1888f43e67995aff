"""EventBridge events and DescribeProcessingJob responses shaped like real monitoring executions.

The event follows the "SageMaker processing job state change" example in the SageMaker developer guide
("Events that Amazon SageMaker AI sends to Amazon EventBridge"). The description follows a data-quality
execution as Model Monitor starts it: the environment of the "Container Contract Inputs" page
(``baseline_constraints`` / ``baseline_statistics`` are local paths), and inputs and output laid out like
an execution's DescribeProcessingJob that a public project logged (``InputName: constraints``,
``LocalPath: /opt/ml/processing/baseline/constraints``, ``S3Uri: .../constraints.json``; output
``LocalPath: /opt/ml/processing/output`` uploaded to ``<prefix>/<endpoint>/<schedule>/yyyy/mm/dd/hh``).
"""

from datetime import UTC, datetime
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"
SCHEDULE_NAME = "churn-data-quality"
ENDPOINT_NAME = "churn-endpoint"
JOB_NAME = "model-monitoring-202611221300-0a1b2c3d4e5f60718293a4b5"
BUCKET = "monitoring-bucket"
OUTPUT_PREFIX = f"monitoring/reports/{ENDPOINT_NAME}/{SCHEDULE_NAME}/2026/11/22/13"
OUTPUT_URI = f"s3://{BUCKET}/{OUTPUT_PREFIX}"
VIOLATIONS_KEY = f"{OUTPUT_PREFIX}/constraint_violations.json"
CONSTRAINTS_KEY = "baseline/results/constraints.json"
STATISTICS_KEY = "baseline/results/statistics.json"
CONSTRAINTS_URI = f"s3://{BUCKET}/{CONSTRAINTS_KEY}"


def schedule_arn(name: str = SCHEDULE_NAME) -> str:
    """A monitoring schedule ARN, the name lowercased (as SageMaker may write it; the handler must cope)."""
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:monitoring-schedule/{name.lower()}"


def job_arn(name: str = JOB_NAME) -> str:
    """A processing job ARN."""
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:processing-job/{name}"


def state_change_event(status: str = "Completed", job_name: str = JOB_NAME) -> dict[str, Any]:
    """An EventBridge "SageMaker Processing Job State Change" event (detail abridged)."""
    return {
        "version": "0",
        "id": "0a15f67d-aa23-0123-0123-01a23e89f01a",
        "detail-type": "SageMaker Processing Job State Change",
        "source": "aws.sagemaker",
        "account": ACCOUNT,
        "time": "2026-11-22T13:21:54Z",
        "region": REGION,
        "resources": [job_arn(job_name)],
        "detail": {
            "ProcessingJobName": job_name,
            "ProcessingJobArn": job_arn(job_name),
            "ProcessingJobStatus": status,
        },
    }


def monitoring_execution(
    *,
    status: str = "Completed",
    schedule: str | None = SCHEDULE_NAME,
    constraints_input: bool = True,
    failure_reason: str | None = None,
    exit_message: str | None = None,
    job_name: str = JOB_NAME,
) -> dict[str, Any]:
    """A DescribeProcessingJob response of a data-quality monitoring execution.

    Args:
        status: ``ProcessingJobStatus``.
        schedule: Name in ``MonitoringScheduleArn``; ``None`` for a job no schedule started.
        constraints_input: ``False`` drops the ``constraints`` input and the ``baseline_constraints``
            environment entry (an execution that names no constraints).
        failure_reason: ``FailureReason``, for Failed jobs.
        exit_message: ``ExitMessage``.
        job_name: ``ProcessingJobName``.
    """
    environment = {
        "dataset_format": '{"sagemakerCaptureJson":{"captureIndexNames":["endpointInput","endpointOutput"]}}',
        "dataset_source": "/opt/ml/processing/input/endpoint",
        "end_time": "2026-11-22T13:00:00Z",
        "metric_time": "2026-11-22T12:00:00Z",
        "output_path": "/opt/ml/processing/output",
        "publish_cloudwatch_metrics": "Enabled",
        "sagemaker_endpoint_name": ENDPOINT_NAME,
        "sagemaker_monitoring_schedule_name": SCHEDULE_NAME,
        "start_time": "2026-11-22T12:00:00Z",
        "baseline_statistics": "/opt/ml/processing/baseline/stats/statistics.json",
    }
    inputs: list[dict[str, Any]] = [
        _s3_input("baseline", "/opt/ml/processing/baseline/stats", f"s3://{BUCKET}/{STATISTICS_KEY}"),
        _s3_input(
            "endpoint_input_1",
            f"/opt/ml/processing/input/endpoint/{ENDPOINT_NAME}/AllTraffic/2026/11/22/12",
            f"s3://{BUCKET}/datacapture/{ENDPOINT_NAME}/AllTraffic/2026/11/22/12",
        ),
    ]
    if constraints_input:
        environment["baseline_constraints"] = "/opt/ml/processing/baseline/constraints/constraints.json"
        inputs.insert(0, _s3_input("constraints", "/opt/ml/processing/baseline/constraints", CONSTRAINTS_URI))
    now = datetime(2026, 11, 22, 13, 21, 54, tzinfo=UTC)
    description: dict[str, Any] = {
        "ProcessingInputs": inputs,
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "result",
                    "S3Output": {
                        "S3Uri": OUTPUT_URI,
                        "LocalPath": "/opt/ml/processing/output",
                        "S3UploadMode": "Continuous",
                    },
                    "AppManaged": False,
                }
            ]
        },
        "ProcessingJobName": job_name,
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 20}
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "AppSpecification": {
            "ImageUri": "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"
        },
        "Environment": environment,
        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/monitoring-execution",
        "ProcessingJobArn": job_arn(job_name),
        "ProcessingJobStatus": status,
        "CreationTime": now,
        "LastModifiedTime": now,
    }
    if schedule is not None:
        description["MonitoringScheduleArn"] = schedule_arn(schedule)
    if exit_message is not None:
        description["ExitMessage"] = exit_message
    if failure_reason is not None:
        description["FailureReason"] = failure_reason
    return description


def _s3_input(name: str, local_path: str, uri: str) -> dict[str, Any]:
    return {
        "InputName": name,
        "AppManaged": False,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": local_path,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
            "S3CompressionType": "None",
        },
    }
