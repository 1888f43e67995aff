"""A data-quality monitoring schedule on an endpoint: its job definition, its role and its metrics."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any

import jsii
from aws_cdk import Duration, IResolveContext, IStringProducer, Lazy, Names, Stack, Token
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

#: MonitoringJobDefinitionName in botocore's SageMaker service model: at most 63 characters of this pattern.
JOB_DEFINITION_NAME_MAX_LENGTH = 63
_JOB_DEFINITION_NAME_RE = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
_NAME_MIDDLE = "-data-quality-"
DIGEST_LENGTH = 12
#: Longest ``name_prefix``: the rest of the name is "-data-quality-" and the digest.
MAX_NAME_PREFIX_LENGTH = JOB_DEFINITION_NAME_MAX_LENGTH - len(_NAME_MIDDLE) - DIGEST_LENGTH


class DataQualityMonitor(Construct):
    """Compares what an endpoint captured with a baseline on a schedule, and publishes drift metrics.

    The job definition sets ``publish_cloudwatch_metrics=Enabled``: without it Model Monitor writes its
    reports but publishes no ``feature_baseline_drift_*`` metrics, and no drift alarm can ever fire.

    The job definition is named ``<name_prefix>-data-quality-<digest>``: the digest covers its synthesized
    properties (every one of them is create-only, so any change replaces it) and ``baseline_fingerprint``. A new
    definition therefore always has a new name and never collides with the one it replaces, and the schedule
    names it literally: nothing is parsed out of an ARN, whose case SageMaker does not keep (boto/boto3#4606).
    Because a new baseline changes the name, the monitoring template changes with it, and CloudFormation
    re-reads the baseline's URIs (weak cross-stack references are resolved only when the stack is updated).
    The schedule's name is derived from its construct path, unique per stack.

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
    :param name_prefix: start of the job definition's name: lower-case letters, digits and hyphens, at most
        37 characters. Default: the stack's name, shortened.
    :param baseline_fingerprint: a value that changes whenever the baseline's inputs change (its dataset, format,
        header, ...), such as ``SuggestedBaseline.fingerprint``. Default: none (only the URIs' references count).
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
        name_prefix: str | None = None,
        baseline_fingerprint: str = "",
    ) -> None:
        super().__init__(scope, construct_id)
        name_prefix = name_prefix or Stack.of(self).stack_name.lower()[:MAX_NAME_PREFIX_LENGTH].rstrip("-")
        if not Token.is_unresolved(name_prefix) and not (
            len(name_prefix) <= MAX_NAME_PREFIX_LENGTH
            and _JOB_DEFINITION_NAME_RE.fullmatch(name_prefix)
            and name_prefix == name_prefix.lower()
        ):
            raise ValueError(
                f"name_prefix must be 1 to {MAX_NAME_PREFIX_LENGTH} lower-case letters, digits or hyphens, starting "
                f"and ending with a letter or digit, got {name_prefix!r}"
            )
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

        # Named after everything that defines it, computed when the template is rendered (tags and overrides
        # included). The schedule uses the literal name, so the order between the two is stated explicitly.
        self.job_definition_name = Lazy.uncached_string(
            _JobDefinitionName(self.job_definition, prefix=name_prefix, baseline_fingerprint=baseline_fingerprint)
        )
        self.job_definition.job_definition_name = self.job_definition_name
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
        # Created after the job definition it names and deleted before it: SageMaker refuses to delete a job
        # definition a schedule still uses. On a replacement, CloudFormation creates the new definition, points
        # the schedule at it, and deletes the old one in the cleanup phase.
        self.schedule.node.add_dependency(self.job_definition)
        # SageMaker refuses to delete a Pending schedule: hold CloudFormation until it has settled.
        self.guard = ScheduleGuard(
            self, "ScheduleGuard", schedule=self.schedule, schedule_name=self.schedule_name, log_key=encryption_key
        )
        #: What the executions publish, with ``publish_cloudwatch_metrics=Enabled``: Model Monitor's namespace.
        self.metrics = DataQualityMetrics(endpoint_name=endpoint_name, schedule_name=self.schedule_name)

    @property
    def schedule_arn(self) -> str:
        return self.schedule.attr_monitoring_schedule_arn


@jsii.implements(IStringProducer)
class _JobDefinitionName:
    """``<prefix>-data-quality-<digest>``, the digest over the definition's rendered properties (its name left out)
    and the baseline's fingerprint: equal inputs give equal names, any change a new one."""

    def __init__(
        self, job_definition: sagemaker.CfnDataQualityJobDefinition, *, prefix: str, baseline_fingerprint: str
    ) -> None:
        self._job_definition = job_definition
        self._prefix = prefix
        self._baseline_fingerprint = baseline_fingerprint

    def produce(self, context: IResolveContext) -> str:
        stack = Stack.of(self._job_definition)
        properties: dict[str, Any] = dict(self._job_definition._cfn_properties)
        properties.pop("jobDefinitionName", None)
        rendered = stack.resolve(properties)
        seed = json.dumps(
            {"properties": rendered, "baseline": stack.resolve(self._baseline_fingerprint)},
            sort_keys=True,
            separators=(",", ":"),
        )
        digest = hashlib.sha256(seed.encode()).hexdigest()[:DIGEST_LENGTH]
        name = f"{stack.resolve(self._prefix)}{_NAME_MIDDLE}{digest}"
        if len(name) > JOB_DEFINITION_NAME_MAX_LENGTH or not _JOB_DEFINITION_NAME_RE.fullmatch(name):
            raise ValueError(f"job definition name {name!r} is not a valid MonitoringJobDefinitionName")
        return name
