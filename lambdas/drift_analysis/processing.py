"""``builtin_runtime: processing``: each run analyzes its hours on a SageMaker Processing job running the engine's
Spark path, started and finished by the hourly analysis function.

**Start** (:func:`start_run`, the schedule's event or ``ops run-now``; the window, report folder and ``run.json``
claim are :mod:`.hourly`'s and :mod:`.runs`'s):

1. claim the hour (``run.json``); a duplicate stops here;
2. read the baseline: missing or unusable ends the run ``failed`` with ``ExecutionFailed=1``, as the function
   runtime does, before any instance starts;
3. list the window's capture objects: none ends the run ``no-data`` (``NoCapturedData=1``), and no job starts;
4. start the job under a name that is the same for every attempt at that report folder (:func:`job_name`), so a
   retry that finds it (``ResourceInUse``) adopts it instead of starting a second one; the claim becomes
   ``analyzing`` with the job's name. An adopted job that has ended already is finished there and then (its end
   event came while the claim was not yet ``analyzing``, so nothing finished it).

**Finish** (:func:`finish_run`, EventBridge's "SageMaker Processing Job State Change" for a job of this prefix):
``DescribeProcessingJob`` says how it ended and where its report folder is; only a claim ``analyzing`` *this* job
moves on, with a conditional write, so a repeated event publishes nothing. ``Completed``: the metrics the function
runtime publishes, from the job's files (``analysis_summary.json`` holds the per-feature metrics and counts, the
violation percentage comes from ``constraint_violations.json`` by the violation-metric function's own parser).
``Failed``/``Stopped``: ``ExecutionFailed=1`` and the job's ``FailureReason`` in one log line.

Who publishes the per-feature metrics: this function, not the job. Everything a run publishes then goes out once,
under the claim's ``publishing`` state; a job that succeeded whose finish failed has published nothing (the retry
publishes all of it), and the job's role needs no CloudWatch permission.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from botocore.exceptions import ClientError

from drift_engine.metrics import ANALYSIS_SUMMARY_FILE, MetricPublisher, parse_analysis_summary
from drift_engine.s3 import BaselineUnavailableError, S3Location, get_json, list_capture_objects, read_baseline

from ..violation_metric.publishing import MetricTarget, publish_execution_failed
from ..violation_metric.violations import ViolationReportError, parse_violations, summarize
from . import runs
from .config import ProcessingJobSettings, Settings
from .hourly import (
    VIOLATIONS_FILE,
    RunMetrics,
    RunRequest,
    RunResult,
    _final,
    _iso,
    claim_hour,
    metric_target,
    publish_completed,
    publish_no_data,
    window_result,
)

__all__ = [
    "JOB_STATE_CHANGE",
    "finish_run",
    "is_job_state_change",
    "job_name",
    "processing_job_request",
    "start_run",
]

#: EventBridge's detail type for a Processing job's status change (SageMaker developer guide, "Automating Amazon
#: SageMaker with Amazon EventBridge": source ``aws.sagemaker``).
JOB_STATE_CHANGE: Final = "SageMaker Processing Job State Change"
ENDED_STATUSES: Final = frozenset({"Completed", "Failed", "Stopped"})

#: Inside the job (SageMaker Processing's conventions): where inputs are downloaded and the output folder uploaded.
BASELINE_STATISTICS_PATH: Final = "/opt/ml/processing/input/baseline-statistics"
BASELINE_CONSTRAINTS_PATH: Final = "/opt/ml/processing/input/baseline-constraints"
OUTPUT_PATH: Final = "/opt/ml/processing/output"
#: The Spark image's entry point (smspark-submit: sets up YARN over the job's instances, then spark-submit in
#: client mode on the first; trailing arguments go to the application unchanged) and the engine's script in the
#: image (``drift_engine/Dockerfile.spark``).
SPARK_SUBMIT: Final = "smspark-submit"
SPARK_APPLICATION: Final = "/opt/drift-engine/spark_drift_engine.py"
#: botocore's AppSpecification: ContainerEntrypoint holds at most 100 strings of at most 256 characters.
_MAX_ENTRYPOINT_ITEMS: Final = 100
_MAX_ENTRYPOINT_ITEM: Final = 256


class JobRequestError(ValueError):
    """The window's capture folders do not fit in a CreateProcessingJob request."""


