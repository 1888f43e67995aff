"""A SageMaker real-time endpoint that captures its requests and responses for Model Monitor."""

from __future__ import annotations

import re
from collections.abc import Sequence

from aws_cdk import ArnFormat, Duration, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from cdk_constructs.ecr_image import grant_pull
from cdk_constructs.endpoint_metrics import EndpointMetrics
from cdk_constructs.nag import acknowledge, wildcard_resource_finding
from cdk_constructs.secure_bucket import SecureBucket

#: Content types whose bodies are captured as text (CSV) or JSON; anything else is base64-encoded.
CSV_CONTENT_TYPES = ("text/csv",)
JSON_CONTENT_TYPES = ("application/json", "application/jsonlines")

VARIANT_NAME = "AllTraffic"

#: EndpointName in botocore's SageMaker service model (max 63); lower case only, see ``endpoint_name`` below.
ENDPOINT_NAME_MAX_LENGTH = 63
_ENDPOINT_NAME_RE = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


class DataCaptureEndpoint(Construct):
    """Model, endpoint configuration with data capture, and endpoint, with the bucket that receives captures.

    Capture writes every sampled request and response under ``s3://<bucket>/<capture_prefix>/`` encrypted
    with ``capture_key``; the monitoring schedule reads them from there. The storage volume of every
    instance is encrypted with the same key.

    :param model_image_uri: the serving container image.
    :param model_data_url: ``s3://`` URL of ``model.tar.gz``. The stack grants the role read access to it.
    :param instance_type: endpoint instance type (``ml.*``).
    :param initial_instance_count: instances behind the variant. Default: 1.
    :param sampling_percentage: share of requests captured, 0 to 100. Default: 100.
    :param capture_prefix: key prefix of captured data. Default: ``datacapture``.
    :param capture_expiration: delete captured data after this long. Default: kept forever.
    :param network_isolation: the model's container makes no network calls (``EnableNetworkIsolation``); SageMaker
        still downloads the artifact and writes captured data. SageMaker's built-in algorithm images support it.
        Default: True.
    :param subnet_ids: run the model in these subnets. Default: no VPC.
    :param security_group_ids: with ``subnet_ids``. Default: none.
    :param endpoint_name: the endpoint's name: lower-case letters, digits and hyphens, at most 63 characters.
        Clients invoke it by this name, and Model Monitor's metrics carry it in their ``Endpoint`` dimension, which
        alarms must match exactly; lower case leaves no doubt against SageMaker's lower-cased ARNs. Changing the
        endpoint configuration updates the endpoint in place (UpdateEndpoint); changing the name replaces it.
        Default: a name CloudFormation generates (mixed case, changes on replacement).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model_image_uri: str,
        model_data_url: str,
        instance_type: str,
        initial_instance_count: int = 1,
        sampling_percentage: int = 100,
        capture_prefix: str = "datacapture",
        capture_expiration: Duration | None = None,
        network_isolation: bool = True,
        subnet_ids: Sequence[str] = (),
        security_group_ids: Sequence[str] = (),
        endpoint_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        _check_props(
            instance_type=instance_type,
            initial_instance_count=initial_instance_count,
            sampling_percentage=sampling_percentage,
            capture_prefix=capture_prefix,
            model_data_url=model_data_url,
            endpoint_name=endpoint_name,
        )

        storage = SecureBucket(self, "CaptureStorage", expiration=capture_expiration)
        self.capture_bucket: s3.IBucket = storage.bucket
        self.capture_key: kms.IKey = storage.encryption_key
        self.capture_prefix = capture_prefix.strip("/")
        self._captured_objects_arn = self.capture_bucket.arn_for_objects(f"{self.capture_prefix}/*")

        self.role = iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Lets SageMaker host the model: pull its image, read its artifact, write logs and captures",
        )
        self._grant_hosting(model_image_uri)
        # The endpoint's role writes the captured data, so it must encrypt with the capture key.
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteCapturedData",
                actions=["s3:PutObject"],
                resources=[self._captured_objects_arn],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="EncryptCapturedData",
                actions=["kms:GenerateDataKey", "kms:Encrypt"],
                resources=[self.capture_key.key_arn],
            )
        )

        vpc_config = (
            sagemaker.CfnModel.VpcConfigProperty(subnets=list(subnet_ids), security_group_ids=list(security_group_ids))
            if subnet_ids
            else None
        )
        self.model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=self.role.role_arn,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=model_image_uri, model_data_url=model_data_url
            ),
            vpc_config=vpc_config,
            enable_network_isolation=network_isolation,
        )
        # The role's policies must exist before SageMaker tries to pull the image and the artifact.
        self.model.node.add_dependency(self.role.node.find_child("DefaultPolicy"))
        if vpc_config is None:
            acknowledge(self.model, "No VPC configured for this stage (settings subnet_ids).", "AwsSolutions-SM1")

        self.endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "EndpointConfig",
            kms_key_id=self.capture_key.key_arn,
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name=VARIANT_NAME,
                    model_name=self.model.attr_model_name,
                    initial_instance_count=initial_instance_count,
                    instance_type=instance_type,
                    initial_variant_weight=1.0,
                )
            ],
            data_capture_config=sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
                enable_capture=True,
                initial_sampling_percentage=sampling_percentage,
                destination_s3_uri=self.capture_bucket.s3_url_for_object(self.capture_prefix),
                kms_key_id=self.capture_key.key_arn,
                capture_options=[
                    sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Input"),
                    sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Output"),
                ],
                capture_content_type_header=sagemaker.CfnEndpointConfig.CaptureContentTypeHeaderProperty(
                    csv_content_types=list(CSV_CONTENT_TYPES), json_content_types=list(JSON_CONTENT_TYPES)
                ),
            ),
        )
        # The configuration keeps a generated name: a change of it makes a new configuration, and CloudFormation
        # moves the endpoint to it with UpdateEndpoint, in place, under the same name. Only a change of
        # endpoint_name replaces the endpoint (EndpointName is create-only in the resource schema).
        self.endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_config_name=self.endpoint_config.attr_endpoint_config_name,
            endpoint_name=endpoint_name,
        )
        self._endpoint_name = endpoint_name

    # -- attributes -----------------------------------------------------------------------------------------

    @property
    def endpoint_name(self) -> str:
        """The literal name when one was given (no cross-stack reference needed), else the generated one."""
        return self._endpoint_name or self.endpoint.attr_endpoint_name

    @property
    def endpoint_arn(self) -> str:
        # Ref of AWS::SageMaker::Endpoint is its ARN.
        return self.endpoint.ref

    @property
    def variant_name(self) -> str:
        return VARIANT_NAME

    @property
    def capture_s3_uri(self) -> str:
        return self.capture_bucket.s3_url_for_object(self.capture_prefix)

    # -- grants ---------------------------------------------------------------------------------------------

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to send requests to the endpoint (``sagemaker:InvokeEndpoint``)."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["sagemaker:InvokeEndpoint"], resource_arns=[self.endpoint_arn]
        )

    def grant_read_captured_data(self, grantee: iam.IGrantable) -> None:
        """Allow ``grantee`` to list and read captured data and decrypt it (a monitoring job, an operator)."""
        self.capture_bucket.grant_read(grantee, f"{self.capture_prefix}/*")
        self.capture_key.grant_decrypt(grantee)

    # -- metrics --------------------------------------------------------------------------------------------

    @property
    def metrics(self) -> EndpointMetrics:
        """Invocation, latency, error and utilization metrics of the endpoint's variant."""
        return EndpointMetrics(endpoint_name=self.endpoint_name, variant_name=self.variant_name)

    # -- internals ------------------------------------------------------------------------------------------

    def _grant_hosting(self, model_image_uri: str) -> None:
        stack = Stack.of(self)
        grant_pull(self.role, model_image_uri)
        log_group_arn = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name="/aws/sagemaker/Endpoints/*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        log_arns = [log_group_arn, f"{log_group_arn}:log-stream:*"]
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteEndpointLogs",
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                resources=log_arns,
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="PublishInstanceMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/Endpoints"}},
            )
        )
        acknowledge(
            self.role,
            "cloudwatch:PutMetricData supports no resource-level permissions (it is held to the endpoint "
            "namespace by a condition). SageMaker names the endpoint's log streams and captured objects itself, "
            "under fixed prefixes.",
            "AwsSolutions-IAM5[Resource::*]",
            *(wildcard_resource_finding(self, arn) for arn in log_arns),
            wildcard_resource_finding(self, self._captured_objects_arn),
        )


