"""The handler's requests and the answers moto cannot give, with botocore's Stubber on the real clients.

The Stubber checks each request against the SageMaker and KMS service models, so these tests also prove the
exact calls: DescribeEndpoint, DescribeEndpointConfig of the endpoint's current config, DescribeKey only for
an alias, and no call at all on Delete.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from lambdas.existing_endpoint import handler
from lambdas.existing_endpoint.capture import CaptureCheckError

ENDPOINT = "fraud-scorer"
CONFIG = "fraud-scorer-config-v7"
ARN = f"arn:aws-cn:sagemaker:cn-north-1:210987654321:endpoint/{ENDPOINT}"
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


class Stubs:
    def __init__(self, sagemaker: Stubber, kms: Stubber) -> None:
        self.sagemaker = sagemaker
        self.kms = kms

    def endpoint(self, summary: dict[str, Any] | None = None) -> None:
        """DescribeEndpoint; ``summary`` is its DataCaptureConfigSummary (every member required by the model)."""
        response: dict[str, Any] = {
            "EndpointName": ENDPOINT,
            "EndpointArn": ARN,
            "EndpointConfigName": CONFIG,
            "EndpointStatus": "InService",
            "CreationTime": NOW,
            "LastModifiedTime": NOW,
            "ProductionVariants": [{"VariantName": "AllTraffic"}, {"VariantName": "Shadow"}],
        }
        if summary is not None:
            response["DataCaptureConfig"] = summary
        self.sagemaker.add_response("describe_endpoint", response, {"EndpointName": ENDPOINT})

    def config(self, capture: dict[str, Any] | None) -> None:
        response: dict[str, Any] = {
            "EndpointConfigName": CONFIG,
            "EndpointConfigArn": f"arn:aws-cn:sagemaker:cn-north-1:210987654321:endpoint-config/{CONFIG}",
            "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "m"}],
            "CreationTime": NOW,
        }
        if capture is not None:
            response["DataCaptureConfig"] = capture
        self.sagemaker.add_response("describe_endpoint_config", response, {"EndpointConfigName": CONFIG})


@pytest.fixture(scope="module")
def clients() -> tuple[Any, Any]:
    """SageMaker and KMS clients for every test of the module (SageMaker's has hundreds of methods, built anew for
    each client); each test puts its own Stubbers on them."""
    credentials = {"region_name": "cn-north-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
    return boto3.client("sagemaker", **credentials), boto3.client("kms", **credentials)


@pytest.fixture
def stubs(clients: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubs]:
    sagemaker, kms = clients
    monkeypatch.setattr(handler, "sagemaker_client", lambda: sagemaker)
    monkeypatch.setattr(handler, "kms_client", lambda: kms)
    with Stubber(sagemaker) as sagemaker_stub, Stubber(kms) as kms_stub:
        yield Stubs(sagemaker_stub, kms_stub)
        sagemaker_stub.assert_no_pending_responses()
        kms_stub.assert_no_pending_responses()


def capture(key: str | None = None, modes: tuple[str, ...] = ("Input", "Output")) -> dict[str, Any]:
    config: dict[str, Any] = {
        "EnableCapture": True,
        "InitialSamplingPercentage": 5,
        "DestinationS3Uri": "s3://risk-data/capture/",
        "CaptureOptions": [{"CaptureMode": mode} for mode in modes],
    }
    if key:
        config["KmsKeyId"] = key
    return config


def summary(*, enable: bool) -> dict[str, Any]:
    return {
        "EnableCapture": enable,
        "CaptureStatus": "Started" if enable else "Stopped",
        "CurrentSamplingPercentage": 5,
        "DestinationS3Uri": "s3://risk-data/capture/",
        "KmsKeyId": "",
    }


def event(request_type: str, **properties: str) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "PhysicalResourceId": ENDPOINT,
        "ResourceProperties": {"ServiceToken": "arn:aws-cn:lambda:cn-north-1:210987654321:function:p", **properties},
    }


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_create_and_update_read_the_endpoints_current_config(stubs: Stubs, request_type: str) -> None:
    stubs.endpoint(summary=summary(enable=True))
    stubs.config(capture())
    data = handler.on_event(event(request_type, EndpointName=ENDPOINT), None)["Data"]
    assert (data["CaptureS3Uri"], data["EndpointCapturePrefix"]) == ("s3://risk-data/capture", f"capture/{ENDPOINT}")
    assert data["VariantName"] == "AllTraffic"
    # The partition comes from the endpoint's ARN: a key-less grant in China names an aws-cn ARN.
    assert data["DecryptKeyArn"] == "arn:aws-cn:kms:cn-north-1:210987654321:key/none"


def test_delete_changes_nothing_and_calls_nothing(stubs: Stubs) -> None:
    assert handler.on_event(event("Delete", EndpointName=ENDPOINT), None) == {"PhysicalResourceId": ENDPOINT}


def test_delete_with_bad_properties_still_succeeds(stubs: Stubs) -> None:
    assert handler.on_event(event("Delete"), None) == {"PhysicalResourceId": ENDPOINT}


def test_missing_endpoint_name_fails_before_any_call(stubs: Stubs) -> None:
    with pytest.raises(ValueError, match="EndpointName is required"):
        handler.on_event(event("Create"), None)


def test_endpoint_summary_with_capture_disabled_is_capture_off(stubs: Stubs) -> None:
    stubs.endpoint(summary=summary(enable=False))
    stubs.config(capture())
    with pytest.raises(CaptureCheckError, match=f"endpoint {ENDPOINT} does not capture data"):
        handler.on_event(event("Create", EndpointName=ENDPOINT), None)


def test_no_such_endpoint(stubs: Stubs) -> None:
    stubs.sagemaker.add_client_error(
        "describe_endpoint",
        service_error_code="ValidationException",
        service_message=f'Could not find endpoint "{ARN}".',
        expected_params={"EndpointName": ENDPOINT},
    )
    with pytest.raises(CaptureCheckError, match=f"endpoint {ENDPOINT} does not exist"):
        handler.on_event(event("Create", EndpointName=ENDPOINT), None)


def test_deleted_endpoint_config_fails_with_what_to_do(stubs: Stubs) -> None:
    stubs.endpoint()
    stubs.sagemaker.add_client_error(
        "describe_endpoint_config",
        service_error_code="ValidationException",
        service_message=f'Could not find endpoint configuration "{CONFIG}".',
    )
    with pytest.raises(CaptureCheckError, match=f"endpoint config {CONFIG}, which has been deleted"):
        handler.on_event(event("Create", EndpointName=ENDPOINT), None)


def test_other_validation_errors_and_access_denied_are_not_disguised(stubs: Stubs) -> None:
    stubs.sagemaker.add_client_error("describe_endpoint", service_error_code="AccessDeniedException")
    with pytest.raises(ClientError, match="AccessDenied"):
        handler.on_event(event("Create", EndpointName=ENDPOINT), None)


def test_alias_is_resolved_with_describe_key(stubs: Stubs) -> None:
    stubs.endpoint()
    stubs.config(capture(key="alias/risk-captures"))
    key_arn = "arn:aws-cn:kms:cn-north-1:210987654321:key/mrk-1234abcd12ab34cd56ef1234567890ab"
    stubs.kms.add_response(
        "describe_key", {"KeyMetadata": {"KeyId": "mrk-1234", "Arn": key_arn}}, {"KeyId": "alias/risk-captures"}
    )
    data = handler.on_event(event("Create", EndpointName=ENDPOINT), None)["Data"]
    assert data["KmsKeyArn"] == data["DecryptKeyArn"] == key_arn


def test_key_id_needs_no_kms_call(stubs: Stubs) -> None:
    stubs.endpoint()
    stubs.config(capture(key="1234abcd-12ab-34cd-56ef-1234567890ab"))
    data = handler.on_event(event("Create", EndpointName=ENDPOINT), None)["Data"]
    assert data["KmsKeyArn"] == "arn:aws-cn:kms:cn-north-1:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_an_arn_of_something_else_is_no_key(stubs: Stubs) -> None:
    stubs.endpoint()
    stubs.config(capture(key="arn:aws-cn:s3:::risk-data"))
    with pytest.raises(CaptureCheckError, match="no KMS key or alias ARN"):
        handler.on_event(event("Create", EndpointName=ENDPOINT), None)


def test_unknown_request_type(stubs: Stubs) -> None:
    with pytest.raises(ValueError, match="RequestType must be"):
        handler.on_event(event("Rollback", EndpointName=ENDPOINT), None)
