"""Lambda entry point: turn the end of a Model Monitor execution into CloudWatch metrics.

Triggered by EventBridge on "SageMaker Processing Job State Change" with ``ProcessingJobStatus`` Completed,
Failed or Stopped. The event does not document ``MonitoringScheduleArn``, so the function asks
``DescribeProcessingJob`` and ignores every job that is not an execution of ``MONITORING_SCHEDULE_NAME``.

* Failed / Stopped: ``ExecutionFailed=1`` (the FailureReason is logged).
* Completed: reads ``constraint_violations.json`` from the execution's output and the constraints it was
  checked against, then publishes ``ViolationPercentage`` (0 when clean), ``ViolatedFeatures``,
  ``MonitoredFeatures``, ``ConstraintViolations`` per check type, ``ExecutionFailed=0`` and
  ``ReportErrors=0``.
* Completed but the report is missing, malformed or of the wrong shape: an error log and
  ``ReportErrors=1``, never a silent pass and never a made-up 0 %.
* AWS errors (throttling once botocore's retries are spent, access denied) propagate, so Lambda's
  asynchronous retries run and the failure shows in the function's Errors metric.

Handler: ``violation_metric.handler.lambda_handler`` (asset root ``lambdas/``).
"""

import functools
import os
from dataclasses import dataclass
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from .config import Settings
from .execution import (
    S3Client,
    SageMakerClient,
    describe_processing_job,
    load_report,
    processing_job_name,
    schedule_name_from_arn,
)
from .publishing import MetricTarget, publish_execution_failed, publish_report_error, publish_summary
from .violations import ViolationReportError

logger = Logger()
# service="" on purpose: otherwise Powertools adds a "service" dimension from POWERTOOLS_SERVICE_NAME (which
# the Logger may use), and the alarms, built from metric_names with Endpoint + MonitoringSchedule only,
# would never match the data points. The namespace comes from POWERTOOLS_METRICS_NAMESPACE.
metrics = Metrics(service="")

_FAILED_STATUSES = frozenset({"Failed", "Stopped"})


@dataclass(frozen=True)
class AwsClients:
    """The clients the function uses, created once per execution environment."""

    sagemaker: SageMakerClient
    s3: S3Client


@functools.cache
def aws_clients() -> AwsClients:
    """Create the clients on first use (not at import) with botocore's standard retry mode."""
    config = Config(retries={"mode": "standard"})
    return AwsClients(
        sagemaker=boto3.client("sagemaker", config=config),
        s3=boto3.client("s3", config=config),
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Validate the environment, then handle one EventBridge event."""
    settings = Settings.from_environ(os.environ)
    # Powertools read the same variable at import; taking it from the validated settings makes a missing
    # namespace fail here, naming the variable, instead of at flush time.
    metrics.namespace = settings.metrics_namespace
    return handle_event(event, settings, aws_clients())


def handle_event(event: dict[str, Any], settings: Settings, clients: AwsClients) -> dict[str, Any]:
    """Handle one event; returns what was done (``outcome``), for the log and the tests."""
    job_name = processing_job_name(event)
    logger.append_keys(processing_job_name=job_name)
    description = describe_processing_job(clients.sagemaker, job_name)

    schedule_arn = description.get("MonitoringScheduleArn")
    schedule_name = schedule_name_from_arn(schedule_arn)
    if not settings.reports_on(schedule_name):
        logger.info(
            "Not an execution of our monitoring schedule: ignored",
            extra={"monitoring_schedule_arn": schedule_arn},
        )
        return {"outcome": "ignored", "processing_job_name": job_name}

    status = description.get("ProcessingJobStatus")
    target = MetricTarget(
        namespace=settings.metrics_namespace,
        endpoint_name=settings.endpoint_name,
        monitoring_schedule_name=settings.monitoring_schedule_name,
        processing_job_name=job_name,
    )

    if status in _FAILED_STATUSES:
        logger.warning(
            "Monitoring execution did not complete",
            extra={"status": status, "failure_reason": description.get("FailureReason")},
        )
        publish_execution_failed(metrics, target)
        return {"outcome": "execution_failed", "processing_job_name": job_name, "status": status}
    if status != "Completed":
        logger.info("Monitoring execution has not ended yet: ignored", extra={"status": status})
        return {"outcome": "ignored", "processing_job_name": job_name, "status": status}

    try:
        report = load_report(description, clients.s3, fallback_constraints_uri=settings.baseline_constraints_uri)
    except ViolationReportError as error:
        logger.error(
            "Cannot use the monitoring execution's report",
            extra={"error": str(error), "exit_message": description.get("ExitMessage")},
        )
        publish_report_error(metrics, target)
        return {"outcome": "report_error", "processing_job_name": job_name, "error": str(error)}

    summary = report.summary
    logger.info(
        "Monitoring execution report published",
        extra={
            "violation_percentage": summary.violation_percentage,
            "violated_features": list(summary.violated_features),
            "unmonitored_violated_features": list(summary.unmonitored_violated_features),
            "monitored_features": summary.monitored_features,
            "violations_by_check_type": dict(summary.violations_by_check_type),
            "violations_uri": report.violations_uri,
            "constraints_uri": report.constraints_uri,
            "constraints_from_job": report.constraints_from_job,
        },
    )
    publish_summary(metrics, target, summary)
    return {
        "outcome": "published",
        "processing_job_name": job_name,
        "violation_percentage": summary.violation_percentage,
    }
