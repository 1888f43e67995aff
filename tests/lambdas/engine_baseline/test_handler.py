"""The engine baseline custom resource through the lifecycle matrix of the Model Monitor one, under moto.

moto stores a processing job as Completed at once and never answers ResourceInUse, so running, failed and
racing jobs come from botocore's Stubber on the handler's SageMaker client; the CreateProcessingJob request is
read off the wire. The in-function path runs the real engine on the demo's baseline.csv in moto's S3.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.stub import Stubber
from moto import mock_aws

from drift_engine import build_baseline
from lambdas.baseline.baseline_job import BaselineJobFailedError, BaselineJobNotFoundError
from lambdas.baseline.request import InvalidPropertiesError
from lambdas.engine_baseline import handler
from lambdas.engine_baseline.engine_job import DATASET_LOCAL_PATH, OUTPUT_LOCAL_PATH

from ..baseline.support import BUCKET, DATASET_URI, KMS_KEY_ARN, OUTPUT_URI, ROLE_ARN, ApiCalls, FakeContext
from ..baseline.support import cfn_event as base_event
from ..baseline.support import properties as base_properties

IMAGE_URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/cdk-hnb659fds-container-assets:0123abcd"
BASELINE_CSV = Path(__file__).resolve().parents[3] / "demo" / "data" / "baseline.csv"
DESCRIBE, CREATE, STOP = (
    f"sagemaker:{name}" for name in ("DescribeProcessingJob", "CreateProcessingJob", "StopProcessingJob")
)


def properties(**overrides: str) -> dict[str, str]:
    return base_properties(**{"ImageUri": IMAGE_URI, "JobNamePrefix": "engine-baseline", **overrides})


def cfn_event(request_type: str, props: dict[str, str] | None = None, **kwargs: Any) -> dict[str, Any]:
    event = base_event(request_type, props if props is not None else properties(), **kwargs)
    event["ResourceType"] = "Custom::DriftEngineBaseline"
    return event


@pytest.fixture
def context() -> LambdaContext:
    return cast(LambdaContext, FakeContext())


def _fake_aws_environment(patch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        patch.delenv(name, raising=False)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
    }.items():
        patch.setenv(name, value)


@pytest.fixture(scope="module")
def module_clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[handler.AwsClients]:
    """The handler's clients, made by its own factory once per module, as once per Lambda container: a client is
    built anew each time (SageMaker's has hundreds of methods), and the tests here made a pair per test.

    moto intercepts every client once imported, also those created before ``mock_aws`` starts, and each test's
    ``mock_aws`` starts from empty state.
    """
    with pytest.MonkeyPatch.context() as patch:
        _fake_aws_environment(patch, tmp_path_factory.mktemp("aws"))
        handler.aws_clients.cache_clear()
        yield handler.aws_clients()
    handler.aws_clients.cache_clear()


@pytest.fixture
def aws(
    module_clients: handler.AwsClients, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[handler.AwsClients]:
    _fake_aws_environment(monkeypatch, tmp_path)
    monkeypatch.setattr(handler, "aws_clients", lambda: module_clients)
    with mock_aws():
        module_clients.s3.create_bucket(Bucket=BUCKET)
        module_clients.s3.put_object(
            Bucket=BUCKET, Key=DATASET_URI.split(f"{BUCKET}/")[1], Body=BASELINE_CSV.read_bytes()
        )
        yield module_clients


@pytest.fixture
def api_calls(aws: handler.AwsClients) -> Iterator[ApiCalls]:
    recorder = ApiCalls()
    aws.sagemaker.meta.events.register_first("before-call.*.*", recorder.record)
    yield recorder
    aws.sagemaker.meta.events.unregister("before-call.*.*", recorder.record)


@pytest.fixture
def stubber(aws: handler.AwsClients, api_calls: ApiCalls) -> Iterator[Stubber]:
    with Stubber(aws.sagemaker) as stub:
        yield stub
        stub.assert_no_pending_responses()


def _read_json(aws: handler.AwsClients, uri: str) -> Any:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return json.loads(aws.s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def _description(
    name: str, status: str, reason: str | None = None, age: timedelta = timedelta(minutes=5)
) -> dict[str, Any]:
    description: dict[str, Any] = {
        "ProcessingJobName": name,
        "ProcessingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:processing-job/{name}",
        "ProcessingJobStatus": status,
        "ProcessingResources": {
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}
        },
        "AppSpecification": {"ImageUri": IMAGE_URI},
        "RoleArn": ROLE_ARN,
        "CreationTime": datetime.now(UTC) - age,
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "monitoring_output",
                    "S3Output": {
                        "S3Uri": f"{OUTPUT_URI}/{name}",
                        "LocalPath": OUTPUT_LOCAL_PATH,
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
    }
    if reason is not None:
        description["FailureReason"] = reason
    return description


# --- small dataset: in the function --------------------------------------------------------------


def test_small_dataset_is_baselined_in_the_function(
    aws: handler.AwsClients, api_calls: ApiCalls, context: LambdaContext
) -> None:
    result = handler.on_event(cfn_event("Create"), context)

    job_name = result["PhysicalResourceId"]
    assert job_name.startswith("engine-baseline-")
    assert CREATE not in api_calls.names
    data = result["Data"]
    assert data == {
        "StatisticsUri": f"{OUTPUT_URI}/{job_name}/statistics.json",
        "ConstraintsUri": f"{OUTPUT_URI}/{job_name}/constraints.json",
        "JobName": job_name,
    }
    local = build_baseline([BASELINE_CSV], dataset_format="csv", header=True, workers=1)
    assert _read_json(aws, data["StatisticsUri"]) == json.loads(json.dumps(local.statistics))
    assert _read_json(aws, data["ConstraintsUri"]) == json.loads(json.dumps(local.constraints))
    # is_complete finds no job but the files, and reports the same attributes.
    assert handler.is_complete(cfn_event("Create", physical_id=job_name), context) == {"IsComplete": True, "Data": data}


def test_retried_create_gives_the_same_baseline(aws: handler.AwsClients, context: LambdaContext) -> None:
    first = handler.on_event(cfn_event("Create"), context)
    second = handler.on_event(cfn_event("Create"), context)

    assert first == second


def test_is_complete_without_job_or_files_fails(aws: handler.AwsClients, context: LambdaContext) -> None:
    with pytest.raises(BaselineJobNotFoundError, match="no processing job and no"):
        handler.is_complete(cfn_event("Create", physical_id="engine-baseline-0123456789abcdef"), context)


def test_an_empty_dataset_fails_the_create(aws: handler.AwsClients, context: LambdaContext) -> None:
    with pytest.raises(BaselineJobFailedError, match="holds no object"):
        handler.on_event(cfn_event("Create", properties(DatasetUri=f"s3://{BUCKET}/nothing/here.csv")), context)


# --- large dataset: a processing job -------------------------------------------------------------


def test_large_dataset_starts_a_processing_job_with_the_engine_image(
    aws: handler.AwsClients, api_calls: ApiCalls, context: LambdaContext
) -> None:
    props = properties(InFunctionMaxBytes="1000", KmsKeyArn=KMS_KEY_ARN, Header="false")

    job_name = handler.on_event(cfn_event("Create", props), context)["PhysicalResourceId"]

    assert api_calls.names == [DESCRIBE, CREATE]
    sent = api_calls.body("CreateProcessingJob")
    assert sent["AppSpecification"] == {
        "ImageUri": IMAGE_URI,
        "ContainerEntrypoint": [
            "python3", "-m", "drift_engine", "baseline", "--dataset", DATASET_LOCAL_PATH,
            "--format", "csv", "--no-header", "--output", OUTPUT_LOCAL_PATH,
        ],
    }  # fmt: skip
    assert sent["RoleArn"] == ROLE_ARN
    assert sent["ProcessingInputs"][0]["S3Input"]["S3Uri"] == DATASET_URI
    assert sent["ProcessingInputs"][0]["S3Input"]["S3DataType"] == "S3Prefix"
    assert sent["ProcessingOutputConfig"]["KmsKeyId"] == KMS_KEY_ARN
    assert sent["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] == f"{OUTPUT_URI}/{job_name}"
    assert sent["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == KMS_KEY_ARN
    # moto: Completed at once; is_complete reports the job's output like the Model Monitor resource.
    result = handler.is_complete(cfn_event("Create", props, physical_id=job_name), context)
    assert result["Data"]["StatisticsUri"] == f"{OUTPUT_URI}/{job_name}/statistics.json"


def test_retried_create_adopts_the_job(aws: handler.AwsClients, api_calls: ApiCalls, context: LambdaContext) -> None:
    props = properties(InFunctionMaxBytes="1000")
    first = handler.on_event(cfn_event("Create", props), context)
    second = handler.on_event(cfn_event("Create", props), context)

    assert first == second
    assert api_calls.names == [DESCRIBE, CREATE, DESCRIBE]


def test_resource_in_use_race_adopts(stubber: Stubber, api_calls: ApiCalls, context: LambdaContext) -> None:
    stubber.add_client_error("describe_processing_job", "ValidationException", "Could not find requested job")
    stubber.add_client_error("create_processing_job", "ResourceInUse", "already in use")

    result = handler.on_event(cfn_event("Create", properties(InFunctionMaxBytes="1000")), context)

    assert result["PhysicalResourceId"].startswith("engine-baseline-")
    assert api_calls.names == [DESCRIBE, CREATE]


@pytest.mark.parametrize("status", ["InProgress", "Stopping"])
def test_is_complete_waits_for_a_running_job(status: str, stubber: Stubber, context: LambdaContext) -> None:
    stubber.add_response("describe_processing_job", _description("job-1", status))
    stubber.add_response("describe_processing_job", _description("job-1", status))

    assert handler.is_complete(cfn_event("Create", physical_id="job-1"), context) == {"IsComplete": False}


def test_a_job_still_running_at_the_deadline_is_stopped_and_fails_with_why(
    stubber: Stubber, api_calls: ApiCalls, context: LambdaContext
) -> None:
    """The same deadline as Model Monitor's baseline (JOB_DEADLINE_SECONDS, 48 minutes): CloudFormation hears
    why before the Provider's 50 minutes and its own one-hour ServiceTimeout run out."""
    late = _description("job-1", "InProgress", age=timedelta(minutes=49))
    stubber.add_response("describe_processing_job", late)
    stubber.add_response("describe_processing_job", late)
    stubber.add_response("stop_processing_job", {}, {"ProcessingJobName": "job-1"})

    with pytest.raises(BaselineJobFailedError, match="was still InProgress 49 minutes after it was created"):
        handler.is_complete(cfn_event("Create", physical_id="job-1"), context)
    assert api_calls.names[-1] == STOP


@pytest.mark.parametrize("status", ["Failed", "Stopped"])
def test_a_failed_job_fails_the_stack_with_its_reason(status: str, stubber: Stubber, context: LambdaContext) -> None:
    stubber.add_response("describe_processing_job", _description("job-1", status, "ClientError: dataset unreadable"))
    stubber.add_response("describe_processing_job", _description("job-1", status, "ClientError: dataset unreadable"))

    with pytest.raises(BaselineJobFailedError, match=f"Baseline job job-1 {status}: ClientError: dataset unreadable"):
        handler.is_complete(cfn_event("Create", physical_id="job-1"), context)


# --- Update and Delete ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "new_baseline"),
    [
        ({}, False),
        ({"ImageUri": IMAGE_URI.replace("0123abcd", "feedbeef")}, False),  # a new engine image: same baseline
        ({"InFunctionMaxBytes": "1"}, False),
        ({"RoleArn": ROLE_ARN + "-2"}, False),
        ({"Header": "false"}, True),
        ({"OutputUri": f"s3://{BUCKET}/elsewhere"}, True),
    ],
)
def test_update_keeps_the_baseline_unless_it_changes(
    aws: handler.AwsClients, api_calls: ApiCalls, context: LambdaContext, change: dict[str, str], new_baseline: bool
) -> None:
    event = cfn_event(
        "Update", properties(**change), request_id="update-1", physical_id="old-job", old_props=properties()
    )

    result = handler.on_event(event, context)

    assert (result["PhysicalResourceId"] != "old-job") is new_baseline
    if not new_baseline:
        assert api_calls.names == []


