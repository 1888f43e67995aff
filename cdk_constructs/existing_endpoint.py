"""An endpoint deployed by someone else, seen through a deploy-time check of where it captures its data."""

from __future__ import annotations

import re

from aws_cdk import CustomResource, Duration, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from cdk_constructs.endpoint_metrics import EndpointMetrics
from cdk_constructs.function_logging import FunctionLogging
from cdk_constructs.lambda_package import package_code
from cdk_constructs.nag import acknowledge, acknowledge_unreserved_concurrency, wildcard_resource_finding
from cdk_constructs.provider_framework import answering_provider
from cdk_constructs.s3_location import S3Location

RUNTIME = lambda_.Runtime.PYTHON_3_14
RESOURCE_TYPE = "Custom::ExistingEndpointCapture"
#: ``EndpointName`` in the SageMaker API reference (botocore's model): 1 to 63 letters, digits and hyphens.
_ENDPOINT_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


class ExistingEndpoint(Construct):
    """An endpoint this app does not deploy, and the data it captures, for monitoring it as code.

    Nothing about the endpoint is changed, on deploy or on destroy. At deploy time a custom resource
    (``Custom::ExistingEndpointCapture``, runtime code ``lambdas/existing_endpoint``) reads the endpoint and its
    endpoint config, and fails the deploy with one line if the endpoint does not exist, captures nothing, or
    does not capture its inputs. Its answer, the capture location and key, is known only at deploy time, so
    the attributes below are tokens (``Fn::GetAtt``) and ``grant_read_captured_data`` builds its statements
    from them.

    The check runs when the resource is created or its properties change; when the endpoint's owners move its
    capture destination or key, deploy again after changing ``check_version``.

    Every ``ExistingEndpoint`` of a stack shares one function and Provider (``ExistingEndpointCheck`` in the
    stack): per endpoint, only the custom resource and a policy that lets the shared role describe this one
    endpoint are added, so adding or removing an endpoint touches no other endpoint's resources.

    :param endpoint_name: the endpoint's name, as its owners deployed it.
    :param variant_name: the production variant whose metrics ``metrics`` gives. Default: the endpoint's first
        production variant, read at deploy time.
    :param check_version: any string; changing it makes the next deploy run the check again. Default: ``"1"``.
    :param log_key: encrypts the log groups of the shared check function and its Provider (the first
        ``ExistingEndpoint`` of a stack creates them, with its key).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint_name: str,
        variant_name: str | None = None,
        log_key: kms.IKey,
        check_version: str = "1",
    ) -> None:
        super().__init__(scope, construct_id)
        if not Token.is_unresolved(endpoint_name) and not _ENDPOINT_NAME.fullmatch(endpoint_name):
            raise ValueError(
                "endpoint_name must be a SageMaker endpoint name (1 to 63 letters, digits and hyphens, starting "
                f"and ending with a letter or digit), got {endpoint_name!r}"
            )
        self.endpoint_name = endpoint_name
        # SageMaker lower-cases names in its ARNs; IAM compares ARNs case-sensitively.
        self.endpoint_arn = Stack.of(self).format_arn(
            service="sagemaker",
            resource="endpoint",
            resource_name=endpoint_name if Token.is_unresolved(endpoint_name) else endpoint_name.lower(),
        )
        check = _CheckProvider.of(self, log_key)
        policy = iam.Policy(
            self,
            "CheckPolicy",
            roles=[check.role],
            statements=[iam.PolicyStatement(actions=["sagemaker:DescribeEndpoint"], resources=[self.endpoint_arn])],
        )
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=check.service_token,
            resource_type=RESOURCE_TYPE,
            properties={"EndpointName": endpoint_name, "CheckVersion": check_version},
        )
        # The role may describe this endpoint only once the policy exists.
        self.resource.node.add_dependency(policy)
        self._variant_name = variant_name
        #: The capture key as an ``IKey`` (imported: no resource), for code that takes the capture location as
        #: bucket, prefix and key, as the monitoring stack does for an endpoint this app deploys. Its ARN is
        #: ``DecryptKeyArn``, so ``capture_key.grant_decrypt`` grants what ``grant_read_captured_data`` does.
        self.capture_key: kms.IKey = kms.Key.from_key_arn(
            self, "CaptureKey", self.resource.get_att_string("DecryptKeyArn")
        )

    # -- attributes (known at deploy time) --------------------------------------------------------------------

    @property
    def capture_bucket_name(self) -> str:
        """The bucket of ``DataCaptureConfig.DestinationS3Uri``."""
        return self.resource.get_att_string("CaptureBucket")

    @property
    def capture_prefix(self) -> str:
        """The destination's key, no ``/`` at either end: SageMaker adds ``/<endpoint name>/<variant>/...``.

        The same meaning as ``DataCaptureEndpoint.capture_prefix``, so code written for an endpoint this app
        deploys (the monitoring stack, the builtin engine's analysis) reads an existing endpoint's data unchanged.
        """
        return self.resource.get_att_string("CapturePrefix")

    @property
    def endpoint_capture_prefix(self) -> str:
        """This endpoint's own folder under the destination, ``<capture_prefix>/<endpoint name>``."""
        return self.resource.get_att_string("EndpointCapturePrefix")

    @property
    def capture_s3_uri(self) -> str:
        """The destination, ``s3://<bucket>/<capture_prefix>``."""
        return self.resource.get_att_string("CaptureS3Uri")

    @property
    def kms_key_arn(self) -> str:
        """The key ARN of ``DataCaptureConfig.KmsKeyId`` (an alias resolved), or an empty string without one."""
        return self.resource.get_att_string("KmsKeyArn")

    @property
    def variant_name(self) -> str:
        return self._variant_name or self.resource.get_att_string("VariantName")

    @property
    def metrics(self) -> EndpointMetrics:
        """Invocation, latency, error and utilization metrics of ``variant_name``."""
        return EndpointMetrics(endpoint_name=self.endpoint_name, variant_name=self.variant_name)

    # -- grants -------------------------------------------------------------------------------------------

    def grant_read_captured_data(self, grantee: iam.IGrantable) -> None:
        """Exactly what reading this endpoint's captured data takes, and nothing of other endpoints':

        ``s3:GetObject`` under ``endpoint_capture_prefix/``, ``s3:ListBucket`` on the bucket held to that prefix by
        ``s3:prefix``, and ``kms:Decrypt`` on the capture key. The key ARN arrives at deploy time
        (``DecryptKeyArn``): the statement always exists, and names a key ARN that matches no key when the
        capture configuration has none (see ``lambdas/existing_endpoint/capture.py``).
        """
        folder = S3Location(bucket=self.capture_bucket_name, key=f"{self.endpoint_capture_prefix}/")
        folder.grant_read_and_list(grantee)
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["kms:Decrypt"],
            resource_arns=[self.resource.get_att_string("DecryptKeyArn")],
        )


