"""The baseline custom resource: ``suggest_baseline`` runs during ``cdk deploy`` and CloudFormation waits for it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from aws_cdk import CustomResource, Duration, Stack, Token
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_constructs.engine_image import EngineImage
from cdk_constructs.function_logging import FunctionLogging
from cdk_constructs.nag import acknowledge, acknowledge_unreserved_concurrency, wildcard_resource_finding
from cdk_constructs.processing_role import ProcessingRole
from cdk_constructs.provider_framework import waiting_provider
from cdk_constructs.s3_location import S3Location

BASELINE_FUNCTION_DIR = Path(__file__).resolve().parents[1] / "lambdas" / "baseline"

#: Datasets up to this size are baselined by the drift engine inside the function (``lambdas/engine_baseline``,
#: where the figure is explained: some 15 seconds of one vCPU at the measured throughput, far inside the
#: function's 15 minutes, and it fits the function's default 512 MB of /tmp); larger ones start a Processing job
#: running the engine image.
ENGINE_IN_FUNCTION_MAX_BYTES = 256 << 20

#: Longest job-name prefix the handler accepts (it appends "-" and a 16-character hash; SageMaker allows 63).
MAX_JOB_NAME_PREFIX = 40

# How long CloudFormation waits, from the outside in. Every number is below the one before it, so CloudFormation
# learns the job's real outcome (its FailureReason, or why it was stopped) before any limit of its own expires.
#
#: One custom-resource operation: ServiceTimeout is "an integer from 1 to 3600" (AWS::CloudFormation::
#: CustomResource; aws-cdk-lib's CustomResource refuses more). Set explicitly, not left to a default.
SERVICE_TIMEOUT = Duration.seconds(3600)
#: The Provider's waiter gives up after this (aws-cdk-lib: "The maximum timeout is 1 hour"). Ten minutes under
#: SERVICE_TIMEOUT leave room for on_event (at most 5 minutes, seconds in practice) and the framework's reply.
PROVIDER_TOTAL_TIMEOUT = Duration.minutes(50)
#: is_complete stops a job still running this long after SageMaker created it and fails with that reason. The
#: job is created before the waiter starts and polled every minute, so this is reached by minute 49 of the wait.
JOB_DEADLINE = Duration.minutes(48)
#: From CreateProcessingJob to the analyzer's first log line: 4 min 04 s in AWS's introduction notebook
#: (aws/amazon-sagemaker-examples, sagemaker_model_monitor/introduction/SageMaker-ModelMonitoring_outputs.ipynb
#: at commit 68fa23f: job created 00:23:53, first container log 00:27:57); allowed about 2.5 times that.
START_UP_ALLOWANCE = Duration.minutes(10)
#: From the analyzer's last log line to the job's end (upload of the two files): 27 s in the same run.
UPLOAD_ALLOWANCE = Duration.minutes(2)
#: The longest MaxRuntimeInSeconds that still ends inside JOB_DEADLINE: 48 - 10 - 2 = 36 minutes.
MAX_RUNTIME_LIMIT = Duration.minutes(
    int(JOB_DEADLINE.to_minutes() - START_UP_ALLOWANCE.to_minutes() - UPLOAD_ALLOWANCE.to_minutes())
)
DEFAULT_MAX_RUNTIME = Duration.minutes(30)

#: The properties whose change makes the handler start a new job (lambdas/baseline/request.py JOB_DEFINING_FIELDS).
JOB_DEFINING_PROPERTIES = (
    "DatasetUri",
    "DatasetFormat",
    "Header",
    "OutputColumnsPosition",
    "OutputUri",
    "InstanceType",
    "InstanceCount",
    "VolumeSizeInGB",
    "MaxRuntimeInSeconds",
    "KmsKeyArn",
)


def _fingerprint(resolved: object) -> str:
    return hashlib.sha256(json.dumps(resolved, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


class SuggestedBaseline(Construct):
    """Statistics and constraints of a dataset, computed by a Model Monitor baseline job at deploy time.

    A container-image Lambda (``lambdas/baseline``, the SageMaker SDK is too large for a zip) starts
    ``DefaultModelMonitor.suggest_baseline``; the Provider framework polls ``is_complete`` until the job ends,
    so the stack waits for the baseline and fails with the job's ``FailureReason``. Nothing here depends on
    the endpoint: CloudFormation runs the job while the endpoint is being created.

    :param dataset: ``s3://`` URI of the baseline dataset (an object, or a prefix ending in ``/``).
    :param output_bucket: where ``statistics.json`` and ``constraints.json`` are written.
    :param output_prefix: key prefix under ``output_bucket``. Default: ``baseline``.
    :param encryption_key: encrypts the job's volume and output, and the log groups of the functions.
    :param job_name_prefix: prefix of the job's name; IAM is scoped to it. At most 40 characters.
    :param dataset_format: ``csv`` or ``jsonl``. Default: ``csv``.
    :param header: whether the CSV starts with a header row. Default: True.
    :param output_columns_position: ``START`` or ``END``: where the model's output (the label) sits in each CSV
        row; the analyzer takes that column as the output. Default: ``START``, as the SageMaker SDK.
    :param instance_type: processing instance type. Default: ``ml.m5.xlarge``.
    :param instance_count: Default: 1.
    :param volume_size_gb: Default: 30.
    :param max_runtime: the job's stopping condition, at most ``MAX_RUNTIME_LIMIT`` (36 minutes): with the
        start-up and upload allowances it must end before ``JOB_DEADLINE``. Default: 30 minutes.
    :param query_interval: how often the job's status is read. Default: one minute.
    :param engine_image: compute the baseline with the project's drift engine instead of Model Monitor
        (``Custom::DriftEngineBaseline``, ``lambdas/engine_baseline`` in this image): a dataset of at most
        ``in_function_max_bytes`` is baselined in the function in seconds, a larger one by a Processing job
        running the same image. Same properties, attributes, lifecycle and failures. Default: Model Monitor.
    :param in_function_max_bytes: with ``engine_image``. Default: 256 MiB.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dataset: S3Location,
        output_bucket: s3.IBucket,
        encryption_key: kms.IKey,
        job_name_prefix: str,
        output_prefix: str = "baseline",
        dataset_format: str = "csv",
        header: bool = True,
        output_columns_position: str = "START",
        instance_type: str = "ml.m5.xlarge",
        instance_count: int = 1,
        volume_size_gb: int = 30,
        max_runtime: Duration | None = None,
        query_interval: Duration | None = None,
        engine_image: EngineImage | None = None,
        in_function_max_bytes: int = ENGINE_IN_FUNCTION_MAX_BYTES,
    ) -> None:
        super().__init__(scope, construct_id)
        if dataset_format not in ("csv", "jsonl"):
            raise ValueError(f"dataset_format must be 'csv' or 'jsonl', got {dataset_format!r}")
        if output_columns_position not in ("START", "END"):
            raise ValueError(f"output_columns_position must be 'START' or 'END', got {output_columns_position!r}")
        if not Token.is_unresolved(job_name_prefix) and not 1 <= len(job_name_prefix) <= MAX_JOB_NAME_PREFIX:
            raise ValueError(f"job_name_prefix must be 1 to {MAX_JOB_NAME_PREFIX} characters, got {job_name_prefix!r}")
        if not Token.is_unresolved(instance_type) and not instance_type.startswith("ml."):
            raise ValueError(f"instance_type must be a SageMaker instance type (ml.*), got {instance_type!r}")
        max_runtime = max_runtime or DEFAULT_MAX_RUNTIME
        if not 1 <= max_runtime.to_seconds() <= MAX_RUNTIME_LIMIT.to_seconds():
            raise ValueError(
                f"max_runtime must be from 1 second to {int(MAX_RUNTIME_LIMIT.to_minutes())} minutes (the job must end "
                f"within {int(JOB_DEADLINE.to_minutes())} minutes of its creation, start-up and upload included), "
                f"got {max_runtime.to_human_string()}"
            )

        output = S3Location(bucket=output_bucket.bucket_name, key=f"{output_prefix.strip('/')}/")
        self.encryption_key = encryption_key

        engine = "the drift engine" if engine_image else "Model Monitor"
        self.processing_role = ProcessingRole(
            self,
            "ProcessingRole",
            description=f"Runs {engine} baseline jobs: reads the dataset, writes statistics and constraints",
            encryption_key=encryption_key,
            image=engine_image.image_uri if engine_image else None,
        )
        dataset.grant_read_and_list(self.processing_role.role)
        self.processing_role.grant_write(output_bucket, output.key)

        job_arn_prefix = Stack.of(self).format_arn(
            service="sagemaker", resource="processing-job", resource_name=f"{job_name_prefix.lower()}-*"
        )
        on_event = self._function(
            "StartJob",
            handler="baseline.handler.on_event",
            description=(
                "Computes the engine baseline, or starts, adopts or stops its job, for a CloudFormation request"
                if engine_image
                else "Starts, adopts or stops the Model Monitor baseline job of a CloudFormation request"
            ),
            # The engine baselines a small dataset in this call: Lambda's longest timeout, and 3008 MB for the
            # CPU that comes with memory (one vCPU at 1769 MB); the streamed profile itself peaks near 335 MB.
            timeout=Duration.minutes(15) if engine_image else Duration.minutes(5),
            memory_size=3008 if engine_image else 1024,
            engine_image=engine_image,
            job_arn_prefix=job_arn_prefix,
            actions=[
                "sagemaker:CreateProcessingJob",
                "sagemaker:DescribeProcessingJob",
                "sagemaker:StopProcessingJob",
            ],
        )
        self.processing_role.grant_pass_role(on_event)
        is_complete = self._function(
            "WaitForJob",
            handler="baseline.handler.is_complete",
            description=(
                "Reports whether the drift engine's baseline has been computed, and how"
                if engine_image
                else "Reports whether the Model Monitor baseline job has ended, and how"
            ),
            timeout=Duration.minutes(1),
            memory_size=1024,
            engine_image=engine_image,
            job_arn_prefix=job_arn_prefix,
            # Stop: a job past JOB_DEADLINE is stopped before the wait is given up on.
            actions=["sagemaker:DescribeProcessingJob", "sagemaker:StopProcessingJob"],
            environment={"JOB_DEADLINE_SECONDS": str(int(JOB_DEADLINE.to_seconds()))},
        )

        if engine_image:
            # The function reads the dataset and writes the two files itself when it is small enough, and
            # is_complete reads them back when there was no job. Granted to the roles, where cdk-nag looks.
            on_event_role, is_complete_role = (_role_of(function) for function in (on_event, is_complete))
            dataset.grant_read_and_list(on_event_role)
            output.grant_write(on_event_role)
            for role in (on_event_role, is_complete_role):
                output.grant_read(role)
                role.add_to_policy(
                    iam.PolicyStatement(
                        sid="UseOutputKey",
                        actions=["kms:Decrypt", "kms:GenerateDataKey"],
                        resources=[encryption_key.key_arn],
                    )
                )

        provider = waiting_provider(
            self,
            on_event=on_event,
            is_complete=is_complete,
            query_interval=query_interval or Duration.minutes(1),
            total_timeout=PROVIDER_TOTAL_TIMEOUT,
            log_key=encryption_key,
        )

        self.resource_properties: dict[str, str] = {
            "DatasetUri": dataset.uri,
            "DatasetFormat": dataset_format,
            "Header": "true" if header else "false",
            "OutputColumnsPosition": output_columns_position,
            "OutputUri": output.uri.rstrip("/"),
            "RoleArn": self.processing_role.role.role_arn,
            "JobNamePrefix": job_name_prefix,
            "InstanceType": instance_type,
            "InstanceCount": str(instance_count),
            "VolumeSizeInGB": str(volume_size_gb),
            "MaxRuntimeInSeconds": str(int(max_runtime.to_seconds())),
            "KmsKeyArn": encryption_key.key_arn,
        }
        if engine_image:
            self.resource_properties["ImageUri"] = engine_image.image_uri
            self.resource_properties["InFunctionMaxBytes"] = str(in_function_max_bytes)
        self.resource = CustomResource(
            self,
            # Another logical id for the engine's resource: CloudFormation refuses to change the type of a resource
            # in place ("Update of resource type is not permitted", e.g. panther-labs/panther#1895), so switching
            # engines creates the new baseline and then deletes the old resource, whose files stay.
            "DriftEngineResource" if engine_image else "Resource",
            service_token=provider.service_token,
            resource_type="Custom::DriftEngineBaseline" if engine_image else "Custom::ModelMonitorBaseline",
            service_timeout=SERVICE_TIMEOUT,
            properties=self.resource_properties,
        )
        #: Changes exactly when the handler starts a new job (lambdas/baseline/request.py JOB_DEFINING_FIELDS; the
        #: engine's image and threshold are not job-defining): a digest of those properties as synthesized.
        #: Literal, so a stack that uses the baseline can put it in a name and have its own template change with
        #: the baseline (see DataQualityMonitor).
        self.fingerprint = _fingerprint(
            Stack.of(self).resolve({name: self.resource_properties[name] for name in JOB_DEFINING_PROPERTIES})
        )
        # The job needs its role's policies in place before it starts, not just the role.
        self.resource.node.add_dependency(self.processing_role.policy)

    @property
    def statistics_uri(self) -> str:
        """``s3://`` URI of the baseline's ``statistics.json``."""
        return self.resource.get_att_string("StatisticsUri")

    @property
    def constraints_uri(self) -> str:
        """``s3://`` URI of the baseline's ``constraints.json``."""
        return self.resource.get_att_string("ConstraintsUri")

    @property
    def job_name(self) -> str:
        return self.resource.get_att_string("JobName")

    def _function(
        self,
        construct_id: str,
        *,
        handler: str,
        description: str,
        timeout: Duration,
        job_arn_prefix: str,
        actions: list[str],
        memory_size: int,
        engine_image: EngineImage | None,
        environment: dict[str, str] | None = None,
    ) -> lambda_.DockerImageFunction:
        logging = FunctionLogging(
            self, f"{construct_id}Logging", description=description, encryption_key=self.encryption_key
        )
        logging.role.add_to_policy(iam.PolicyStatement(sid="BaselineJobs", actions=actions, resources=[job_arn_prefix]))
        acknowledge(
            logging.role,
            "The job's name is derived from the CloudFormation request at run time; the grant is limited to "
            "processing jobs whose names start with this baseline's prefix.",
            wildcard_resource_finding(self, job_arn_prefix),
        )
        function = lambda_.DockerImageFunction(
            self,
            construct_id,
            description=description,
            # One image for both entry points: the same folder gives the same asset, built and pushed once.
            code=engine_image.function_code(f"lambdas.engine_{handler}")
            if engine_image
            else lambda_.DockerImageCode.from_image_asset(
                str(BASELINE_FUNCTION_DIR), cmd=[handler], platform=ecr_assets.Platform.LINUX_AMD64
            ),
            architecture=lambda_.Architecture.X86_64,
            memory_size=memory_size,
            timeout=timeout,
            role=logging.role,
            log_group=logging.log_group,
            environment={
                "POWERTOOLS_SERVICE_NAME": "drift-engine-baseline" if engine_image else "model-monitor-baseline",
                **(environment or {}),
            },
        )
        acknowledge_unreserved_concurrency(function)
        return function


def _role_of(function: lambda_.IFunction) -> iam.Role:
    role = function.role
    assert isinstance(role, iam.Role), "the baseline functions run as their FunctionLogging role"
    return role
