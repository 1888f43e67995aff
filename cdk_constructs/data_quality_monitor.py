"""A data-quality monitoring schedule on an endpoint: its job definition, its role and its metrics."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, Fn, Names, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from cdk_constructs.drift_metrics import DATA_METRICS_NAMESPACE, DataQualityMetrics
from cdk_constructs.nag import acknowledge
from cdk_constructs.processing_role import ProcessingRole
from cdk_constructs.sagemaker_images import image_uri
from cdk_constructs.schedule_guard import ScheduleGuard

ENDPOINT_INPUT_PATH = "/opt/ml/processing/input/endpoint"
OUTPUT_PATH = "/opt/ml/processing/output"


class DataQualityMonitor(Construct):
    """Compares what an endpoint captured with a baseline on a schedule, and publishes drift metrics.

    The job definition sets ``publish_cloudwatch_metrics=Enabled``: without it Model Monitor writes its
    reports but publishes no ``feature_baseline_drift_*`` metrics, and no drift alarm can ever fire. Neither
    the job definition nor the schedule has a hard-coded name: CloudFormation names the job definition (it
    is replaced on every change, and a fixed name would collide with the one being replaced), and the
    schedule's name is derived from its construct path, unique per stack.

    :param endpoint_name: the endpoint whose captured data is analysed.
    :param statistics_uri: ``s3://`` URI of the baseline ``statistics.json``.
    :param constraints_uri: ``s3://`` URI of the baseline ``constraints.json``.
    :param output_bucket: where monitoring reports are written.
    :param output_prefix: key prefix of the reports. Default: ``monitoring-reports``.
    :param encryption_key: encrypts the job's volume and its reports, and the schedule guard's log groups.
    :param schedule_expression: Default: hourly, ``cron(0 * ? * * *)``.
    :param instance_type: Default: ``ml.m5.xlarge``.
    :param instance_count: Default: 1.
    :param volume_size_gb: Default: 20.
    :param max_runtime: Default: one hour (the most an hourly schedule allows).
    :param subnet_ids: run the job in these subnets. Default: no VPC.
    :param security_group_ids: with ``subnet_ids``.
    :param enable_network_isolation: Default: False.
    :param encrypt_inter_container_traffic: Default: True.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint_name: str,
        statistics_uri: str,
        constraints_uri: str,
        output_bucket: s3.IBucket,
        encryption_key: kms.IKey,
        output_prefix: str = "monitoring-reports",
        schedule_expression: str = "cron(0 * ? * * *)",
        instance_type: str = "ml.m5.xlarge",
        instance_count: int = 1,
        volume_size_gb: int = 20,
        max_runtime: Duration | None = None,
        subnet_ids: Sequence[str] = (),
        security_group_ids: Sequence[str] = (),
        enable_network_isolation: bool = False,
        encrypt_inter_container_traffic: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        if not Token.is_unresolved(instance_type) and not instance_type.startswith("ml."):
            raise ValueError(f"instance_type must be a SageMaker instance type (ml.*), got {instance_type!r}")
        if bool(subnet_ids) != bool(security_group_ids):
            raise ValueError(
                f"subnet_ids and security_group_ids go together, got {list(subnet_ids)} and {list(security_group_ids)}"
            )
        max_runtime = max_runtime or Duration.hours(1)
        self.endpoint_name = endpoint_name
        self.output_prefix = output_prefix.strip("/")
        self.reports_s3_uri = output_bucket.s3_url_for_object(self.output_prefix)

        self.processing_role = ProcessingRole(
            self,
            "ProcessingRole",
            description="Runs Model Monitor data-quality executions: reads captures and baseline, writes reports",
            encryption_key=encryption_key,
        )
        self.processing_role.grant_write(output_bucket, f"{self.output_prefix}/")
        self.role = self.processing_role.role
        # The analyzer publishes the feature_* metrics itself, with the job's role: without this grant the
        # executions succeed, write their reports, and no drift metric (hence no drift alarm) ever exists.
        # The developer guide's CreateProcessingJob execution-role policy grants cloudwatch:PutMetricData;
        # PutMetricData has no resource types (service authorization reference), so "*" held to the one
        # namespace by cloudwatch:namespace, as in CloudWatch's "Using condition keys to limit access to
        # CloudWatch namespaces".
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="PublishDataQualityMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": DATA_METRICS_NAMESPACE}},
            )
        )
        acknowledge(
            self.role,
            "cloudwatch:PutMetricData supports no resource-level permissions; it is held to Model Monitor's "
            f"data-metrics namespace ({DATA_METRICS_NAMESPACE}) by the cloudwatch:namespace condition.",
            "AwsSolutions-IAM5[Resource::*]",
        )

        network_config = sagemaker.CfnDataQualityJobDefinition.NetworkConfigProperty(
            enable_inter_container_traffic_encryption=encrypt_inter_container_traffic,
            enable_network_isolation=enable_network_isolation,
            vpc_config=sagemaker.CfnDataQualityJobDefinition.VpcConfigProperty(
                subnets=list(subnet_ids), security_group_ids=list(security_group_ids)
            )
            if subnet_ids
            else None,
        )
        self.job_definition = sagemaker.CfnDataQualityJobDefinition(
            self,
            "JobDefinition",
            role_arn=self.role.role_arn,
            data_quality_app_specification=sagemaker.CfnDataQualityJobDefinition.DataQualityAppSpecificationProperty(
                image_uri=image_uri(self, "model-monitor"),
                environment={"publish_cloudwatch_metrics": "Enabled"},
            ),
            data_quality_baseline_config=sagemaker.CfnDataQualityJobDefinition.DataQualityBaselineConfigProperty(
                statistics_resource=sagemaker.CfnDataQualityJobDefinition.StatisticsResourceProperty(
                    s3_uri=statistics_uri
                ),
                constraints_resource=sagemaker.CfnDataQualityJobDefinition.ConstraintsResourceProperty(
                    s3_uri=constraints_uri
                ),
            ),
            data_quality_job_input=sagemaker.CfnDataQualityJobDefinition.DataQualityJobInputProperty(
                endpoint_input=sagemaker.CfnDataQualityJobDefinition.EndpointInputProperty(
                    endpoint_name=endpoint_name,
                    local_path=ENDPOINT_INPUT_PATH,
                    s3_input_mode="File",
                    s3_data_distribution_type="FullyReplicated",
                )
            ),
            data_quality_job_output_config=sagemaker.CfnDataQualityJobDefinition.MonitoringOutputConfigProperty(
                kms_key_id=encryption_key.key_arn,
                monitoring_outputs=[
                    sagemaker.CfnDataQualityJobDefinition.MonitoringOutputProperty(
                        s3_output=sagemaker.CfnDataQualityJobDefinition.S3OutputProperty(
                            local_path=OUTPUT_PATH, s3_uri=self.reports_s3_uri, s3_upload_mode="EndOfJob"
                        )
                    )
                ],
            ),
            job_resources=sagemaker.CfnDataQualityJobDefinition.MonitoringResourcesProperty(
                cluster_config=sagemaker.CfnDataQualityJobDefinition.ClusterConfigProperty(
                    instance_count=instance_count,
                    instance_type=instance_type,
                    volume_size_in_gb=volume_size_gb,
                    volume_kms_key_id=encryption_key.key_arn,
                )
            ),
            network_config=network_config,
            stopping_condition=sagemaker.CfnDataQualityJobDefinition.StoppingConditionProperty(
                max_runtime_in_seconds=int(max_runtime.to_seconds())
            ),
        )
        # The job definition is validated against its role on creation: the policies must exist first.
        self.job_definition.node.add_dependency(self.processing_role.policy)

        # The job definition has no name attribute; its Ref is the ARN ".../data-quality-job-definition/<name>".
        self.job_definition_name = Fn.select(1, Fn.split("/", self.job_definition.ref))
        # The schedule must be named: the name is unique per stack and construct path, never typed by hand.
        # Lower case, as SageMaker writes it in ARNs, so the name in metric dimensions and events matches.
        self.schedule_name = Names.unique_resource_name(self, max_length=63, separator="-").lower()
        self.schedule = sagemaker.CfnMonitoringSchedule(
            self,
            "Schedule",
            monitoring_schedule_name=self.schedule_name,
            monitoring_schedule_config=sagemaker.CfnMonitoringSchedule.MonitoringScheduleConfigProperty(
                monitoring_job_definition_name=self.job_definition_name,
                monitoring_type="DataQuality",
                schedule_config=sagemaker.CfnMonitoringSchedule.ScheduleConfigProperty(
                    schedule_expression=schedule_expression
                ),
            ),
        )
        # SageMaker refuses to delete a Pending schedule: hold CloudFormation until it has settled.
        self.guard = ScheduleGuard(
            self, "ScheduleGuard", schedule=self.schedule, schedule_name=self.schedule_name, log_key=encryption_key
        )
        #: What the executions publish, with ``publish_cloudwatch_metrics=Enabled``: Model Monitor's namespace.
        self.metrics = DataQualityMetrics(endpoint_name=endpoint_name, schedule_name=self.schedule_name)

    @property
    def schedule_arn(self) -> str:
        return self.schedule.attr_monitoring_schedule_arn
