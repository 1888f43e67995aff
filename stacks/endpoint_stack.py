"""The endpoint stack: the model behind a real-time endpoint, capturing what it sees."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from cdk_constructs.data_capture_endpoint import DataCaptureEndpoint
from cdk_constructs.s3_location import S3Location
from cdk_constructs.sagemaker_images import image_uri
from settings import Settings

DEMO_MODEL = Path(__file__).resolve().parents[1] / "demo" / "model" / "model.tar.gz"


class EndpointStack(Stack):
    """Model, endpoint with data capture, and capture bucket.

    Kept apart from monitoring so that a team can point the monitoring stack at an endpoint it already runs.
    The model artifact is the stage's ``model_data_uri`` or, by default, the embedded demo model shipped as
    a CDK asset; either way the endpoint's role may read exactly that object.
    """

    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)

        demo_model = None if settings.model_data_uri else s3_assets.Asset(self, "DemoModel", path=str(DEMO_MODEL))
        self.endpoint = DataCaptureEndpoint(
            self,
            "DataCaptureEndpoint",
            model_image_uri=settings.model_image_uri or image_uri(self, "xgboost"),
            model_data_url=demo_model.s3_object_url if demo_model else str(settings.model_data_uri),
            instance_type=settings.endpoint_instance_type,
            initial_instance_count=settings.endpoint_instance_count,
            sampling_percentage=settings.sampling_percentage,
            capture_expiration=Duration.days(settings.capture_expiration_days),
            network_isolation=settings.model_network_isolation,
            subnet_ids=settings.subnet_ids,
            security_group_ids=settings.security_group_ids,
            endpoint_name=settings.endpoint_name,
        )
        model_artifact = (
            S3Location(bucket=demo_model.s3_bucket_name, key=demo_model.s3_object_key)
            if demo_model
            else S3Location.parse(str(settings.model_data_uri))
        )
        model_artifact.grant_read(self.endpoint.role)

        CfnOutput(self, "EndpointName", value=self.endpoint.endpoint_name)
        CfnOutput(self, "CaptureS3Uri", value=self.endpoint.capture_s3_uri)
        self.capture_bucket_name_export = CfnOutput(
            self,
            "CaptureBucketName",
            value=self.endpoint.capture_bucket.bucket_name,
            export_name=f"{settings.stack_prefix}-capture-bucket",
        )
