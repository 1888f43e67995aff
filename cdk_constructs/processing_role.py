"""The role a Model Monitor processing job runs as: the analyzer image, its logs, and the stage's KMS key."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_constructs.ecr_image import grant_pull
from cdk_constructs.nag import acknowledge, wildcard_resource_finding
from cdk_constructs.sagemaker_images import image_uri


class ProcessingRole(Construct):
    """An IAM role for SageMaker processing jobs that run the Model Monitor analyzer.

    It may pull the analyzer image of the stack's region (or ``image``, such as the drift engine's), write
    processing-job logs, and use ``encryption_key`` for the job's volume and output. Data access (what to read,
    where to write) is granted by the construct that runs the job, object by object.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        description: str,
        encryption_key: kms.IKey,
        image: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"), description=description
        )
        grant_pull(self.role, image or image_uri(self, "model-monitor"))

        log_group_arn = Stack.of(self).format_arn(
            service="logs",
            resource="log-group",
            resource_name="/aws/sagemaker/ProcessingJobs",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        streams_arn = f"{log_group_arn}:log-stream:*"
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteJobLogs",
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group_arn, streams_arn],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="UseStageKey",
                actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                resources=[encryption_key.key_arn],
            )
        )
        # SageMaker attaches the key to the job's volume through a grant made with the job's role.
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="AttachStageKeyToVolumes",
                actions=["kms:CreateGrant"],
                resources=[encryption_key.key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            )
        )
        acknowledge(
            self.role,
            "SageMaker names each processing job's log stream at run time, inside the fixed ProcessingJobs group.",
            wildcard_resource_finding(self, streams_arn),
        )

    @property
    def policy(self) -> Construct:
        """The role's policy: depend on it (not on the role) so a job starts after its permissions exist."""
        policy = self.role.node.find_child("DefaultPolicy")
        assert isinstance(policy, Construct)
        return policy

    def grant_write(self, bucket: s3.IBucket, prefix: str) -> None:
        """``s3:PutObject`` under ``prefix`` of ``bucket``: the job names its output objects itself."""
        objects_arn = bucket.arn_for_objects(f"{prefix}*")
        self.role.add_to_policy(iam.PolicyStatement(actions=["s3:PutObject"], resources=[objects_arn]))
        acknowledge(
            self.role,
            "The job names its output objects itself; writes are limited to one prefix of one bucket.",
            wildcard_resource_finding(self, objects_arn),
        )

    def grant_pass_role(self, grantee: iam.IGrantable) -> iam.Grant:
        """``iam:PassRole`` on this role, to SageMaker only."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["iam:PassRole"],
            resource_arns=[self.role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        )
