"""The baseline stack: the bucket for monitoring data and the baseline computed into it at deploy time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from cdk_constructs.engine_image import EngineImage
from cdk_constructs.s3_location import S3Location
from cdk_constructs.secure_bucket import SecureBucket
from cdk_constructs.suggested_baseline import SuggestedBaseline
from settings import Settings

DEMO_BASELINE = Path(__file__).resolve().parents[1] / "demo" / "data" / "baseline.csv"


class BaselineStack(Stack):
    """Statistics and constraints of the training data, computed during deploy by a Model Monitor job, or by the
    drift engine when the stage's ``monitoring_engine`` is ``builtin``.

    A stack of its own, depending on nothing, so that ``cdk deploy --all --concurrency 2`` runs the baseline
    job while the endpoint is being created: a deploy takes the longer of the two, not their sum. The
    monitoring stack reads the baseline's URIs and writes its reports into the same bucket.
    """

    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)

        self.storage = SecureBucket(self, "MonitoringData")
        if settings.baseline_dataset_uri:
            dataset = S3Location.parse(settings.baseline_dataset_uri)
        else:
            demo = s3_assets.Asset(self, "DemoBaselineDataset", path=str(DEMO_BASELINE))
            dataset = S3Location(bucket=demo.s3_bucket_name, key=demo.s3_object_key)

        self.baseline = SuggestedBaseline(
            self,
            "Baseline",
            dataset=dataset,
            dataset_format=settings.baseline_dataset_format,
            header=settings.baseline_dataset_header,
            output_columns_position=settings.baseline_output_columns_position,
            output_bucket=self.storage.bucket,
            output_prefix="baseline",
            encryption_key=self.storage.encryption_key,
            job_name_prefix=f"{settings.stack_prefix}-baseline",
            instance_type=settings.baseline_instance_type,
            max_runtime=Duration.minutes(settings.baseline_max_runtime_minutes),
            # The builtin engine computes the baseline itself: no Model Monitor job, same files.
            engine_image=EngineImage(self, "EngineImage") if settings.monitoring_engine == "builtin" else None,
        )

        CfnOutput(self, "BaselineStatisticsUri", value=self.baseline.statistics_uri)
        CfnOutput(self, "BaselineConstraintsUri", value=self.baseline.constraints_uri)
        self.data_bucket_name_export = CfnOutput(
            self,
            "MonitoringDataBucketName",
            value=self.storage.bucket.bucket_name,
            export_name=f"{settings.stack_prefix}-monitoring-data-bucket",
        )
