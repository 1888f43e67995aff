"""Where an endpoint deployed elsewhere captures its data, read from the endpoint and its configuration.

Monitoring an endpoint this app did not deploy must not change it, so nothing here writes: the check reads
``DescribeEndpoint`` and ``DescribeEndpointConfig`` and either answers the capture destination and key, or
raises ``CaptureCheckError`` with one line that says what is wrong and what to do. CloudFormation shows that
line as the reason the custom resource failed, so a team learns at deploy time, not from an empty monitoring
execution hours later, that the endpoint does not exist, captures nothing, or captures no inputs.

SageMaker writes each capture object to ``<DestinationS3Uri>/<endpoint name>/<variant>/yyyy/mm/dd/hh/<file>.jsonl``
(AWS documentation, "Capture data from real-time endpoint"). Two prefixes are answered: the destination's key
(``prefix``, the same meaning as ``DataCaptureEndpoint.capture_prefix``, which the monitoring code extends with
the endpoint's name), and this endpoint's own folder under it (``endpoint_prefix``): the destination is often
shared by several endpoints, and the exact grants stay on the folder. A destination at the root of its bucket
is refused: every consumer of a capture location here takes a key prefix (``DataCaptureEndpoint`` refuses an
empty one too).

The key: ``DataCaptureConfig.KmsKeyId`` may be a key ID, a key ARN, an alias name or an alias ARN (SageMaker
API reference, ``DataCaptureConfig``). An IAM policy can name a KMS key only by its key ARN: KMS authorizes
``kms:Decrypt`` against the key, never against an alias. So a key ID becomes the key ARN in the endpoint's
account and Region, and an alias (name or ARN) is resolved with ``kms:DescribeKey`` to the key it points to
now. An alias later pointed at another key is seen on the next deploy of the check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from botocore.exceptions import ClientError

#: Capture modes that record the request (``CaptureMode`` enum of the SageMaker API: Input, Output,
#: InputAndOutput). Data-quality monitoring analyzes the inputs, so one of these must be on.
INPUT_MODES: Final = frozenset({"Input", "InputAndOutput"})

#: The key ID of ``EndpointCapture.decrypt_key_arn`` when the capture configuration names no KMS key.
NO_KEY_ID: Final = "none"

_ARN = re.compile(
    r"^arn:(?P<partition>[^:]+):(?P<service>[^:]+):(?P<region>[^:]*):(?P<account>[^:]*):(?P<resource>.+)$"
)
_S3_URI = re.compile(r"^(?:s3|https)://(?P<bucket>[^/]+)/?(?P<key>.*)$")


class CaptureCheckError(Exception):
    """The endpoint cannot be monitored as it is; the message is one line, for the stack's events."""


@dataclass(frozen=True)
class EndpointCapture:
    """Where one endpoint's captured data lies and which key, if any, encrypts it."""

    endpoint_name: str
    endpoint_arn: str
    endpoint_config_name: str
    #: The first production variant: the one the dashboard and the health alarms watch by default.
    variant_name: str
    #: ``DataCaptureConfig.DestinationS3Uri`` as configured (shared by every endpoint that writes there).
    destination_s3_uri: str
    bucket: str
    #: The destination's key, without slashes at either end; SageMaker adds ``/<endpoint name>/<variant>/...``.
    prefix: str
    #: The key ARN of ``DataCaptureConfig.KmsKeyId``, or None when the configuration names no key.
    kms_key_arn: str | None

    @property
    def capture_s3_uri(self) -> str:
        """The destination, normalized: ``s3://<bucket>/<prefix>``."""
        return f"s3://{self.bucket}/{self.prefix}"

    @property
    def endpoint_prefix(self) -> str:
        """This endpoint's folder under the destination, without a trailing slash: ``<prefix>/<endpoint name>``."""
        return f"{self.prefix}/{self.endpoint_name}"

    @property
    def decrypt_key_arn(self) -> str:
        """The resource of the ``kms:Decrypt`` grant: the key ARN, or one that matches no key when there is none.

        An IAM statement cannot be left out on a value known only at deploy time (CloudFormation conditions
        read parameters, never ``Fn::GetAtt``), so the grant always names a key ARN. KMS key IDs are UUIDs
        (``mrk-`` and hex for multi-Region keys), so ``key/none`` names no key and the statement grants nothing.
        """
        if self.kms_key_arn:
            return self.kms_key_arn
        endpoint = _Arn.parse(self.endpoint_arn)
        if endpoint is None:
            raise ValueError(f"DescribeEndpoint returned an EndpointArn that is no ARN: {self.endpoint_arn!r}")
        return f"arn:{endpoint.partition}:kms:{endpoint.region}:{endpoint.account}:key/{NO_KEY_ID}"


@dataclass(frozen=True)
class _Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str

    @classmethod
    def parse(cls, arn: str) -> _Arn | None:
        match = _ARN.fullmatch(arn)
        return cls(**match.groupdict()) if match else None


