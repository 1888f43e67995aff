"""The existing-endpoint check against moto's SageMaker and KMS, through the handler's own entry point.

Each test deploys an endpoint the way another team's pipeline would (CreateModel, CreateEndpointConfig with or
without a DataCaptureConfig, CreateEndpoint), then runs the custom resource's Create on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from lambdas.existing_endpoint import handler
from lambdas.existing_endpoint.capture import CaptureCheckError

REGION = "eu-west-1"
ACCOUNT = "123456789012"
ENDPOINT = "churn-prod"
DESTINATION = "s3://team-captures/datacapture"


FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}


@pytest.fixture(scope="module")
def module_clients() -> Iterator[dict[str, Any]]:
    """The handler's clients, made by its own factories once per module, as once per Lambda container; the tests
    deploy their endpoints with them too. Each test made four (SageMaker's has hundreds of methods, built anew).

    moto intercepts every client once imported, also those created before ``mock_aws`` starts, and each test's
    ``mock_aws`` starts from empty state.
    """
    with pytest.MonkeyPatch.context() as patch:
        for name, value in FAKE_CREDENTIALS.items():
            patch.setenv(name, value)
        handler.sagemaker_client.cache_clear()
        handler.kms_client.cache_clear()
        yield {"sagemaker": handler.sagemaker_client(), "kms": handler.kms_client()}
    handler.sagemaker_client.cache_clear()
    handler.kms_client.cache_clear()


@pytest.fixture
def aws(module_clients: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(handler, "sagemaker_client", lambda: module_clients["sagemaker"])
    monkeypatch.setattr(handler, "kms_client", lambda: module_clients["kms"])
    with mock_aws():
        yield module_clients


def deploy_endpoint(sagemaker: Any, capture: dict[str, Any] | None, name: str = ENDPOINT) -> None:
    """What another pipeline deployed: a model, an endpoint config (with ``capture`` if given), the endpoint."""
    sagemaker.create_model(
        ModelName=f"{name}-model",
        ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/hosting",
        PrimaryContainer={"Image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/churn:1"},
    )
    config: dict[str, Any] = {
        "EndpointConfigName": f"{name}-config",
        "ProductionVariants": [
            {
                "VariantName": "Blue",
                "ModelName": f"{name}-model",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    }
    if capture is not None:
        config["DataCaptureConfig"] = capture
    sagemaker.create_endpoint_config(**config)
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")


def capture_config(*modes: str, kms_key_id: str | None = None, enable: bool | None = True) -> dict[str, Any]:
    config: dict[str, Any] = {
        "InitialSamplingPercentage": 20,
        "DestinationS3Uri": DESTINATION,
        "CaptureOptions": [{"CaptureMode": mode} for mode in modes],
    }
    if enable is not None:
        config["EnableCapture"] = enable
    if kms_key_id is not None:
        config["KmsKeyId"] = kms_key_id
    return config


def create(name: str = ENDPOINT) -> dict[str, Any]:
    event = {
        "RequestType": "Create",
        "ResourceProperties": {
            "ServiceToken": "arn:aws:lambda:eu-west-1:123456789012:function:p",
            "EndpointName": name,
        },
    }
    return handler.on_event(event, None)


def test_capture_on_answers_this_endpoints_folder_under_the_destination(aws: dict[str, Any]) -> None:
    deploy_endpoint(aws["sagemaker"], capture_config("Input", "Output"))
    response = create()
    assert response == {
        "PhysicalResourceId": ENDPOINT,
        "Data": {
            "EndpointName": ENDPOINT,
            "EndpointArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{ENDPOINT}",
            "EndpointConfigName": f"{ENDPOINT}-config",
            "VariantName": "Blue",
            "DestinationS3Uri": DESTINATION,
            # The destination, as DataCaptureEndpoint's capture_prefix means it ...
            "CaptureS3Uri": DESTINATION,
            "CaptureBucket": "team-captures",
            "CapturePrefix": "datacapture",
            # ... and this endpoint's folder: SageMaker writes <destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/,
            # so another endpoint writing to the same destination stays outside the exact grant.
            "EndpointCapturePrefix": f"datacapture/{ENDPOINT}",
            "KmsKeyArn": "",
            "DecryptKeyArn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/none",
        },
    }


@pytest.mark.parametrize("enable", [True, None], ids=["EnableCapture true", "EnableCapture left out"])
def test_input_and_output_in_one_mode_counts_as_inputs_captured(aws: dict[str, Any], enable: bool | None) -> None:
    deploy_endpoint(aws["sagemaker"], capture_config("InputAndOutput", enable=enable))
    assert create()["Data"]["EndpointCapturePrefix"] == f"datacapture/{ENDPOINT}"


def test_slashes_around_the_destination_key_are_dropped(aws: dict[str, Any]) -> None:
    deploy_endpoint(aws["sagemaker"], {**capture_config("Input"), "DestinationS3Uri": "s3://team-captures/a/b/"})
    data = create()["Data"]
    assert (data["CaptureS3Uri"], data["CapturePrefix"]) == ("s3://team-captures/a/b", "a/b")


@pytest.mark.parametrize("destination", ["s3://team-captures", "s3://team-captures/"])
def test_destination_at_the_bucket_root_fails_saying_what_to_set(aws: dict[str, Any], destination: str) -> None:
    deploy_endpoint(aws["sagemaker"], {**capture_config("Input"), "DestinationS3Uri": destination})
    with pytest.raises(CaptureCheckError, match=r"captures to the root of bucket team-captures .*s3://team-captures/"):
        create()


def test_capture_off_fails_the_deploy_with_one_line(aws: dict[str, Any]) -> None:
    deploy_endpoint(aws["sagemaker"], capture_config("Input", "Output", enable=False))
    with pytest.raises(CaptureCheckError, match=f"endpoint {ENDPOINT} does not capture data") as raised:
        create()
    assert "\n" not in str(raised.value)


def test_no_data_capture_config_at_all_is_capture_off(aws: dict[str, Any]) -> None:
    deploy_endpoint(aws["sagemaker"], capture=None)
    with pytest.raises(CaptureCheckError, match=f"endpoint {ENDPOINT} does not capture data .*{ENDPOINT}-config"):
        create()


def test_outputs_only_fails_because_inputs_are_not_captured(aws: dict[str, Any]) -> None:
    deploy_endpoint(aws["sagemaker"], capture_config("Output"))
    with pytest.raises(CaptureCheckError, match=r"does not capture its inputs .*\['Output'\].*add CaptureMode Input"):
        create()


def test_no_such_endpoint_fails_naming_it(aws: dict[str, Any]) -> None:
    with pytest.raises(CaptureCheckError, match="endpoint churn-typo does not exist in this account and Region"):
        create("churn-typo")


def test_key_arn_is_used_as_it_is(aws: dict[str, Any]) -> None:
    key_arn = aws["kms"].create_key()["KeyMetadata"]["Arn"]
    deploy_endpoint(aws["sagemaker"], capture_config("Input", kms_key_id=key_arn))
    data = create()["Data"]
    assert data["KmsKeyArn"] == data["DecryptKeyArn"] == key_arn


def test_key_id_becomes_the_key_arn_in_the_endpoints_account_and_region(aws: dict[str, Any]) -> None:
    key = aws["kms"].create_key()["KeyMetadata"]
    deploy_endpoint(aws["sagemaker"], capture_config("Input", kms_key_id=key["KeyId"]))
    assert create()["Data"]["KmsKeyArn"] == key["Arn"] == f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key['KeyId']}"


@pytest.mark.parametrize("form", ["alias name", "alias ARN"])
def test_alias_is_resolved_to_the_key_it_points_to(aws: dict[str, Any], form: str) -> None:
    """IAM authorizes kms:Decrypt against the key, never an alias: the grant must name the key ARN."""
    key = aws["kms"].create_key()["KeyMetadata"]
    aws["kms"].create_alias(AliasName="alias/team-captures", TargetKeyId=key["KeyId"])
    alias = "alias/team-captures" if form == "alias name" else f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/team-captures"
    deploy_endpoint(aws["sagemaker"], capture_config("Input", kms_key_id=alias))
    data = create()["Data"]
    assert data["KmsKeyArn"] == data["DecryptKeyArn"] == key["Arn"]


def test_alias_of_no_key_fails_naming_it(aws: dict[str, Any]) -> None:
    deploy_endpoint(aws["sagemaker"], capture_config("Input", kms_key_id="alias/deleted"))
    with pytest.raises(CaptureCheckError, match="KMS key alias/deleted, which does not exist"):
        create()