def _check_props(
    *,
    instance_type: str,
    initial_instance_count: int,
    sampling_percentage: int,
    capture_prefix: str,
    model_data_url: str,
    endpoint_name: str | None,
) -> None:
    """Fail at construction, naming the prop and the value, for values that are not tokens."""
    if (
        endpoint_name is not None
        and not Token.is_unresolved(endpoint_name)
        and (
            len(endpoint_name) > ENDPOINT_NAME_MAX_LENGTH
            or not _ENDPOINT_NAME_RE.fullmatch(endpoint_name)
            or endpoint_name != endpoint_name.lower()
        )
    ):
        raise ValueError(
            f"endpoint_name must be 1 to {ENDPOINT_NAME_MAX_LENGTH} lower-case letters, digits or hyphens, "
            f"starting and ending with a letter or digit, got {endpoint_name!r}"
        )
    if not Token.is_unresolved(instance_type) and not instance_type.startswith("ml."):
        raise ValueError(f"instance_type must be a SageMaker instance type (ml.*), got {instance_type!r}")
    if not Token.is_unresolved(initial_instance_count) and initial_instance_count < 1:
        raise ValueError(f"initial_instance_count must be at least 1, got {initial_instance_count}")
    if not Token.is_unresolved(sampling_percentage) and not 0 <= sampling_percentage <= 100:
        raise ValueError(f"sampling_percentage must be from 0 to 100, got {sampling_percentage}")
    if not capture_prefix.strip("/"):
        raise ValueError(f"capture_prefix must not be empty, got {capture_prefix!r}")
    if not Token.is_unresolved(model_data_url) and not model_data_url.startswith(("s3://", "https://")):
        raise ValueError(f"model_data_url must be an s3:// URL, got {model_data_url!r}")
