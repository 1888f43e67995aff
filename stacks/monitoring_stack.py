"""The monitoring stack: the hourly drift analysis (Model Monitor's or the builtin engine's), its metrics, alarms,
alerts and dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import Arn, ArnFormat, CfnOutput, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sns as sns
from constructs import Construct

from cdk_constructs.alerts_topic import AlertsTopic
from cdk_constructs.builtin_drift_analysis import BuiltinDriftAnalysis, ProcessingRuntime
from cdk_constructs.data_quality_monitor import DataQualityMonitor
from cdk_constructs.drift_metrics import DataQualityMetrics, ViolationMetrics
from cdk_constructs.endpoint_metrics import EndpointMetrics
from cdk_constructs.engine_image import EngineImage, SparkEngineImage
from cdk_constructs.existing_endpoint import ExistingEndpoint
from cdk_constructs.monitoring_alarms import MonitoringAlarms
from cdk_constructs.monitoring_dashboard import MonitoringDashboard
from cdk_constructs.retrain_pipeline import RetrainPipeline
from cdk_constructs.retrain_trigger import RetrainTrigger
from cdk_constructs.s3_location import S3Location
from cdk_constructs.sagemaker_images import image_uri
from cdk_constructs.violation_metric import ViolationMetric
from settings import Settings, schedule_period_seconds

REPORTS_PREFIX = "monitoring-reports"
BASELINE_PREFIX = "baseline"
DEMO_TRAINING_DATA = Path(__file__).resolve().parents[1] / "demo" / "data" / "train.csv"


@dataclass(frozen=True)
class SharedAlerts:
    """The ARNs of a stage's one alerts topic and its key (the shared stack's exports, imported by name)."""

    topic_arn: str
    key_arn: str


class MonitoringStack(Stack):
    """Watches the endpoint against its baseline on a schedule and tells people when something is wrong.

    Everything it needs from the other stacks arrives as plain attributes (names, buckets, keys, URIs), so
    the same stack can watch an endpoint that another app deployed. ``monitoring_engine`` chooses what
    analyzes each hour: Model Monitor's schedule, or the builtin engine's function (no Model Monitor resource);
    the alarms, the dashboard and the retrain trigger are built the same way from what either publishes.

    :param data_bucket_reference: the data bucket's name as a reference to the baseline stack's resource, for
        outputs (an output may not re-export an import). Default: ``data_bucket_name``.
    :param baseline_fingerprint: changes whenever the baseline's inputs change (``SuggestedBaseline.fingerprint``):
        it is part of the job definition's name, so a new baseline changes this stack's template and a deploy
        re-reads the baseline's URIs. Default: none.
    :param endpoint: the endpoint this app deploys, with ``capture_bucket_name``, ``capture_key`` and
        ``capture_prefix`` where it captures. Give either these four or ``existing_endpoint_name``.
    :param existing_endpoint_name: an endpoint deployed elsewhere: an ``ExistingEndpoint`` in this stack checks it
        at deploy time and answers where it captures; the analysis may read exactly that endpoint's folder.
    :param shared_alerts: the stage's alerts topic and key when several endpoints share them (a stage with
        ``endpoints``): this stack then builds no topic and no dashboard (the shared stack's dashboard shows this
        endpoint), and names its alarms ``<stack_prefix>-<alarm>`` so that dashboard can show them by name, with no
        import tying the shared stack to this one. Default: a topic and a dashboard of this stack's own.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        endpoint: EndpointMetrics | None = None,
        capture_bucket_name: str | None = None,
        capture_key: kms.IKey | None = None,
        capture_prefix: str | None = None,
        existing_endpoint_name: str | None = None,
        shared_alerts: SharedAlerts | None = None,
        data_bucket_name: str,
        data_key: kms.IKey,
        statistics_uri: str,
        constraints_uri: str,
        data_bucket_reference: str | None = None,
        baseline_fingerprint: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        data_bucket = s3.Bucket.from_bucket_attributes(
            self, "MonitoringData", bucket_name=data_bucket_name, encryption_key=data_key
        )

        # First: its key also encrypts the dead-letter queues of the engine's and the retrain's rules.
        if shared_alerts is None:
            self.alerts: AlertsTopic | None = AlertsTopic(self, "Alerts", emails=settings.alert_emails)
            self.alerts_topic: sns.ITopic
            self.alerts_key: kms.IKey
            self.alerts_topic, self.alerts_key = self.alerts.topic, self.alerts.key
        else:
            self.alerts = None
            self.alerts_topic = sns.Topic.from_topic_arn(self, "SharedAlerts", shared_alerts.topic_arn)
            self.alerts_key = kms.Key.from_key_arn(self, "SharedAlertsKey", shared_alerts.key_arn)
        # The folder the analysis may read: the destination's for an endpoint of this app (its own bucket), only
        # this endpoint's folder under a destination that other endpoints may share.
        captured_prefix = capture_prefix
        if existing_endpoint_name is not None:
            self.existing_endpoint: ExistingEndpoint | None = ExistingEndpoint(
                self, "ExistingEndpoint", endpoint_name=existing_endpoint_name, log_key=data_key
            )
            endpoint = self.existing_endpoint.metrics
            capture_bucket_name = self.existing_endpoint.capture_bucket_name
            capture_key = self.existing_endpoint.capture_key
            capture_prefix = self.existing_endpoint.capture_prefix
            captured_prefix = self.existing_endpoint.endpoint_capture_prefix
            CfnOutput(self, "CaptureS3Uri", value=self.existing_endpoint.capture_s3_uri)
        else:
            self.existing_endpoint = None
        if endpoint is None or capture_bucket_name is None or capture_key is None or capture_prefix is None:
            raise ValueError(
                "give endpoint, capture_bucket_name, capture_key and capture_prefix, or existing_endpoint_name"
            )
        self.engine = settings.monitoring_engine
        if settings.monitoring_engine == "builtin":
            data_quality, violations, failed_runs = self._builtin_analysis(
                settings,
                endpoint_name=endpoint.endpoint_name,
                capture=S3Location(bucket=capture_bucket_name, key=capture_prefix.strip("/")),
                capture_key=capture_key,
                data_bucket_name=data_bucket.bucket_name,
                data_bucket_reference=data_bucket_reference or data_bucket.bucket_name,
                data_key=data_key,
                statistics_uri=statistics_uri,
                constraints_uri=constraints_uri,
                baseline_fingerprint=baseline_fingerprint,
            )
        else:
            data_quality, violations = self._model_monitor(
                settings,
                endpoint_name=endpoint.endpoint_name,
                capture_bucket_name=capture_bucket_name,
                capture_key=capture_key,
                capture_prefix=captured_prefix or capture_prefix,
                data_bucket=data_bucket,
                data_key=data_key,
                statistics_uri=statistics_uri,
                constraints_uri=constraints_uri,
                baseline_fingerprint=baseline_fingerprint,
            )
            failed_runs = None
        self.schedule_name = data_quality.schedule_name

        self.alarms = MonitoringAlarms(
            self,
            "Alarms",
            topic=self.alerts_topic,
            endpoint=endpoint,
            data_quality=data_quality,
            violations=violations,
            monitored_features=settings.monitored_features,
            drift_threshold=settings.drift_threshold,
            latency_p99_threshold=Duration.millis(settings.latency_p99_threshold_ms),
            server_errors_threshold=settings.errors_5xx_threshold,
            violation_threshold_percent=settings.violation_threshold_percent,
            failed_runs=failed_runs,
            alarm_name_prefix=settings.stack_prefix if shared_alerts else None,
        )
        self.endpoint_metrics = endpoint
        self.data_quality, self.violation_metrics = data_quality, violations
        self.dashboard = (
            None
            if shared_alerts
            else MonitoringDashboard(
                self,
                "Dashboard",
                endpoint=endpoint,
                data_quality=data_quality,
                violations=violations,
                monitored_features=settings.monitored_features,
                drift_threshold=settings.drift_threshold,
                violation_threshold_percent=settings.violation_threshold_percent,
                alarms=self.alarms.all_alarms,
                run_health=self.analysis.metrics_run_health() if self.engine == "builtin" else (),
            )
        )

        self.retrain_pipeline = self._retrain_pipeline(settings, data_bucket, data_key)
        self.retrain_trigger = RetrainTrigger(
            self,
            "RetrainTrigger",
            alarm=self.alarms.violation_alarm,
            pipeline=self.retrain_pipeline,
            dead_letter_key=self.alerts_key,
        )

        CfnOutput(self, "MonitoringEngine", value=settings.monitoring_engine)
        CfnOutput(self, "RetrainPipelineName", value=self.retrain_pipeline.pipeline_name)
        CfnOutput(self, "MonitoringScheduleName", value=self.schedule_name)
        if self.alerts is not None:  # shared ones are the shared stack's outputs
            CfnOutput(self, "AlertsTopicArn", value=self.alerts.topic.topic_arn)
        if self.dashboard is not None:
            CfnOutput(self, "DashboardName", value=self.dashboard.dashboard.dashboard_name)
        CfnOutput(self, "ViolationAlarmName", value=self.alarms.violation_alarm.alarm_name)

    def _model_monitor(
        self,
        settings: Settings,
        *,
        endpoint_name: str,
        capture_bucket_name: str,
        capture_key: kms.IKey,
        capture_prefix: str,
        data_bucket: s3.IBucket,
        data_key: kms.IKey,
        statistics_uri: str,
        constraints_uri: str,
        baseline_fingerprint: str,
    ) -> tuple[DataQualityMetrics, ViolationMetrics]:
        """Model Monitor's schedule, and the function that turns each execution's report into metrics."""
        self.monitor = DataQualityMonitor(
            self,
            "DataQuality",
            endpoint_name=endpoint_name,
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
            name_prefix=settings.stack_prefix,
            baseline_fingerprint=baseline_fingerprint,
        )
        # The execution reads what the endpoint captured and the baseline it is compared with.
        captured = S3Location(bucket=capture_bucket_name, key=f"{capture_prefix}/")
        baseline = S3Location(bucket=data_bucket.bucket_name, key=f"{BASELINE_PREFIX}/")
        for location in (captured, baseline):
            location.grant_read_and_list(self.monitor.role)
        capture_key.grant_decrypt(self.monitor.role)

        self.violations = ViolationMetric(
            self,
            "ViolationMetric",
            endpoint_name=endpoint_name,
            schedule_name=self.monitor.schedule_name,
            constraints_uri=constraints_uri,
            log_key=data_key,
            # The alerts key: undelivered events are the stack's EventBridge traffic, as alerts are.
            dead_letter_key=self.alerts_key,
            one_time_schedule_prefix=settings.one_time_schedule_prefix,
        )
        reports = S3Location(bucket=data_bucket.bucket_name, key=f"{REPORTS_PREFIX}/")
        for location in (reports, baseline):
            location.grant_read_and_list(self.violations.role)
        data_key.grant_decrypt(self.violations.role)
        return self.monitor.metrics, self.violations.metrics

    def _builtin_analysis(
        self,
        settings: Settings,
        *,
        endpoint_name: str,
        capture: S3Location,
        capture_key: kms.IKey,
        data_bucket_name: str,
        data_bucket_reference: str,
        data_key: kms.IKey,
        statistics_uri: str,
        constraints_uri: str,
        baseline_fingerprint: str,
    ) -> tuple[DataQualityMetrics, ViolationMetrics, cloudwatch.Metric | cloudwatch.MathExpression]:
        """The builtin engine's hourly analysis: no Model Monitor resource at all."""
        self.analysis = BuiltinDriftAnalysis(
            self,
            "DriftAnalysis",
            engine_image=EngineImage(self, "EngineImage"),
            endpoint_name=endpoint_name,
            capture=capture,
            capture_key=capture_key,
            reports=S3Location(bucket=data_bucket_name, key=REPORTS_PREFIX),
            baseline=S3Location(bucket=data_bucket_name, key=BASELINE_PREFIX),
            statistics_uri=statistics_uri,
            constraints_uri=constraints_uri,
            data_key=data_key,
            schedule_expression=settings.schedule_expression,
            memory_size_mb=settings.analysis_memory_mb,
            timeout=Duration.seconds(settings.analysis_timeout_seconds),
            drift_metrics_namespace=settings.drift_metrics_namespace,
            output_columns_position=settings.baseline_output_columns_position,
            # Runs are evenly spaced (settings refuse other schedules for this engine): each covers the gap.
            analysis_window_hours=schedule_period_seconds(settings.schedule_expression) // 3600,
            processing=ProcessingRuntime(
                image=SparkEngineImage(self, "SparkEngineImage"),
                instance_type=settings.monitoring_instance_type,
                instance_count=settings.monitoring_instance_count,
                volume_size_gb=settings.monitoring_volume_size_gb,
                max_runtime=Duration.seconds(settings.monitoring_max_runtime_seconds),
                dead_letter_key=self.alerts_key,
                encrypt_inter_container_traffic=settings.encrypt_inter_container_traffic,
                subnet_ids=settings.subnet_ids,
                security_group_ids=settings.security_group_ids,
            )
            if settings.builtin_runtime == "processing"
            else None,
        )
        # The baseline's URIs arrive as weak references, re-read only when this stack's template changes: with the
        # fingerprint in the function's environment, a new baseline changes it, and one deploy passes the new URIs.
        self.analysis.function.add_environment("BASELINE_FINGERPRINT", baseline_fingerprint)
        CfnOutput(self, "DriftAnalysisFunctionName", value=self.analysis.function.function_name)
        # An output may not re-export an import (cfn-lint W6001): the bucket's name as a plain reference here.
        CfnOutput(self, "ReportsS3Uri", value=S3Location(bucket=data_bucket_reference, key=REPORTS_PREFIX).uri)
        return self.analysis.metrics, self.analysis.violations, self.analysis.metric_failed_runs()

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