def is_job_state_change(event: Mapping[str, Any]) -> bool:
    return event.get("source") == "aws.sagemaker" and event.get("detail-type") == JOB_STATE_CHANGE


def job_name(processing: ProcessingJobSettings, folder: S3Location, request: RunRequest) -> str:
    """``<prefix>-<yyyymmddhh of the scheduled hour>-<8 hex of the report folder>``: the same for every attempt at
    one folder (a schedule's hour, or a run now's name and hour), different for any other; at most 63 characters
    (the prefix is at most 43, ``config.JOB_NAME_PREFIX_MAX``)."""
    digest = hashlib.sha256(folder.uri.encode()).hexdigest()[:8]
    return f"{processing.job_name_prefix}-{request.scheduled_time.strftime('%Y%m%d%H')}-{digest}"


def processing_job_request(
    settings: Settings, processing: ProcessingJobSettings, request: RunRequest, folder: S3Location, name: str,
    capture_folders: Sequence[str],
) -> dict[str, Any]:  # fmt: skip
    """The ``CreateProcessingJob`` request: the engine's ``analyze`` on Spark over the window's capture folders.

    Spark reads the capture folders itself through S3A (the image's ``core-site.xml`` maps ``s3://`` to S3A with
    the default credentials chain, and YARN passes the job role's container credentials to the executors), so the
    objects are split across the instances; the baseline files are downloaded to every instance (``S3Prefix`` of
    an object key lands as ``<LocalPath>/<file name>``, as the SDK's ScriptProcessor relies on for its code input);
    the driver writes the reports to the output folder, which SageMaker uploads to the report folder at the end.
    """
    statistics, constraints = settings.baseline_statistics, settings.baseline_constraints
    entrypoint = [SPARK_SUBMIT, SPARK_APPLICATION, "analyze", "--capture", *capture_folders]
    entrypoint += ["--baseline-statistics", f"{BASELINE_STATISTICS_PATH}/{statistics.key.rsplit('/', 1)[-1]}"]
    entrypoint += ["--baseline-constraints", f"{BASELINE_CONSTRAINTS_PATH}/{constraints.key.rsplit('/', 1)[-1]}"]
    entrypoint += ["--start", _iso(request.start), "--end", _iso(request.end)]
    entrypoint += ["--output-columns-position", settings.output_columns_position]
    entrypoint += ["--output", OUTPUT_PATH, "--summary", "--quiet"]
    if len(entrypoint) > _MAX_ENTRYPOINT_ITEMS or any(len(item) > _MAX_ENTRYPOINT_ITEM for item in entrypoint):
        raise JobRequestError(
            f"{len(capture_folders)} capture folder(s) do not fit in a job's ContainerEntrypoint (at most "
            f"{_MAX_ENTRYPOINT_ITEMS} strings of {_MAX_ENTRYPOINT_ITEM} characters)"
        )
    return {
        "ProcessingJobName": name,
        "ProcessingInputs": [
            _baseline_input("baseline-statistics", statistics, BASELINE_STATISTICS_PATH),
            _baseline_input("baseline-constraints", constraints, BASELINE_CONSTRAINTS_PATH),
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "reports",
                    "S3Output": {"S3Uri": folder.uri, "LocalPath": OUTPUT_PATH, "S3UploadMode": "EndOfJob"},
                }
            ],
            "KmsKeyId": processing.kms_key_arn,
        },
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": processing.instance_count,
                "InstanceType": processing.instance_type,
                "VolumeSizeInGB": processing.volume_size_gb,
                "VolumeKmsKeyId": processing.kms_key_arn,
            }
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": processing.max_runtime_seconds},
        "AppSpecification": {"ImageUri": processing.image_uri, "ContainerEntrypoint": entrypoint},
        "NetworkConfig": processing.network,
        "RoleArn": processing.role_arn,
    }


