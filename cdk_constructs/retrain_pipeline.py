"""A small retrain pipeline: the training step as code, run by CodeBuild, started by a drift alarm."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from cdk_constructs.ecr_image import grant_pull
from cdk_constructs.nag import acknowledge, wildcard_resource_finding
from cdk_constructs.s3_location import S3Location
from cdk_constructs.secure_bucket import SecureBucket

RETRAIN_SOURCE_DIR = Path(__file__).resolve().parents[1] / "retrain"

BUILD_SPEC = {
    "version": "0.2",
    "phases": {
        "install": {"runtime-versions": {"python": "3.12"}},
        "build": {"commands": ["python start_training.py"]},
    },
}


class RetrainPipeline(Construct):
    """Source (the ``retrain/`` folder, shipped as an S3 asset) → Retrain (CodeBuild starts a training job).

    Why a SageMaker training job and not a SageMaker Pipeline: this project owns no SageMaker Pipeline, and a
    training job on the current training data with the serving image's algorithm is the smallest real
    retrain, reviewable in ``retrain/start_training.py``. A team with its own SageMaker Pipeline or
    CodePipeline names it in the ``retrain_pipeline`` setting instead, and this construct is not built.

    The pipeline has no source trigger: it starts when the violation alarm fires (``RetrainTrigger``). Like
    every new pipeline, CodePipeline runs it once when it is created.

    :param training_data: the current training data (CSV, label first, no header).
    :param training_image_uri: the built-in XGBoost image of the region.
    :param output_bucket: where new model artifacts are written, under ``output_prefix``.
    :param encryption_key: encrypts the artifacts, the build, the training volume and the model.
    :param job_name_prefix: training job names start with it; IAM is scoped to it.
    :param instance_type: training instance type. Default: ``ml.m5.large``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        training_data: S3Location,
        training_image_uri: str,
        output_bucket: s3.IBucket,
        encryption_key: kms.IKey,
        job_name_prefix: str,
        output_prefix: str = "retrain/models",
        instance_type: str = "ml.m5.large",
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        output_prefix = output_prefix.strip("/")

        # -- the role the training job runs as --------------------------------------------------------------
        self.training_role = iam.Role(
            self,
            "TrainingRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Runs retrain training jobs: reads the training data, writes the new model",
        )
        training_data.grant_read_and_list(self.training_role)
        models_arn = output_bucket.arn_for_objects(f"{output_prefix}/*")
        self.training_role.add_to_policy(
            iam.PolicyStatement(sid="WriteModels", actions=["s3:PutObject"], resources=[models_arn])
        )
        self.training_role.add_to_policy(
            iam.PolicyStatement(
                sid="UseKey",
                actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:CreateGrant"],
                resources=[encryption_key.key_arn],
            )
        )
        grant_pull(self.training_role, training_image_uri)
        logs_arn = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name="/aws/sagemaker/TrainingJobs:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.training_role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteTrainingLogs",
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[logs_arn],
            )
        )
        self.training_role.add_to_policy(
            iam.PolicyStatement(
                sid="PublishTrainingMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/TrainingJobs"}},
            )
        )
        acknowledge(
            self.training_role,
            "The training job names its model objects and log streams at run time under fixed prefixes; "
            "PutMetricData supports no resource-level permissions and is held to the training namespace.",
            wildcard_resource_finding(self, models_arn),
            wildcard_resource_finding(self, logs_arn),
        )

        # -- the build that starts and watches the training job ---------------------------------------------
        training_jobs = stack.format_arn(
            service="sagemaker", resource="training-job", resource_name=f"{job_name_prefix.lower()}-*"
        )
        self.project = codebuild.PipelineProject(
            self,
            "Retrain",
            description="Starts a SageMaker training job on the current training data and waits for it",
            build_spec=codebuild.BuildSpec.from_object(BUILD_SPEC),
            environment=codebuild.BuildEnvironment(
                build_image=codebuild.LinuxBuildImage.STANDARD_7_0, compute_type=codebuild.ComputeType.SMALL
            ),
            environment_variables={
                name: codebuild.BuildEnvironmentVariable(value=value)
                for name, value in {
                    "TRAINING_DATA_URI": training_data.uri,
                    "OUTPUT_URI": output_bucket.s3_url_for_object(output_prefix),
                    "TRAINING_IMAGE": training_image_uri,
                    "TRAINING_ROLE_ARN": self.training_role.role_arn,
                    "JOB_NAME_PREFIX": job_name_prefix,
                    "INSTANCE_TYPE": instance_type,
                    "KMS_KEY_ARN": encryption_key.key_arn,
                }.items()
            },
            encryption_key=encryption_key,
            timeout=Duration.hours(2),
        )
        assert self.project.role is not None
        self.project.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="RunTrainingJobs",
                actions=["sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob"],
                resources=[training_jobs],
            )
        )
        self.project.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="PassTrainingRole",
                actions=["iam:PassRole"],
                resources=[self.training_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )

        # -- the pipeline -------------------------------------------------------------------------------------
        artifacts = SecureBucket(self, "Artifacts", encryption_key=encryption_key, expiration=Duration.days(90))
        source_asset = s3_assets.Asset(self, "Source", path=str(RETRAIN_SOURCE_DIR), exclude=["__pycache__", "*.pyc"])
        source = codepipeline.Artifact("RetrainSource")
        self.pipeline = codepipeline.Pipeline(
            self,
            "Pipeline",
            pipeline_type=codepipeline.PipelineType.V2,
            artifact_bucket=artifacts.bucket,
            restart_execution_on_update=False,
            stages=[
                codepipeline.StageProps(
                    stage_name="Source",
                    actions=[
                        actions.S3SourceAction(
                            action_name="TrainingCode",
                            bucket=source_asset.bucket,
                            bucket_key=source_asset.s3_object_key,
                            output=source,
                            trigger=actions.S3Trigger.NONE,
                        )
                    ],
                ),
                codepipeline.StageProps(
                    stage_name="Retrain",
                    actions=[actions.CodeBuildAction(action_name="TrainModel", project=self.project, input=source)],
                ),
            ],
        )

        acknowledge(
            self,
            "Roles built by aws-cdk-lib for CodePipeline and CodeBuild: artifact reads and writes (object names "
            "chosen by CodePipeline at run time, in this pipeline's own bucket and the CDK asset bucket), KMS "
            "data-key generation on this construct's key, CodeBuild report groups and log streams of this project; "
            "training jobs are limited to this pipeline's job-name prefix.",
            "AwsSolutions-IAM5[Action::s3:GetObject*]",
            "AwsSolutions-IAM5[Action::s3:GetBucket*]",
            "AwsSolutions-IAM5[Action::s3:List*]",
            "AwsSolutions-IAM5[Action::s3:DeleteObject*]",
            "AwsSolutions-IAM5[Action::s3:PutObject*]",
            "AwsSolutions-IAM5[Action::s3:Abort*]",
            "AwsSolutions-IAM5[Action::kms:ReEncrypt*]",
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
            wildcard_resource_finding(self, artifacts.bucket.arn_for_objects("*")),
            wildcard_resource_finding(self, f"{source_asset.bucket.bucket_arn}/*"),
            wildcard_resource_finding(self, training_jobs),
            wildcard_resource_finding(
                self,
                stack.format_arn(
                    service="codebuild", resource="report-group", resource_name=f"{self.project.project_name}-*"
                ),
            ),
            wildcard_resource_finding(
                self,
                stack.format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=f"/aws/codebuild/{self.project.project_name}:*",
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                ),
            ),
        )

    @property
    def pipeline_arn(self) -> str:
        return self.pipeline.pipeline_arn