def test_delete_stops_a_running_job_and_keeps_files(
    stubber: Stubber, api_calls: ApiCalls, context: LambdaContext
) -> None:
    stubber.add_response("describe_processing_job", _description("job-1", "InProgress"))
    stubber.add_response("stop_processing_job", {}, {"ProcessingJobName": "job-1"})

    assert handler.on_event(cfn_event("Delete", physical_id="job-1"), context) == {"PhysicalResourceId": "job-1"}
    assert api_calls.names == [DESCRIBE, STOP]
    assert handler.is_complete(cfn_event("Delete", physical_id="job-1"), context) == {"IsComplete": True}


def test_delete_of_an_in_function_baseline_touches_nothing(
    aws: handler.AwsClients, api_calls: ApiCalls, context: LambdaContext
) -> None:
    job_name = handler.on_event(cfn_event("Create"), context)["PhysicalResourceId"]
    statistics = f"{OUTPUT_URI}/{job_name}/statistics.json"

    handler.on_event(cfn_event("Delete", physical_id=job_name), context)

    assert api_calls.names == [DESCRIBE]  # no job to stop
    assert _read_json(aws, statistics)["dataset"]["item_count"] == 1000  # kept


def test_delete_after_a_failed_create_needs_no_job(
    stubber: Stubber, api_calls: ApiCalls, context: LambdaContext
) -> None:
    physical_id = "arn:aws:cloudformation:failed create"
    assert handler.on_event(cfn_event("Delete", physical_id=physical_id), context) == {
        "PhysicalResourceId": physical_id
    }
    assert api_calls.names == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ImageUri": "python:3.13"}, "ResourceProperties.ImageUri must be an ECR image URI"),
        ({"InFunctionMaxBytes": "a lot"}, "ResourceProperties.InFunctionMaxBytes must be a whole number"),
        ({"DatasetUri": "https://example.com/train.csv"}, "ResourceProperties.DatasetUri must be s3://"),
        ({"Unknown": "x"}, "ResourceProperties has unknown properties ['Unknown']"),
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
