"""The monitoring stack: the hourly data-quality schedule, its metrics, alarms, alerts and dashboard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Arn, ArnFormat, CfnOutput, Duration, Stack
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from cdk_constructs.alerts_topic import AlertsTopic
from cdk_constructs.data_quality_monitor import DataQualityMonitor
from cdk_constructs.endpoint_metrics import EndpointMetrics
from cdk_constructs.monitoring_alarms import MonitoringAlarms
from cdk_constructs.monitoring_dashboard import MonitoringDashboard
from cdk_constructs.retrain_pipeline import RetrainPipeline
from cdk_constructs.retrain_trigger import RetrainTrigger
from cdk_constructs.s3_location import S3Location
from cdk_constructs.sagemaker_images import image_uri
from cdk_constructs.violation_metric import ViolationMetric
from settings import Settings

REPORTS_PREFIX = "monitoring-reports"
DEMO_TRAINING_DATA = Path(__file__).resolve().parents[1] / "demo" / "data" / "train.csv"


class MonitoringStack(Stack):
    """Watches the endpoint against its baseline on a schedule and tells people when something is wrong.

    Everything it needs from the other stacks arrives as plain attributes (names, buckets, keys, URIs), so
    the same stack can watch an endpoint that another app deployed.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        endpoint: EndpointMetrics,
        capture_bucket_name: str,
        capture_key: kms.IKey,
        capture_prefix: str,
        data_bucket_name: str,
        data_key: kms.IKey,
        statistics_uri: str,
        constraints_uri: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        data_bucket = s3.Bucket.from_bucket_attributes(
            self, "MonitoringData", bucket_name=data_bucket_name, encryption_key=data_key
        )

        self.monitor = DataQualityMonitor(
            self,
            "DataQuality",
            endpoint_name=endpoint.endpoint_name,
            statistics_uri=statistics_uri,
            constraints_uri=constraints_uri,
            output_bucket=data_bucket,
            output_prefix=REPORTS_PREFIX,
            encryption_key=data_key,
            schedule_expression=settings.schedule_expression,
            instance_type=settings.monitoring_instance_type,
            instance_count=settings.monitoring_instance_count,
            volume_size_gb=settings.monitoring_volume_size_gb,
            max_runtime=Duration.seconds(settings.monitoring_max_runtime_seconds),
            subnet_ids=settings.subnet_ids,
            security_group_ids=settings.security_group_ids,
            enable_network_isolation=settings.enable_network_isolation,
            encrypt_inter_container_traffic=settings.encrypt_inter_container_traffic,
        )
        # The execution reads what the endpoint captured and the baseline it is compared with.
        captured = S3Location(bucket=capture_bucket_name, key=f"{capture_prefix}/")
        baseline = S3Location(bucket=data_bucket.bucket_name, key="baseline/")
        for location in (captured, baseline):
            location.grant_read_and_list(self.monitor.role)
        capture_key.grant_decrypt(self.monitor.role)

        self.violations = ViolationMetric(
            self,
            "ViolationMetric",
            endpoint_name=endpoint.endpoint_name,
            schedule_name=self.monitor.schedule_name,
            constraints_uri=constraints_uri,
            one_time_schedule_prefix=settings.one_time_schedule_prefix,
        )
        reports = S3Location(bucket=data_bucket.bucket_name, key=f"{REPORTS_PREFIX}/")
        for location in (reports, baseline):
            location.grant_read_and_list(self.violations.role)
        data_key.grant_decrypt(self.violations.role)

        self.alerts = AlertsTopic(self, "Alerts", emails=settings.alert_emails)
        self.alarms = MonitoringAlarms(
            self,
            "Alarms",
            topic=self.alerts.topic,
            endpoint=endpoint,
            data_quality=self.monitor.metrics,
            violations=self.violations.metrics,
            monitored_features=settings.monitored_features,
            drift_threshold=settings.drift_threshold,
            latency_p99_threshold=Duration.millis(settings.latency_p99_threshold_ms),
            server_errors_threshold=settings.errors_5xx_threshold,
            violation_threshold_percent=settings.violation_threshold_percent,
        )
        self.dashboard = MonitoringDashboard(
            self,
            "Dashboard",
            endpoint=endpoint,
            data_quality=self.monitor.metrics,
            violations=self.violations.metrics,
            monitored_features=settings.monitored_features,
            drift_threshold=settings.drift_threshold,
            violation_threshold_percent=settings.violation_threshold_percent,
            alarms=self.alarms.all_alarms,
        )

        self.retrain_pipeline = self._retrain_pipeline(settings, data_bucket, data_key)
        self.retrain_trigger = RetrainTrigger(
            self, "RetrainTrigger", alarm=self.alarms.violation_alarm, pipeline=self.retrain_pipeline
        )

        CfnOutput(self, "RetrainPipelineName", value=self.retrain_pipeline.pipeline_name)
        CfnOutput(self, "MonitoringScheduleName", value=self.monitor.schedule_name)
        CfnOutput(self, "AlertsTopicArn", value=self.alerts.topic.topic_arn)
        CfnOutput(self, "DashboardName", value=self.dashboard.dashboard.dashboard_name)
        CfnOutput(self, "ViolationAlarmName", value=self.alarms.violation_alarm.alarm_name)

    def _retrain_pipeline(
        self, settings: Settings, data_bucket: s3.IBucket, data_key: kms.IKey
    ) -> codepipeline.IPipeline:
        """The stage's own pipeline (``retrain_pipeline``, a name or an ARN), or a small one built here."""
        if settings.retrain_pipeline:
            arn = (
                settings.retrain_pipeline
                if settings.retrain_pipeline.startswith("arn:")
                else self.format_arn(service="codepipeline", resource=settings.retrain_pipeline)
            )
            Arn.split(arn, ArnFormat.NO_RESOURCE_NAME)  # a malformed ARN fails here, at synth
            return codepipeline.Pipeline.from_pipeline_arn(self, "RetrainPipeline", arn)
        if settings.training_data_uri:
            training_data = S3Location.parse(settings.training_data_uri)
        else:
            demo = s3_assets.Asset(self, "DemoTrainingData", path=str(DEMO_TRAINING_DATA))
            training_data = S3Location(bucket=demo.s3_bucket_name, key=demo.s3_object_key)
        return RetrainPipeline(
            self,
            "Retrain",
            training_data=training_data,
            training_image_uri=settings.model_image_uri or image_uri(self, "xgboost"),
            output_bucket=data_bucket,
            encryption_key=data_key,
            job_name_prefix=f"{settings.stack_prefix}-retrain",
            instance_type=settings.retrain_instance_type,
        ).pipeline