def start_run(
    request: RunRequest,
    settings: Settings,
    processing: ProcessingJobSettings,
    *,
    s3: Any,
    sagemaker: Any,
    publisher: MetricPublisher,
    metrics: RunMetrics,
    attempt_id: str,
    now: datetime,
    deadline: datetime | None = None,
) -> RunResult:
    """Claim the hour and start its job (or end it as no-data or failed); see the module docstring."""
    claimed = claim_hour(request, settings, s3=s3, attempt_id=attempt_id, now=now, deadline=deadline)
    if isinstance(claimed, RunResult):
        return claimed
    folder, window, claim = claimed
    target = metric_target(settings, request)
    try:
        try:
            read_baseline(s3, settings.baseline_statistics, settings.baseline_constraints)
        except BaselineUnavailableError as error:
            claim = runs.update_claim(s3, claim, status=runs.PUBLISHING)
            publish_execution_failed(metrics, target)
            result = window_result(runs.FAILED, folder, window, error=str(error))
            runs.update_claim(s3, claim, **_final(result, now))
            return result
        objects = list_capture_objects(
            s3, settings.capture, settings.endpoint_name, start=request.start, end=request.end
        )
        if not objects:
            claim = runs.update_claim(s3, claim, status=runs.PUBLISHING)
            publish_no_data(metrics, target, malformed=0)
            result = window_result(runs.NO_DATA, folder, window)
            runs.update_claim(s3, claim, **_final(result, now))
            return result
        folders = sorted({f"s3://{item.bucket}/{item.key.rsplit('/', 1)[0]}/" for item in objects})
        name = job_name(processing, folder, request)
        job = processing_job_request(settings, processing, request, folder, name, folders)
        started = _start_or_adopt(sagemaker, job)
        claim = runs.update_claim(s3, claim, status=runs.ANALYZING, job_name=name, capture_objects=len(objects))
    except Exception as error:
        # An AWS error (throttling after retries, access denied): give the hour back so a retry can run it; a
        # job this attempt started is adopted by the retry, by its name.
        if claim.record.get("status") == runs.RUNNING:
            runs.update_claim(s3, claim, status=runs.ERROR, error=f"{type(error).__name__}: {error}")
        raise
    if not started:
        # An adopted job may have ended already, its end event seen while the claim was not yet ``analyzing``
        # (nothing finished it then): finish it now, or nobody will.
        ended = _describe(sagemaker, name)
        if ended is not None:
            return _finish(ended, settings, s3=s3, publisher=publisher, metrics=metrics, now=now)
    return window_result(runs.ANALYZING, folder, window, job_name=name)


@dataclass(frozen=True)
class _Ended:
    name: str
    status: str
    failure_reason: str
    folder: S3Location


def finish_run(
    event: Mapping[str, Any],
    settings: Settings,
    processing: ProcessingJobSettings,
    *,
    s3: Any,
    sagemaker: Any,
    publisher: MetricPublisher,
    metrics: RunMetrics,
    now: datetime,
) -> RunResult | None:
    """Publish the end of a run's job once; ``None`` for an event about another job or a job still running."""
    detail = event.get("detail") or {}
    name = detail.get("ProcessingJobName")
    if not isinstance(name, str) or not name.startswith(f"{processing.job_name_prefix}-"):
        return None
    ended = _describe(sagemaker, name)
    if ended is None:
        return None
    return _finish(ended, settings, s3=s3, publisher=publisher, metrics=metrics, now=now)


