"""Lambda entry point of the builtin engine's hourly analysis (container image: the engine image).

Invoked by EventBridge Scheduler with ``{"scheduledTime": "<aws.scheduler.scheduled-time>"}`` (the schedule's
input template; Scheduler substitutes the time), or by ``python -m ops run-now`` with an explicit window and run
name. The work is in :mod:`.hourly`; this module reads the settings, owns the clients (created on first use, not
at import) and the Powertools logger and metrics.

* A bad event or bad settings raise: a deployment error, seen in the function's Errors metric.
* A missing or unreadable baseline is a known end state (``failed``, one error line, ``ExecutionFailed=1``),
  not an exception: retrying cannot fix it, and the ExecutionFailed alarm tells people.
* AWS errors propagate (after the hour's claim is released), so Lambda's asynchronous retries run.

Handler: ``lambdas.drift_analysis.handler.lambda_handler`` (the image's default command).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from drift_engine.metrics import CloudWatchPublisher

from . import processing
from .config import Settings
from .hourly import RunResult, parse_request, run_analysis

logger = Logger()
# service="" so that Powertools adds no "service" dimension: the alarms match Endpoint + MonitoringSchedule only.
metrics = Metrics(service="")


@dataclass(frozen=True)
class AwsClients:
    s3: Any
    cloudwatch: Any
    sagemaker: Any


@functools.cache
def aws_clients() -> AwsClients:
    """The clients, on first use, with botocore's standard retry mode."""
    config = Config(retries={"mode": "standard"})
    return AwsClients(
        s3=boto3.client("s3", config=config),
        cloudwatch=boto3.client("cloudwatch", config=config),
        sagemaker=boto3.client("sagemaker", config=config),
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Validate the settings and the event, then run the analysis of one window (or start its Processing job), or
    finish a window whose Processing job ended (``builtin_runtime: processing``)."""
    settings = Settings.from_environ(os.environ)
    metrics.namespace = settings.metrics_namespace
    clients = aws_clients()
    now = datetime.now(UTC)
    if settings.processing is not None and processing.is_job_state_change(event):
        finished = processing.finish_run(
            event,
            settings,
            settings.processing,
            s3=clients.s3,
            sagemaker=clients.sagemaker,
            publisher=CloudWatchPublisher(clients.cloudwatch),
            metrics=metrics,
            now=now,
        )
        if finished is None:
            logger.info(
                "Not a job of this analysis, or not ended: nothing to do", extra={"detail": event.get("detail")}
            )
            return {"status": "ignored"}
        return _log(finished)
    request = parse_request(event, window_hours=settings.analysis_window_hours)
    logger.append_keys(window_start=request.start.isoformat(), window_end=request.end.isoformat())
    # A retry may take the hour over once this invocation's time is up (it timed out or died).
    deadline = now + timedelta(milliseconds=context.get_remaining_time_in_millis())
    if settings.processing is not None:
        return _log(
            processing.start_run(
                request,
                settings,
                settings.processing,
                s3=clients.s3,
                sagemaker=clients.sagemaker,
                publisher=CloudWatchPublisher(clients.cloudwatch),
                metrics=metrics,
                attempt_id=context.aws_request_id,
                now=now,
                deadline=deadline,
            )
        )
    result = run_analysis(
        request,
        settings,
        s3=clients.s3,
        publisher=CloudWatchPublisher(clients.cloudwatch),
        metrics=metrics,
        attempt_id=context.aws_request_id,
        now=now,
        deadline=deadline,
    )
    return _log(result)


def _log(result: RunResult) -> dict[str, Any]:
    """One line per run: an error line for a failed run (with the reason), else an info line."""
    outcome = result.to_json()
    if result.status == "failed":
        logger.error(f"Drift analysis failed: {result.error}", extra=outcome)
    elif result.status == "duplicate":
        logger.info("Hour already claimed by another attempt: nothing published", extra=outcome)
    else:
        logger.info(f"Drift analysis {result.status}", extra=outcome)
    return outcome
