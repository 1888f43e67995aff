"""The custom resource's lifecycle against moto, with the real sagemaker-core SDK starting the job.

moto 5.2.5 stores a processing job as "Completed" the moment it is created, keeps no
ProcessingResources or Environment, and never answers ResourceInUse (a second create overwrites).
So: the CreateProcessingJob request is read off the wire (its JSON body) and, for what moto keeps,
described back from moto; every other job status, throttling, the ResourceInUse race and
StopProcessingJob on a running job come from botocore's Stubber on the handler's SageMaker client.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from lambdas.baseline import handler
from lambdas.baseline.baseline_job import BaselineJobFailedError, BaselineJobNotFoundError, job_deadline_seconds
from lambdas.baseline.request import InvalidPropertiesError, derive_job_name

from .support import (
    BUCKET,
    DATASET_URI,
    KMS_KEY_ARN,
    OUTPUT_URI,
    ROLE_ARN,
    ApiCalls,
    cfn_event,
    properties,
)

DESCRIBE = "sagemaker:DescribeProcessingJob"
CREATE = "sagemaker:CreateProcessingJob"
STOP = "sagemaker:StopProcessingJob"

ANALYZER_ACCOUNTS = {"us-east-1": "156813124566", "us-west-2": "159807026194"}


@pytest.fixture
def stubber(aws: handler.AwsClients, api_calls: ApiCalls) -> Iterator[Stubber]:
    """Stubber on the handler's client, for what moto cannot do; nothing queued = no call allowed.

    Activated after the recorder, so the recorder still sees each call the Stubber answers.
    """
    with Stubber(aws.sagemaker) as stub:
        yield stub
        stub.assert_no_pending_responses()


def _create(context: LambdaContext, props: dict[str, str] | None = None) -> str:
    result = handler.on_event(cfn_event("Create", props), context)
    physical_id: str = result["PhysicalResourceId"]
    return physical_id


def _description(
    name: str,
    status: str,
    failure_reason: str | None = None,
    output_uri: str = OUTPUT_URI,
    age: timedelta = timedelta(minutes=5),
) -> dict[str, Any]:
    description: dict[str, Any] = {
        "ProcessingJobName": name,
        "ProcessingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:processing-job/{name}",
        "ProcessingJobStatus": status,
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}
        },
        "AppSpecification": {"ImageUri": "image"},
        "RoleArn": ROLE_ARN,
        "CreationTime": datetime.now(UTC) - age,
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "monitoring_output",
                    "S3Output": {
                        "S3Uri": output_uri,
                        "LocalPath": "/opt/ml/processing/output",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
    }
    if failure_reason is not None:
        description["FailureReason"] = failure_reason
    return description


def _not_found(stub: Stubber, name: str) -> None:
    stub.add_client_error(
        "describe_processing_job",
        service_error_code="ValidationException",
        service_message=f"Could not find requested job with name {name}",
        http_status_code=400,
        expected_params={"ProcessingJobName": name},
    )


# --- Create -------------------------------------------------------------------------------------


@pytest.mark.parametrize("region", sorted(ANALYZER_ACCOUNTS))
def test_create_starts_suggest_baseline_job(
    region: str, aws: handler.AwsClients, api_calls: ApiCalls, context: LambdaContext
) -> None:
    job_name = _create(context, properties(KmsKeyArn=KMS_KEY_ARN, MaxRuntimeInSeconds="1800"))

    # Only a describe (is there a job already?) and the create: no default bucket, STS or IAM.
    assert api_calls.names == [DESCRIBE, CREATE]
    assert job_name.startswith("mm-baseline-")
    sent = api_calls.body("CreateProcessingJob")
    image = f"{ANALYZER_ACCOUNTS[region]}.dkr.ecr.{region}.amazonaws.com/sagemaker-model-monitor-analyzer"
    assert sent["ProcessingJobName"] == job_name
    assert sent["AppSpecification"] == {"ImageUri": image}
    assert sent["RoleArn"] == ROLE_ARN
    assert sent["ProcessingResources"] == {
        "ClusterConfig": {
            "InstanceType": "ml.m5.xlarge",
            "InstanceCount": 1,
            "VolumeSizeInGB": 30,
            "VolumeKmsKeyId": KMS_KEY_ARN,
        }
    }
    assert sent["StoppingCondition"] == {"MaxRuntimeInSeconds": 1800}
    assert sent["Environment"] == {
        "dataset_format": json.dumps({"csv": {"header": True, "output_columns_position": "START"}}),
        "dataset_source": "/opt/ml/processing/input/baseline_dataset_input",
        "output_path": "/opt/ml/processing/output",
        "publish_cloudwatch_metrics": "Disabled",
    }

    # What moto stored, described back.
    described = aws.sagemaker.describe_processing_job(ProcessingJobName=job_name)
    assert described["AppSpecification"]["ImageUri"] == image
    assert described["ProcessingJobArn"].startswith(f"arn:aws:sagemaker:{region}:")
    [dataset_input] = described["ProcessingInputs"]
    assert dataset_input["InputName"] == "baseline_dataset_input"
    assert dataset_input["S3Input"]["S3Uri"] == DATASET_URI
    assert dataset_input["S3Input"]["LocalPath"] == "/opt/ml/processing/input/baseline_dataset_input"
    assert described["ProcessingOutputConfig"] == {
        "Outputs": [
            {
                "OutputName": "monitoring_output",
                "S3Output": {
                    "S3Uri": f"{OUTPUT_URI}/{job_name}",
                    "LocalPath": "/opt/ml/processing/output",
                    "S3UploadMode": "EndOfJob",
                },
            }
        ],
        "KmsKeyId": KMS_KEY_ARN,
    }


def test_create_without_kms_key_sends_no_key(
    aws: handler.AwsClients, api_calls: ApiCalls, context: LambdaContext
) -> None:
    _create(context, properties(InstanceType="ml.c5.xlarge", InstanceCount="2", VolumeSizeInGB="50"))

    sent = api_calls.body("CreateProcessingJob")
    assert sent["ProcessingResources"] == {
        "ClusterConfig": {"InstanceType": "ml.c5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 50}
    }
    assert "KmsKeyId" not in sent["ProcessingOutputConfig"]
    assert sent["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}


@pytest.mark.parametrize(
    ("overrides", "dataset_format"),
    [
        ({"Header": "false"}, {"csv": {"header": False, "output_columns_position": "START"}}),
        # The label in the last column: the analyzer reads the position from the job's dataset_format variable.
        ({"OutputColumnsPosition": "END"}, {"csv": {"header": True, "output_columns_position": "END"}}),
        ({"OutputColumnsPosition": "START"}, {"csv": {"header": True, "output_columns_position": "START"}}),
        ({"DatasetFormat": "jsonl", "DatasetUri": f"s3://{BUCKET}/train.jsonl"}, {"json": {"lines": True}}),
    ],
)
def test_create_passes_the_dataset_format(
    overrides: dict[str, str],
    dataset_format: dict[str, Any],
    aws: handler.AwsClients,
    api_calls: ApiCalls,
    context: LambdaContext,
) -> None:
    _create(context, properties(**overrides))

    assert json.loads(api_calls.body("CreateProcessingJob")["Environment"]["dataset_format"]) == dataset_format


def test_retried_create_adopts_the_running_job(
    aws: handler.AwsClients, api_calls: ApiCalls, context: LambdaContext
) -> None:
    first = _create(context)
    second = _create(context)  # same RequestId: a Lambda or Provider retry

    assert first == second
    assert api_calls.names == [DESCRIBE, CREATE, DESCRIBE]
    assert len(aws.sagemaker.list_processing_jobs()["ProcessingJobSummaries"]) == 1


def test_create_race_on_resource_in_use_adopts(stubber: Stubber, api_calls: ApiCalls, context: LambdaContext) -> None:
    # Stubber: moto never answers ResourceInUse, it overwrites the job.
    event = cfn_event("Create")
    name = derive_job_name(
        "mm-baseline",
        stack_id=event["StackId"],
        logical_resource_id=event["LogicalResourceId"],
        request_id=event["RequestId"],
    )
    _not_found(stubber, name)
    stubber.add_client_error(
        "create_processing_job",
        service_error_code="ResourceInUse",
        service_message=f"Job name {name} is already in use",
        http_status_code=400,
    )

    assert _create(context) == name
    assert api_calls.names == [DESCRIBE, CREATE]


def test_create_fails_on_other_create_errors(stubber: Stubber, context: LambdaContext) -> None:
    stubber.add_client_error("describe_processing_job", "ValidationException", "Could not find requested job")
    stubber.add_client_error("create_processing_job", "ResourceLimitExceeded", "ml.m5.xlarge quota is 0")

    with pytest.raises(ClientError, match=re.escape("ml.m5.xlarge quota is 0")):
        _create(context)


# --- Bad input: fails before any AWS call ------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"DatasetUri": "https://example.com/train.csv"}, "ResourceProperties.DatasetUri must be s3://"),
        ({"DatasetFormat": "parquet"}, "ResourceProperties.DatasetFormat must be one of"),
        ({"InstanceCount": "one"}, "ResourceProperties.InstanceCount must be a whole number"),
        ({"JobNamePrefix": "x" * 41}, "ResourceProperties.JobNamePrefix must be 1 to 40"),
    ],
)
@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_bad_input_fails_before_any_aws_call(
    request_type: str,
    overrides: dict[str, str],
    message: str,
    stubber: Stubber,
    api_calls: ApiCalls,
    context: LambdaContext,
) -> None:
    event = cfn_event(request_type, properties(**overrides), physical_id="old-job", old_props=properties())

    with pytest.raises(InvalidPropertiesError, match=re.escape(message)):
        handler.on_event(event, context)
    assert api_calls.names == []


def test_missing_required_property_fails_before_any_aws_call(
    stubber: Stubber, api_calls: ApiCalls, context: LambdaContext
) -> None:
    props = properties()
    del props["RoleArn"]

    with pytest.raises(InvalidPropertiesError, match=re.escape("ResourceProperties.RoleArn is required, got None")):
        handler.on_event(cfn_event("Create", props), context)
    assert api_calls.names == []


def test_unknown_request_type_is_an_error(stubber: Stubber, context: LambdaContext) -> None:
    with pytest.raises(ValueError, match="RequestType must be Create, Update or Delete, got 'Replace'"):
        handler.on_event(cfn_event("Replace"), context)


# --- is_complete ------------------------------------------------------------------------------------


def test_is_complete_returns_the_baseline_uris(aws: handler.AwsClients, context: LambdaContext) -> None:
    job_name = _create(context)  # moto: Completed at once

    result = handler.is_complete(cfn_event("Create", physical_id=job_name), context)

    assert result == {
        "IsComplete": True,
        "Data": {
            # Each job writes into a folder of its own under OutputUri.
            "StatisticsUri": f"{OUTPUT_URI}/{job_name}/statistics.json",
            "ConstraintsUri": f"{OUTPUT_URI}/{job_name}/constraints.json",
            "JobName": job_name,
        },
    }


def test_is_complete_takes_the_output_from_the_job(stubber: Stubber, context: LambdaContext) -> None:
    # Stubber: the job description, with a trailing slash the SDK would keep.
    stubber.add_response(
        "describe_processing_job", _description("job-1", "Completed", output_uri="s3://elsewhere/base/")
    )

    result = handler.is_complete(cfn_event("Create", physical_id="job-1"), context)

    assert result["Data"]["StatisticsUri"] == "s3://elsewhere/base/statistics.json"
    assert result["Data"]["ConstraintsUri"] == "s3://elsewhere/base/constraints.json"


@pytest.mark.parametrize("status", ["InProgress", "Stopping"])
def test_is_complete_waits_while_the_job_runs(status: str, stubber: Stubber, context: LambdaContext) -> None:
    # Stubber: moto cannot hold a job in a running status.
    stubber.add_response("describe_processing_job", _description("job-1", status), {"ProcessingJobName": "job-1"})

    assert handler.is_complete(cfn_event("Create", physical_id="job-1"), context) == {"IsComplete": False}


def test_is_complete_stops_a_job_still_running_at_the_deadline_and_says_why(
    stubber: Stubber, api_calls: ApiCalls, context: LambdaContext
) -> None:
    """48 minutes after its creation the job is stopped, and the stack fails with that reason before the
    Provider's 50-minute wait or CloudFormation's one-hour ServiceTimeout would fail it with a bare timeout."""
    # Stubber: moto cannot hold a job in InProgress, nor stop one.
    stubber.add_response(
        "describe_processing_job", _description("job-1", "InProgress", age=timedelta(minutes=48, seconds=30))
    )
    stubber.add_response("stop_processing_job", {}, {"ProcessingJobName": "job-1"})

    with pytest.raises(BaselineJobFailedError) as raised:
        handler.is_complete(cfn_event("Create", physical_id="job-1"), context)
    assert api_calls.names == [DESCRIBE, STOP]
    message = str(raised.value)
    assert message.startswith("Baseline job job-1 was still InProgress 48 minutes after it was created; stopped at ")
    assert "the 48-minute deadline" in message
    assert "\n" not in message


def test_is_complete_keeps_waiting_just_before_the_deadline(
    stubber: Stubber, api_calls: ApiCalls, context: LambdaContext
) -> None:
    stubber.add_response(
        "describe_processing_job", _description("job-1", "InProgress", age=timedelta(minutes=47, seconds=30))
    )

    assert handler.is_complete(cfn_event("Create", physical_id="job-1"), context) == {"IsComplete": False}
    assert api_calls.names == [DESCRIBE]


def test_is_complete_fails_a_job_still_stopping_at_the_deadline_without_stopping_it_again(
    stubber: Stubber, api_calls: ApiCalls, context: LambdaContext
) -> None:
    stubber.add_response("describe_processing_job", _description("job-1", "Stopping", age=timedelta(minutes=50)))

    with pytest.raises(BaselineJobFailedError, match="was still Stopping 50 minutes after it was created"):
        handler.is_complete(cfn_event("Create", physical_id="job-1"), context)
    assert api_calls.names == [DESCRIBE]


def test_is_complete_reads_the_deadline_the_construct_sets(
    stubber: Stubber, context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOB_DEADLINE_SECONDS", "600")
    stubber.add_response("describe_processing_job", _description("job-1", "InProgress", age=timedelta(minutes=11)))
    stubber.add_response("stop_processing_job", {}, {"ProcessingJobName": "job-1"})

    with pytest.raises(BaselineJobFailedError, match="the 10-minute deadline"):
        handler.is_complete(cfn_event("Create", physical_id="job-1"), context)


@pytest.mark.parametrize("raw", ["0", "-5", "48m", ""])
def test_a_malformed_deadline_is_refused(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOB_DEADLINE_SECONDS", raw)
    with pytest.raises(ValueError, match="JOB_DEADLINE_SECONDS must be a positive whole number of seconds"):
        job_deadline_seconds()


@pytest.mark.parametrize("status", ["Failed", "Stopped"])
def test_is_complete_fails_with_the_failure_reason(status: str, stubber: Stubber, context: LambdaContext) -> None:
    # Stubber: moto cannot fail a job or set its FailureReason.
    reason = "AlgorithmError: Error: Encoding mismatch: Encoding is utf-8 for 99.1% of the data"
    stubber.add_response("describe_processing_job", _description("job-1", status, failure_reason=reason))

    with pytest.raises(BaselineJobFailedError) as raised:
        handler.is_complete(cfn_event("Update", physical_id="job-1"), context)
    assert str(raised.value) == f"Baseline job job-1 {status}: {reason}"


@pytest.mark.parametrize("code", ["ThrottlingException", "Throttling"])
def test_is_complete_polls_again_when_throttled(code: str, stubber: Stubber, context: LambdaContext) -> None:
    # Stubber: moto has no throttling. A Stubber error skips botocore's retries, as if they were spent.
    stubber.add_client_error("describe_processing_job", code, "Rate exceeded", http_status_code=400)

    assert handler.is_complete(cfn_event("Create", physical_id="job-1"), context) == {"IsComplete": False}


def test_is_complete_fails_on_other_errors(stubber: Stubber, context: LambdaContext) -> None:
    stubber.add_client_error("describe_processing_job", "AccessDeniedException", "not authorized")

    with pytest.raises(ClientError, match="not authorized"):
        handler.is_complete(cfn_event("Create", physical_id="job-1"), context)


def test_is_complete_fails_when_the_job_does_not_exist(aws: handler.AwsClients, context: LambdaContext) -> None:
    with pytest.raises(BaselineJobNotFoundError, match="'never-started' does not exist"):
        handler.is_complete(cfn_event("Create", physical_id="never-started"), context)


def test_is_complete_for_delete_is_immediate(stubber: Stubber, api_calls: ApiCalls, context: LambdaContext) -> None:
    assert handler.is_complete(cfn_event("Delete", physical_id="job-1"), context) == {"IsComplete": True}
    assert api_calls.names == []


# --- Update -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    # One data and one infrastructure property; test_request covers every job-defining field.
    [{"DatasetUri": f"s3://{BUCKET}/training/v2.csv"}, {"KmsKeyArn": KMS_KEY_ARN}],
)
def test_update_with_job_defining_change_starts_a_new_job(
    change: dict[str, str], aws: handler.AwsClients, api_calls: ApiCalls, context: LambdaContext
) -> None:
    old_job = _create(context)
    event = cfn_event(
        "Update", properties(**change), request_id="9e0d-update", physical_id=old_job, old_props=properties()
    )

    new_job = handler.on_event(event, context)["PhysicalResourceId"]

    assert new_job != old_job
    assert new_job.startswith("mm-baseline-")
    assert api_calls.names == [DESCRIBE, CREATE, DESCRIBE, CREATE]
    jobs = {job["ProcessingJobName"] for job in aws.sagemaker.list_processing_jobs()["ProcessingJobSummaries"]}
    assert jobs == {old_job, new_job}  # the old one stays until CloudFormation's cleanup Delete
    result = handler.is_complete({**event, "PhysicalResourceId": new_job}, context)
    assert result["Data"]["JobName"] == new_job


@pytest.mark.parametrize(
    "change",
    [
        {"RoleArn": "arn:aws:iam::123456789012:role/rotated-role"},
        {"JobNamePrefix": "renamed-baseline", "InstanceType": "ml.m5.xlarge"},  # a default made explicit
    ],
)
def test_update_without_job_defining_change_keeps_the_baseline(
    change: dict[str, str], aws: handler.AwsClients, api_calls: ApiCalls, context: LambdaContext
) -> None:
    job = _create(context)
    event = cfn_event("Update", properties(**change), request_id="9e0d-update", physical_id=job, old_props=properties())

    assert handler.on_event(event, context) == {"PhysicalResourceId": job}
    assert api_calls.names == [DESCRIBE, CREATE]  # nothing new started
    # is_complete re-reads the existing job to hand the same Data back.
    assert handler.is_complete(event, context)["Data"]["StatisticsUri"] == f"{OUTPUT_URI}/{job}/statistics.json"


# --- Delete -----------------------------------------------------------------------------------------


def test_delete_stops_a_running_job(stubber: Stubber, api_calls: ApiCalls, context: LambdaContext) -> None:
    # Stubber: moto creates jobs Completed, so it has no running job to stop.
    stubber.add_response("describe_processing_job", _description("job-1", "InProgress"), {"ProcessingJobName": "job-1"})
    stubber.add_response("stop_processing_job", {}, {"ProcessingJobName": "job-1"})

    assert handler.on_event(cfn_event("Delete", physical_id="job-1"), context) == {"PhysicalResourceId": "job-1"}
    assert api_calls.names == [DESCRIBE, STOP]


def test_delete_tolerates_a_job_ending_before_the_stop(stubber: Stubber, context: LambdaContext) -> None:
    stubber.add_response("describe_processing_job", _description("job-1", "InProgress"))
    stubber.add_client_error("stop_processing_job", "ValidationException", "Job job-1 is in status Completed")

    assert handler.on_event(cfn_event("Delete", physical_id="job-1"), context) == {"PhysicalResourceId": "job-1"}


@pytest.mark.parametrize("status", ["Stopping", "Failed", "Stopped"])
def test_delete_leaves_ended_jobs_alone(
    status: str, stubber: Stubber, api_calls: ApiCalls, context: LambdaContext
) -> None:
    stubber.add_response("describe_processing_job", _description("job-1", status))

    handler.on_event(cfn_event("Delete", physical_id="job-1"), context)
    assert api_calls.names == [DESCRIBE]


def test_delete_of_a_completed_job_keeps_the_baseline_files(
    aws: handler.AwsClients, api_calls: ApiCalls, context: LambdaContext
) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="baselining/results/statistics.json", Body=b"{}")
    s3.put_object(Bucket=BUCKET, Key="baselining/results/constraints.json", Body=b"{}")
    job = _create(context)

    handler.on_event(cfn_event("Delete", physical_id=job), context)

    assert api_calls.names == [DESCRIBE, CREATE, DESCRIBE]  # no StopProcessingJob, no S3 delete
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert keys == {"baselining/results/statistics.json", "baselining/results/constraints.json"}


@pytest.mark.parametrize(
    "physical_id",
    ["AWSCDK::CustomResourceProviderFramework::CREATE_FAILED", "c6a3f2e4_create_request"],
)
def test_delete_of_a_physical_id_that_is_no_job_name_calls_nothing(
    physical_id: str, stubber: Stubber, api_calls: ApiCalls, context: LambdaContext
) -> None:
    assert handler.on_event(cfn_event("Delete", physical_id=physical_id), context) == {
        "PhysicalResourceId": physical_id
    }
    assert api_calls.names == []


def test_delete_of_a_job_that_never_started(
    aws: handler.AwsClients, api_calls: ApiCalls, context: LambdaContext
) -> None:
    result = handler.on_event(cfn_event("Delete", physical_id="mm-baseline-0000000000000000"), context)

    assert result == {"PhysicalResourceId": "mm-baseline-0000000000000000"}
    assert api_calls.names == [DESCRIBE]


def test_delete_ignores_bad_properties(aws: handler.AwsClients, context: LambdaContext) -> None:
    event = cfn_event("Delete", {"DatasetUri": "not-a-uri"}, physical_id="mm-baseline-0000000000000000")

    assert handler.on_event(event, context) == {"PhysicalResourceId": "mm-baseline-0000000000000000"}