def _finish(
    ended: _Ended, settings: Settings, *, s3: Any, publisher: MetricPublisher, metrics: RunMetrics, now: datetime
) -> RunResult:
    """The end of ``ended``'s run, published once: only a claim ``analyzing`` that job moves on."""
    name = ended.name
    location = ended.folder.child(runs.RUN_FILE)
    current = get_json(s3, location)
    record, etag = current if current is not None else ({}, "")
    window = {"window_start": str(record.get("window_start", "")), "window_end": str(record.get("window_end", ""))}
    if record.get("status") != runs.ANALYZING or record.get("job_name") != name:
        return window_result(
            "duplicate",
            ended.folder,
            window,
            job_name=name,
            error=f"run.json is {record.get('status')!r} for job {record.get('job_name')!r}: nothing to finish",
        )
    claim = runs.Claim(location, record, etag, owned=True)
    # The run metrics carry the job's name as EMF metadata, as the violation-metric function's do.
    target = MetricTarget(
        namespace=settings.metrics_namespace,
        endpoint_name=settings.endpoint_name,
        monitoring_schedule_name=settings.monitoring_schedule_name,
        processing_job_name=name,
    )
    if ended.status != "Completed":
        result = window_result(
            runs.FAILED,
            ended.folder,
            window,
            job_name=name,
            error=f"processing job {name} {ended.status}: {ended.failure_reason or 'no FailureReason'}",
        )

        return _publish_once(s3, claim, result, lambda: publish_execution_failed(metrics, target), now)
    # Everything read before the claim moves on: an AWS error here leaves it ``analyzing`` for the event's retry.
    try:
        summary = parse_analysis_summary(
            _read_json(s3, ended.folder.child(ANALYSIS_SUMMARY_FILE)),
            source=ended.folder.child(ANALYSIS_SUMMARY_FILE).uri,
        )
        violations_location = ended.folder.child(VIOLATIONS_FILE)
        violations = parse_violations(json.dumps(_read_json(s3, violations_location)), source=violations_location.uri)
        _, constraints = read_baseline(s3, settings.baseline_statistics, settings.baseline_constraints)
    except (ValueError, ViolationReportError, BaselineUnavailableError) as error:
        result = window_result(
            runs.FAILED,
            ended.folder,
            window,
            job_name=name,
            error=f"processing job {name} Completed, but its reports are unusable: {error}",
        )
        return _publish_once(s3, claim, result, lambda: publish_execution_failed(metrics, target), now)
    if summary.analyzed_records == 0:
        result = window_result(
            runs.NO_DATA, ended.folder, window, job_name=name, malformed_records=summary.malformed_records
        )
        return _publish_once(
            s3, claim, result, lambda: publish_no_data(metrics, target, malformed=summary.malformed_records), now
        )
    violation_summary = summarize(violations, tuple(dict.fromkeys(feature.name for feature in constraints.features)))
    result = window_result(
        runs.COMPLETED,
        ended.folder,
        window,
        job_name=name,
        analyzed_records=summary.analyzed_records,
        malformed_records=summary.malformed_records,
        violations=len(violations),
        violation_percentage=violation_summary.violation_percentage,
    )

    def publish() -> None:
        publish_completed(
            publisher,
            metrics,
            target,
            settings=settings,
            feature_metrics=summary.feature_metrics,
            summary=violation_summary,
            analyzed=summary.analyzed_records,
            malformed=summary.malformed_records,
        )

    return _publish_once(s3, claim, result, publish, now)


def _publish_once(
    s3: Any, claim: runs.Claim, result: RunResult, publish: Callable[[], None], now: datetime
) -> RunResult:
    """``analyzing`` → ``publishing`` with the claim's ETag: of two deliveries of one event, one publishes."""
    try:
        claim = runs.update_claim(s3, claim, status=runs.PUBLISHING)
    except runs.ClaimLostError as error:
        return RunResult(
            status="duplicate",
            reports_uri=result.reports_uri,
            window_start=result.window_start,
            window_end=result.window_end,
            job_name=result.job_name,
            error=str(error),
        )
    publish()
    runs.update_claim(s3, claim, **_final(result, now))
    return result


def _describe(sagemaker: Any, name: str) -> _Ended | None:
    description = sagemaker.describe_processing_job(ProcessingJobName=name)
    status = description.get("ProcessingJobStatus")
    if status not in ENDED_STATUSES:
        return None
    outputs = description.get("ProcessingOutputConfig", {}).get("Outputs", [])
    uris = [item["S3Output"]["S3Uri"] for item in outputs if item.get("OutputName") == "reports"]
    if not uris:
        raise ValueError(f"processing job {name} has no 'reports' output: not a job of this function")
    return _Ended(name, str(status), str(description.get("FailureReason", "")), S3Location.parse(uris[0]))


def _start_or_adopt(sagemaker: Any, job: dict[str, Any]) -> bool:
    """Start the job; False when it exists already (adopted)."""
    try:
        sagemaker.create_processing_job(**job)
    except ClientError as error:
        # botocore's sagemaker model: CreateProcessingJob raises ResourceInUse for a name already taken; the job of
        # an earlier attempt at this folder, since the name is the folder's.
        if error.response.get("Error", {}).get("Code") != "ResourceInUse":
            raise
        return False
    return True


def _baseline_input(name: str, location: S3Location, local_path: str) -> dict[str, Any]:
    return {
        "InputName": name,
        "S3Input": {
            "S3Uri": location.uri,
            "LocalPath": local_path,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
        },
    }


def _read_json(s3: Any, location: S3Location) -> Any:
    found = get_json(s3, location)
    if found is None:
        raise ValueError(f"{location.uri}: no such object")
    return found[0]
