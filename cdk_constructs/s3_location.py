"""``s3://bucket/key`` URIs from settings, as the bucket and key that IAM grants need."""

from __future__ import annotations

import re
from dataclasses import dataclass

from aws_cdk import Aws
from aws_cdk import aws_iam as iam

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
        """``s3:GetObject`` on exactly this object (or this prefix), nothing else."""
        return iam.Grant.add_to_principal(grantee=grantee, actions=["s3:GetObject"], resource_arns=[self.object_arn])
