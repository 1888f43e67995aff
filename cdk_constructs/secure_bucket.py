"""An S3 bucket for data that must not leak or be lost: captured requests, baselines, monitoring reports."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_constructs.nag import acknowledge


class SecureBucket(Construct):
    """A KMS-encrypted, versioned, SSL-only, private bucket with server access logs, kept on ``cdk destroy``.

    Why each protection: the data is what a model saw in production (customer data), so it is encrypted with
    a customer-managed key whose rotation is on; versioning and ``RETAIN`` (bucket, key and log bucket) make
    sure neither a bad deploy nor ``cdk destroy`` loses it; access logs answer "who read this". Expiry is a
    lifecycle rule, a decision the stage makes, never a side effect of removing a stack.

    :param encryption_key: the key for objects. Default: a new customer-managed key with rotation on.
    :param expiration: delete current objects this long after creation. Default: kept forever.
    :param noncurrent_version_expiration: delete overwritten versions after this long. Default: 30 days.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey | None = None,
        expiration: Duration | None = None,
        noncurrent_version_expiration: Duration | None = None,
    ) -> None:
        super().__init__(scope, construct_id)

        self.encryption_key: kms.IKey = encryption_key or kms.Key(
            self,
            "Key",
            description=f"Encrypts objects in {self.node.path}",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )

        self.access_logs_bucket = s3.Bucket(
            self,
            "AccessLogs",
            # S3 server access logging delivers only to SSE-S3 encrypted buckets.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[s3.LifecycleRule(id="ExpireOldAccessLogs", expiration=Duration.days(365))],
        )
        acknowledge(
            self.access_logs_bucket,
            "This is the access-log bucket; logging it would recurse.",
            "AwsSolutions-S1",
        )

        lifecycle = s3.LifecycleRule(
            id="ExpireOldData",
            expiration=expiration,
            noncurrent_version_expiration=noncurrent_version_expiration or Duration.days(30),
            abort_incomplete_multipart_upload_after=Duration.days(7),
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.encryption_key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix="access-logs/",
            lifecycle_rules=[lifecycle],
            removal_policy=RemovalPolicy.RETAIN,
        )
