"""``s3://bucket/key`` URIs from settings, as the bucket and key that IAM grants need."""

from __future__ import annotations

import re
from dataclasses import dataclass

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from constructs import Construct

from cdk_constructs.nag import acknowledge, wildcard_resource_finding

_S3_URI = re.compile(r"^s3://(?P<bucket>[^/]+)/(?P<key>.+)$")


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        match = _S3_URI.fullmatch(uri)
        if not match:
            raise ValueError(f"expected an S3 URI of the form s3://bucket/key, got {uri!r}")
        return cls(bucket=match["bucket"], key=match["key"])

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def object_arn(self) -> str:
        """The object's ARN, or the ARN pattern of every object under the prefix when the key ends in ``/``."""
        suffix = "*" if self.key.endswith("/") else ""
        return f"arn:{Aws.PARTITION}:s3:::{self.bucket}/{self.key}{suffix}"

    def grant_read(self, grantee: iam.IGrantable) -> iam.Grant:
        """``s3:GetObject`` on exactly this object (or every object under this prefix), nothing else."""
        grant = iam.Grant.add_to_principal(grantee=grantee, actions=["s3:GetObject"], resource_arns=[self.object_arn])
        if self.key.endswith("/") and isinstance(grantee, Construct):
            acknowledge(
                grantee,
                "Reads objects that SageMaker names at run time, under one prefix of one bucket.",
                wildcard_resource_finding(grantee, self.object_arn),
            )
        return grant

    def grant_write(self, grantee: iam.IGrantable) -> iam.Grant:
        """``s3:PutObject`` on exactly this object (or every object under this prefix), nothing else."""
        grant = iam.Grant.add_to_principal(grantee=grantee, actions=["s3:PutObject"], resource_arns=[self.object_arn])
        if self.key.endswith("/") and isinstance(grantee, Construct):
            acknowledge(
                grantee,
                "Writes objects it names at run time, under one prefix of one bucket.",
                wildcard_resource_finding(grantee, self.object_arn),
            )
        return grant

    def grant_list(self, grantee: iam.IGrantable) -> iam.Grant:
        """``s3:ListBucket`` limited to this key or prefix: jobs reading an ``S3Prefix`` input list it first."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:ListBucket"],
            resource_arns=[f"arn:{Aws.PARTITION}:s3:::{self.bucket}"],
            conditions={"StringLike": {"s3:prefix": [self.key, f"{self.key}*"]}},
        )

    def grant_read_and_list(self, grantee: iam.IGrantable) -> None:
        """What a SageMaker job reading this location needs: jobs list an ``S3Prefix`` input before reading it."""
        self.grant_read(grantee)
        self.grant_list(grantee)
