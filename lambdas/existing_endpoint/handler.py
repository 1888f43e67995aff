"""Entry point of the existing-endpoint check, called by a CDK ``custom_resources.Provider``.

Create and Update read where the endpoint captures (``capture.read_capture``) and hand it to CloudFormation as
the resource's attributes; a ``CaptureCheckError`` fails the deploy with its one-line message. Delete changes
nothing: the endpoint belongs to someone else and stays exactly as it is. The clients are made on first use
(not at import) and reused by warm invocations.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import Any, Final

import boto3
from botocore.config import Config

from .capture import EndpointCapture, read_capture

logger = logging.getLogger()
logger.setLevel(logging.INFO)

CLIENT_CONFIG: Final = Config(
    retries={"mode": "standard", "max_attempts": 5},
    user_agent_extra="sagemaker-model-monitor-as-code/existing-endpoint-check",
)


@functools.cache
def sagemaker_client() -> Any:
    return boto3.client("sagemaker", config=CLIENT_CONFIG)


@functools.cache
def kms_client() -> Any:
    return boto3.client("kms", config=CLIENT_CONFIG)


def on_event(event: Mapping[str, Any], _context: Any) -> dict[str, Any]:
    request_type = event.get("RequestType")
    if request_type == "Delete":
        logger.info("Delete of the check of %s: the endpoint is left as it is", event.get("PhysicalResourceId"))
        return {"PhysicalResourceId": event.get("PhysicalResourceId")}
    if request_type not in ("Create", "Update"):
        raise ValueError(f"RequestType must be Create, Update or Delete, got {request_type!r}")
    name = endpoint_name(event)
    capture = read_capture(sagemaker_client(), kms_client(), name)
    logger.info("endpoint %s captures to %s (key %s)", name, capture.capture_s3_uri, capture.kms_key_arn)
    # The endpoint's name is the physical id: renaming the endpoint in settings replaces the resource.
    return {"PhysicalResourceId": name, "Data": attributes(capture)}


def endpoint_name(event: Mapping[str, Any]) -> str:
    name = (event.get("ResourceProperties") or {}).get("EndpointName")
    if not isinstance(name, str) or not name:
        raise ValueError(f"ResourceProperties.EndpointName is required, got {name!r}")
    return name


def attributes(capture: EndpointCapture) -> dict[str, str]:
    """The custom resource's attributes (``Fn::GetAtt``); every value a string, as CloudFormation wants."""
    return {
        "EndpointName": capture.endpoint_name,
        "EndpointArn": capture.endpoint_arn,
        "EndpointConfigName": capture.endpoint_config_name,
        "VariantName": capture.variant_name,
        "DestinationS3Uri": capture.destination_s3_uri,
        "CaptureS3Uri": capture.capture_s3_uri,
        "CaptureBucket": capture.bucket,
        "CapturePrefix": capture.prefix,
        "EndpointCapturePrefix": capture.endpoint_prefix,
        "KmsKeyArn": capture.kms_key_arn or "",
        "DecryptKeyArn": capture.decrypt_key_arn,
    }