class _CheckProvider(Construct):
    """The function and Provider every ``ExistingEndpoint`` of a stack shares (``ExistingEndpointCheck``)."""

    ID = "ExistingEndpointCheck"

    @classmethod
    def of(cls, scope: Construct, log_key: kms.IKey) -> _CheckProvider:
        stack = Stack.of(scope)
        existing = stack.node.try_find_child(cls.ID)
        return existing if isinstance(existing, _CheckProvider) else cls(stack, cls.ID, log_key=log_key)

    def __init__(self, scope: Construct, construct_id: str, *, log_key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        logging = FunctionLogging(
            self,
            "Logging",
            description="Reads where an endpoint deployed elsewhere captures its data",
            encryption_key=log_key,
        )
        self.role = logging.role
        stack = Stack.of(self)
        # The endpoint config's name, and so its ARN, is read from the endpoint at deploy time.
        config_arns = stack.format_arn(service="sagemaker", resource="endpoint-config", resource_name="*")
        # An alias is resolved to its key (an IAM policy can name a key only by its key ARN). An alias and its
        # key share account and Region, and the capture bucket's key shares the bucket's Region (SSE-KMS), which
        # SageMaker requires to be the endpoint's: this Region, any account (an alias ARN may name another).
        key_arns = stack.format_arn(service="kms", resource="key", resource_name="*", account="*")
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadEndpointConfigs", actions=["sagemaker:DescribeEndpointConfig"], resources=[config_arns]
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(sid="ResolveKeyAliases", actions=["kms:DescribeKey"], resources=[key_arns])
        )
        acknowledge(
            self.role,
            "Names known only at deploy time: the endpoint config an endpoint runs on and the key its capture "
            "alias points to. Both actions only read metadata.",
            wildcard_resource_finding(self, config_arns),
            wildcard_resource_finding(self, key_arns),
        )
        self.function = lambda_.Function(
            self,
            "OnEvent",
            description="Reads where an endpoint deployed elsewhere captures its data; changes nothing",
            runtime=RUNTIME,
            handler="existing_endpoint.handler.on_event",
            code=package_code("existing_endpoint"),
            timeout=Duration.seconds(60),
            role=self.role,
            log_group=logging.log_group,
        )
        acknowledge_unreserved_concurrency(self.function)
        self.service_token = answering_provider(self, on_event=self.function, log_key=log_key).service_token
