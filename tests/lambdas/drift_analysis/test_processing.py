"""``builtin_runtime: processing`` through the function's real entry point: S3 and CloudWatch under moto, the
SageMaker calls on botocore's Stubber (the CreateProcessingJob request is checked field by field).

The job itself is played by the engine's CLI on the arguments the function gave the job: the baseline inputs
downloaded as SageMaker would, the capture folders read from (moto's) S3, the output folder uploaded to the
report folder. Its Spark path runs the same arguments in tests/drift_engine/test_spark.py.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from drift_engine.cli import main as engine_cli
from lambdas.drift_analysis import config, handler, processing
from lambdas.violation_metric.violations import parse_monitored_features, parse_violations, summarize

from .conftest import BUCKET, CAPTURE_BUCKET, ENDPOINT, REPORTS, SCHEDULED, Aws, Output, invoke

EVENT = {"scheduledTime": SCHEDULED, "executionId": "d32c5kddcf5bb8c3", "attemptNumber": "1"}
PREFIX = "modelmonitor-test-driftanalysis-0a1b2c3d"
JOB_SETTINGS = {
    "job_name_prefix": PREFIX,
    "image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/cdk-assets:0123",
    "role_arn": "arn:aws:iam::123456789012:role/DriftAnalysisJobRole",
    "instance_type": "ml.m5.xlarge",
    "instance_count": 2,
    "volume_size_gb": 20,
    "max_runtime_seconds": 3600,
    "kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    "network": {"EnableInterContainerTrafficEncryption": True, "EnableNetworkIsolation": False},
}
JOB_ARN = "arn:aws:sagemaker:us-east-1:123456789012:processing-job/"
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")


@pytest.fixture(autouse=True)
def processing_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(config.ENV_PROCESSING_JOB, json.dumps(JOB_SETTINGS))


class SageMaker:
    """The Stubber, and every CreateProcessingJob request as the handler sent it."""

    def __init__(self, stub: Stubber) -> None:
        self.stub = stub
        self.created: list[dict[str, Any]] = []

    def will_create(self, error: str | None = None) -> None:
        if error:
            self.stub.add_client_error("create_processing_job", service_error_code=error, http_status_code=400)
        else:
            self.stub.add_response("create_processing_job", {"ProcessingJobArn": f"{JOB_ARN}job"})

    def will_describe(self, job: dict[str, Any], status: str, reason: str | None = None) -> None:
        response = {
            "ProcessingJobName": job["ProcessingJobName"],
            "ProcessingJobArn": f"{JOB_ARN}{job['ProcessingJobName']}",
            "ProcessingJobStatus": status,
            "ProcessingResources": job["ProcessingResources"],
            "AppSpecification": job["AppSpecification"],
            "ProcessingOutputConfig": job["ProcessingOutputConfig"],
            "CreationTime": "2024-06-11T14:00:05Z",
        }
        if reason:
            response["FailureReason"] = reason
        self.stub.add_response(
            "describe_processing_job", response, expected_params={"ProcessingJobName": job["ProcessingJobName"]}
        )


@pytest.fixture
def sagemaker(aws: Aws) -> Iterator[SageMaker]:
    client = handler.aws_clients().sagemaker
    recorder = SageMaker(Stubber(client))

    def record(params: dict[str, Any], **_: Any) -> None:
        recorder.created.append(json.loads(json.dumps(params)))

    client.meta.events.register("provide-client-params.sagemaker.CreateProcessingJob", record)
    with recorder.stub:
        yield recorder
        recorder.stub.assert_no_pending_responses()
    client.meta.events.unregister("provide-client-params.sagemaker.CreateProcessingJob", record)


def job_event(name: str, status: str) -> dict[str, Any]:
    """EventBridge's event for a Processing job's end (its detail carries the job's description)."""
    return {
        "version": "0",
        "id": "7e3c9a1b-0000-4000-8000-000000000000",
        "detail-type": processing.JOB_STATE_CHANGE,
        "source": "aws.sagemaker",
        "account": "123456789012",
        "time": "2024-06-11T14:09:00Z",
        "region": "us-east-1",
        "resources": [f"{JOB_ARN}{name}"],
        "detail": {"ProcessingJobName": name, "ProcessingJobStatus": status},
    }


def run_the_job(aws: Aws, job: dict[str, Any], tmp_path: Path) -> None:
    """What the job does: its inputs downloaded, the engine run on its arguments, its output uploaded."""
    replaced: dict[str, str] = {}
    for item in job["ProcessingInputs"]:
        source = item["S3Input"]["S3Uri"].removeprefix(f"s3://{BUCKET}/")
        local = tmp_path / item["S3Input"]["LocalPath"].lstrip("/")
        local.mkdir(parents=True)
        (local / source.rsplit("/", 1)[-1]).write_bytes(aws.s3.get_object(Bucket=BUCKET, Key=source)["Body"].read())
        replaced[item["S3Input"]["LocalPath"]] = str(local)
    (output,) = job["ProcessingOutputConfig"]["Outputs"]
    out = tmp_path / "output"
    replaced[output["S3Output"]["LocalPath"]] = str(out)
    entrypoint = job["AppSpecification"]["ContainerEntrypoint"]
    assert entrypoint[:2] == [processing.SPARK_SUBMIT, processing.SPARK_APPLICATION]
    arguments = []
    for argument in entrypoint[2:]:
        for container_path, local_path in replaced.items():
            argument = argument.replace(container_path, local_path)
        arguments.append(argument)
    assert engine_cli(arguments, stdout=io.StringIO(), stderr=io.StringIO(), s3_client=aws.s3) == 0
    folder = output["S3Output"]["S3Uri"].removeprefix(f"s3://{BUCKET}/")
    for path in out.iterdir():
        aws.put(BUCKET, f"{folder}/{path.name}", path.read_bytes())


def test_a_scheduled_hour_starts_one_job_for_it(
    aws: Aws, sagemaker: SageMaker, drifted_hour: dict[str, bytes], output: Callable[[], Output]
) -> None:
    aws.capture(drifted_hour)
    sagemaker.will_create()

    result = invoke(EVENT)

    assert result["status"] == "analyzing"
    (job,) = sagemaker.created
    name = job["ProcessingJobName"]
    assert result["job_name"] == name
    assert name.startswith(f"{PREFIX}-2024061114-") and len(name) <= 63
    assert job["RoleArn"] == JOB_SETTINGS["role_arn"]
    assert job["ProcessingResources"]["ClusterConfig"] == {
        "InstanceCount": 2,
        "InstanceType": "ml.m5.xlarge",
        "VolumeSizeInGB": 20,
        "VolumeKmsKeyId": JOB_SETTINGS["kms_key_arn"],
    }
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    assert job["NetworkConfig"] == JOB_SETTINGS["network"]
    assert job["ProcessingOutputConfig"] == {
        "Outputs": [
            {
                "OutputName": "reports",
                "S3Output": {
                    "S3Uri": f"s3://{BUCKET}/{REPORTS}",
                    "LocalPath": "/opt/ml/processing/output",
                    "S3UploadMode": "EndOfJob",
                },
            }
        ],
        "KmsKeyId": JOB_SETTINGS["kms_key_arn"],
    }
    assert [item["S3Input"]["S3Uri"] for item in job["ProcessingInputs"]] == [
        f"s3://{BUCKET}/baseline/statistics.json",
        f"s3://{BUCKET}/baseline/constraints.json",
    ]
    entrypoint = job["AppSpecification"]["ContainerEntrypoint"]
    assert job["AppSpecification"]["ImageUri"] == JOB_SETTINGS["image_uri"]
    # Only the hour's capture folder (the demo's variant), and the window of the scheduled hour.
    folders = entrypoint[entrypoint.index("--capture") + 1 : entrypoint.index("--baseline-statistics")]
    assert folders == [f"s3://{CAPTURE_BUCKET}/capture/{ENDPOINT}/AllTraffic/2024/06/11/13/"]
    assert entrypoint[entrypoint.index("--start") + 1 :][:3] == [
        "2024-06-11T13:00:00Z",
        "--end",
        "2024-06-11T14:00:00Z",
    ]
    assert "--summary" in entrypoint
    run = aws.json(f"{REPORTS}/run.json")
    assert (run["status"], run["job_name"]) == ("analyzing", name)
    assert output().values() == {}  # nothing published before the job ends


def test_completed_job_publishes_what_the_function_runtime_publishes(
    aws: Aws,
    sagemaker: SageMaker,
    drifted_hour: dict[str, bytes],
    output: Callable[[], Output],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    aws.capture(drifted_hour)
    # The function runtime on the same hour, for reference; then its reports are removed.
    monkeypatch.delenv(config.ENV_PROCESSING_JOB)
    reference = invoke(EVENT)
    reference_values = output().values()
    reference_metrics = aws.feature_metric_names()
    for key in aws.keys(REPORTS):
        aws.s3.delete_object(Bucket=BUCKET, Key=key)
    monkeypatch.setenv(config.ENV_PROCESSING_JOB, json.dumps(JOB_SETTINGS))
    sagemaker.will_create()
    invoke(EVENT, request_id="request-2")
    (job,) = sagemaker.created
    run_the_job(aws, job, tmp_path)
    sagemaker.will_describe(job, "Completed")
    output()  # what the start printed

    result = invoke(job_event(job["ProcessingJobName"], "Completed"), request_id="request-3")

    assert result["status"] == "completed"
    assert result["job_name"] == job["ProcessingJobName"]
    for key in ("analyzed_records", "malformed_records", "violations", "violation_percentage"):
        assert result[key] == reference[key], key
    assert output().values() == reference_values
    assert reference_values["ViolationPercentage"] > 50
    assert aws.feature_metric_names() == reference_metrics
    # The percentage is what the violation-metric function computes from the job's own files.
    violations = parse_violations(json.dumps(aws.json(f"{REPORTS}/constraint_violations.json")))
    constraints = aws.s3.get_object(Bucket=BUCKET, Key="baseline/constraints.json")["Body"].read()
    assert (
        result["violation_percentage"]
        == summarize(violations, parse_monitored_features(constraints)).violation_percentage
    )
    assert aws.json(f"{REPORTS}/statistics.json")["dataset"]["item_count"] == 3600
    assert aws.json(f"{REPORTS}/run.json")["status"] == "completed"


def test_a_repeated_job_event_publishes_nothing(
    aws: Aws, sagemaker: SageMaker, steady_hour: dict[str, bytes], output: Callable[[], Output], tmp_path: Path
) -> None:
    aws.capture(steady_hour)
    sagemaker.will_create()
    invoke(EVENT)
    (job,) = sagemaker.created
    run_the_job(aws, job, tmp_path)
    sagemaker.will_describe(job, "Completed")
    sagemaker.will_describe(job, "Completed")
    event = job_event(job["ProcessingJobName"], "Completed")
    output()

    first = invoke(event, request_id="request-2")
    assert first["status"] == "completed" and first["violation_percentage"] == 0
    assert output().values()["ViolationPercentage"] == 0
    finished = aws.json(f"{REPORTS}/run.json")

    again = invoke(event, request_id="request-3")

    assert again["status"] == "duplicate"
    assert output().values() == {}
    assert aws.json(f"{REPORTS}/run.json") == finished


def test_a_failed_job_is_execution_failed_with_its_reason_in_one_line(
    aws: Aws, sagemaker: SageMaker, steady_hour: dict[str, bytes], output: Callable[[], Output]
) -> None:
    aws.capture(steady_hour)
    sagemaker.will_create()
    invoke(EVENT)
    (job,) = sagemaker.created
    reason = "AlgorithmError: See job logs for more information"
    sagemaker.will_describe(job, "Failed", reason)
    output()

    result = invoke(job_event(job["ProcessingJobName"], "Failed"), request_id="request-2")

    assert result["status"] == "failed"
    printed = output()
    assert printed.values() == {"ExecutionFailed": 1}
    (error,) = [record for record in printed.logs if record["level"] == "ERROR"]
    assert error["message"] == f"Drift analysis failed: processing job {job['ProcessingJobName']} Failed: {reason}"
    run = aws.json(f"{REPORTS}/run.json")
    assert run["status"] == "failed" and reason in run["error"]
    assert aws.feature_metric_names() == set()


def test_an_hour_without_capture_starts_no_job(aws: Aws, sagemaker: SageMaker, output: Callable[[], Output]) -> None:
    result = invoke(EVENT)  # the Stubber has no response queued: a CreateProcessingJob call would fail the test

    assert result["status"] == "no-data"
    assert sagemaker.created == []
    assert output().values() == {
        "NoCapturedData": 1,
        "AnalyzedRecords": 0,
        "MalformedCaptureRecords": 0,
        "ExecutionFailed": 0,
    }
    assert aws.json(f"{REPORTS}/run.json")["status"] == "no-data"


def test_a_missing_baseline_fails_before_any_job(
    aws: Aws, sagemaker: SageMaker, steady_hour: dict[str, bytes], output: Callable[[], Output]
) -> None:
    aws.capture(steady_hour)
    aws.s3.delete_object(Bucket=BUCKET, Key="baseline/statistics.json")

    result = invoke(EVENT)

    assert result["status"] == "failed"
    assert sagemaker.created == []
    assert output().values() == {"ExecutionFailed": 1}


def test_retries_of_the_schedule_never_start_a_second_job(
    aws: Aws, sagemaker: SageMaker, steady_hour: dict[str, bytes]
) -> None:
    aws.capture(steady_hour)
    sagemaker.will_create()
    invoke(EVENT)

    again = invoke(EVENT, request_id="request-2")  # no CreateProcessingJob response queued

    assert again["status"] == "duplicate"
    assert len(sagemaker.created) == 1


def test_a_retry_after_an_error_adopts_the_job_an_earlier_attempt_started(
    aws: Aws, sagemaker: SageMaker, steady_hour: dict[str, bytes]
) -> None:
    """The first attempt started the job, then failed before recording it; its retry meets ResourceInUse."""
    aws.capture(steady_hour)
    sagemaker.will_create(error="ThrottlingException")
    with pytest.raises(Exception, match="ThrottlingException"):
        invoke(EVENT)
    assert aws.json(f"{REPORTS}/run.json")["status"] == "error"
    sagemaker.will_create(error="ResourceInUse")
    sagemaker.will_describe(sagemaker.created[0], "InProgress")

    result = invoke(EVENT, request_id="request-2")

    assert result["status"] == "analyzing"
    first, second = sagemaker.created
    assert first == second  # the same name: the job of the hour
    run = aws.json(f"{REPORTS}/run.json")
    assert (run["status"], run["job_name"], run["attempt_id"]) == ("analyzing", first["ProcessingJobName"], "request-2")


def test_an_adopted_job_that_already_ended_is_finished_by_the_retry(
    aws: Aws, sagemaker: SageMaker, steady_hour: dict[str, bytes], output: Callable[[], Output], tmp_path: Path
) -> None:
    """Its end event came while the claim was 'error' (nothing to finish then); the retry that adopts it publishes."""
    aws.capture(steady_hour)
    sagemaker.will_create(error="ThrottlingException")
    with pytest.raises(Exception, match="ThrottlingException"):
        invoke(EVENT)
    (job,) = sagemaker.created
    run_the_job(aws, job, tmp_path)
    sagemaker.will_describe(job, "Completed")
    early = invoke(job_event(job["ProcessingJobName"], "Completed"), request_id="request-2")
    assert early["status"] == "duplicate"
    assert output().values() == {}
    sagemaker.will_create(error="ResourceInUse")
    sagemaker.will_describe(job, "Completed")

    result = invoke(EVENT, request_id="request-3")

    assert result["status"] == "completed" and result["analyzed_records"] == 3600
    assert output().values()["ViolationPercentage"] == 0
    assert aws.json(f"{REPORTS}/run.json")["status"] == "completed"


def test_events_of_other_jobs_are_ignored(aws: Aws, sagemaker: SageMaker, output: Callable[[], Output]) -> None:
    result = invoke(job_event("another-stage-driftanalysis-2024061114-0a1b2c3d", "Completed"))

    assert result == {"status": "ignored"}
    assert output().values() == {}