def read_capture(sagemaker: Any, kms: Any, endpoint_name: str) -> EndpointCapture:
    """The capture destination and key of ``endpoint_name``, or ``CaptureCheckError`` saying why not.

    ``sagemaker`` and ``kms`` are boto3 clients; ``kms`` is used only when the key is named by an alias.
    """
    endpoint = _describe_endpoint(sagemaker, endpoint_name)
    config_name = endpoint["EndpointConfigName"]
    config = _describe_endpoint_config(sagemaker, endpoint_name, config_name)
    capture = config.get("DataCaptureConfig")
    summary = endpoint.get("DataCaptureConfig") or {}
    # EnableCapture is optional and "defaults to enabled" (API reference, DataCaptureConfig); the endpoint's
    # summary of its active capture configuration carries the same flag.
    if not capture or capture.get("EnableCapture") is False or summary.get("EnableCapture") is False:
        raise CaptureCheckError(
            f"endpoint {endpoint_name} does not capture data (endpoint config {config_name}): turn data capture on "
            "with a new endpoint config whose DataCaptureConfig captures Input, then UpdateEndpoint (README: "
            "'Monitoring an endpoint deployed elsewhere')"
        )
    modes = sorted(option.get("CaptureMode", "") for option in capture.get("CaptureOptions", []))
    if INPUT_MODES.isdisjoint(modes):
        raise CaptureCheckError(
            f"endpoint {endpoint_name} does not capture its inputs (endpoint config {config_name} has CaptureOptions "
            f"{modes}): data-quality monitoring analyzes the requests, so add CaptureMode Input"
        )
    destination = capture["DestinationS3Uri"]
    location = _S3_URI.fullmatch(destination)
    if not location:
        raise CaptureCheckError(
            f"endpoint {endpoint_name} captures to {destination!r}, which is not an s3:// URI (endpoint config "
            f"{config_name})"
        )
    key = location["key"].strip("/")
    if not key:
        raise CaptureCheckError(
            f"endpoint {endpoint_name} captures to the root of bucket {location['bucket']} (endpoint config "
            f"{config_name}): monitoring reads a capture location with a key prefix, so set DestinationS3Uri to "
            f"s3://{location['bucket']}/<prefix>"
        )
    endpoint_arn = endpoint["EndpointArn"]
    variants = endpoint.get("ProductionVariants") or config.get("ProductionVariants") or []
    return EndpointCapture(
        endpoint_name=endpoint_name,
        endpoint_arn=endpoint_arn,
        endpoint_config_name=config_name,
        variant_name=variants[0]["VariantName"] if variants else "",
        destination_s3_uri=destination,
        bucket=location["bucket"],
        prefix=key,
        kms_key_arn=key_arn(capture.get("KmsKeyId"), endpoint_arn=endpoint_arn, kms=kms, endpoint_name=endpoint_name),
    )


def key_arn(kms_key_id: str | None, *, endpoint_arn: str, kms: Any, endpoint_name: str) -> str | None:
    """The key ARN an IAM policy can name, for any of the four forms ``KmsKeyId`` accepts (None: no key).

    A key ID lives in the endpoint's account and Region (a key in another account must be named by ARN). An
    alias name or alias ARN is resolved by ``kms:DescribeKey``, which returns the ARN of the key it points to.
    """
    if not kms_key_id:
        return None
    arn = _Arn.parse(kms_key_id)
    if arn is not None and arn.service == "kms" and arn.resource.startswith("key/"):
        return kms_key_id
    if kms_key_id.startswith("alias/") or (
        arn is not None and arn.service == "kms" and arn.resource.startswith("alias/")
    ):
        try:
            resolved: str = kms.describe_key(KeyId=kms_key_id)["KeyMetadata"]["Arn"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "NotFoundException":
                raise CaptureCheckError(
                    f"endpoint {endpoint_name} encrypts its captured data with KMS key {kms_key_id}, which does not "
                    "exist"
                ) from None
            raise
        return resolved
    if arn is not None:
        raise CaptureCheckError(
            f"endpoint {endpoint_name} names {kms_key_id!r} as its capture KMS key, which is no KMS key or alias ARN"
        )
    endpoint = _Arn.parse(endpoint_arn)
    if endpoint is None:
        raise ValueError(f"DescribeEndpoint returned an EndpointArn that is no ARN: {endpoint_arn!r}")
    return f"arn:{endpoint.partition}:kms:{endpoint.region}:{endpoint.account}:key/{kms_key_id}"


def _describe_endpoint(sagemaker: Any, endpoint_name: str) -> dict[str, Any]:
    try:
        description: dict[str, Any] = sagemaker.describe_endpoint(EndpointName=endpoint_name)
    except ClientError as error:
        if _is_not_found(error, "Could not find endpoint"):
            raise CaptureCheckError(
                f"endpoint {endpoint_name} does not exist in this account and Region: deploy it first, or correct "
                "existing_endpoint_name"
            ) from None
        raise
    return description


def _describe_endpoint_config(sagemaker: Any, endpoint_name: str, config_name: str) -> dict[str, Any]:
    try:
        description: dict[str, Any] = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)
    except ClientError as error:
        # SageMaker lets an endpoint config be deleted while an endpoint still runs on it; its CaptureOptions
        # are then nowhere to be read.
        if _is_not_found(error, "Could not find endpoint configuration"):
            raise CaptureCheckError(
                f"endpoint {endpoint_name} runs on endpoint config {config_name}, which has been deleted, so its "
                "capture options cannot be read: update the endpoint to a config that exists"
            ) from None
        raise
    return description


def _is_not_found(error: ClientError, message_start: str) -> bool:
    """SageMaker answers a missing endpoint or config with ValidationException "Could not find ..."."""
    details = error.response.get("Error", {})
    return details.get("Code") == "ValidationException" and str(details.get("Message", "")).startswith(message_start)
