"""The drift engine's container image: one asset for every entry point of the builtin engine."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import IgnoreMode, Stack, Token
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from cdk_constructs.sagemaker_images import image_uri

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
#: The image's recipe, written with the engine (``drift_engine/Dockerfile``); its build context is the
#: repository root, so that it can copy the engine and the functions that run it.
DOCKERFILE = "drift_engine/Dockerfile"

#: What the build context holds, as Docker ignore rules: nothing but the engine, the functions that run it
#: (the engine baseline reuses three modules of the Model Monitor baseline: its request parsing, job naming and
#: polling, which import no SageMaker SDK) and the demo's feature names. Staging copies only these files into the
#: cloud assembly, and the asset's hash (so the image tag) changes only when one of them does, not on every edit
#: of a test or a stack.
BUILD_CONTEXT = (
    "*",
    "!drift_engine",
    "!lambdas/__init__.py",
    "!lambdas/baseline/__init__.py",
    "!lambdas/baseline/request.py",
    "!lambdas/baseline/baseline_job.py",
    "!lambdas/drift_analysis",
    "!lambdas/engine_baseline",
    "!lambdas/violation_metric",
    "!demo/__init__.py",
    "!demo/features.py",
    "**/__pycache__",
    "**/*.pyc",
)


class EngineImage(Construct):
    """The engine image as a CDK asset, built and pushed by ``cdk deploy``; synth only stages its files.

    One image serves the hourly analysis function, the baseline custom resource and the baseline Processing
    job: each picks its entry point (``cmd`` for a function, the job's container entrypoint). Two stacks that
    each build an ``EngineImage`` get the same asset, built and pushed once.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.asset = ecr_assets.DockerImageAsset(
            self,
            "Asset",
            directory=str(REPOSITORY_ROOT),
            file=DOCKERFILE,
            exclude=list(BUILD_CONTEXT),
            ignore_mode=IgnoreMode.DOCKER,
            platform=ecr_assets.Platform.LINUX_AMD64,
        )

    @property
    def image_uri(self) -> str:
        return self.asset.image_uri

    def function_code(self, handler: str) -> lambda_.DockerImageCode:
        """The image as a Lambda function's code, running ``handler`` (``module.function``)."""
        return lambda_.DockerImageCode.from_ecr(
            self.asset.repository, tag_or_digest=self.asset.image_tag, cmd=[handler]
        )

    def grant_pull(self, grantee: iam.IGrantable) -> iam.Grant:
        """What a SageMaker job's role needs to start a container from the image."""
        return self.asset.repository.grant_pull(grantee)


#: The Spark image's recipe (``drift_engine/Dockerfile.spark``), built on SageMaker's Spark processing image.
SPARK_DOCKERFILE = "drift_engine/Dockerfile.spark"
#: Its build context: the engine, its requirements and spark-submit's entry script only.
SPARK_BUILD_CONTEXT = (
    "*",
    "!drift_engine/*.py",
    "!drift_engine/requirements.txt",
    "!drift_engine/spark-requirements.txt",
    "!drift_engine/Dockerfile.spark",
    "!scripts/spark_drift_engine.py",
)


class SparkEngineImage(Construct):
    """The engine on SageMaker's Spark 3.5 processing image (py312), as a CDK asset built by ``cdk deploy``.

    The base image is the stack's region's (``sagemaker_images``, "spark-processing"), passed as the ``BASE_IMAGE``
    build argument, so the stack needs a concrete region: Docker build arguments are fixed in the cloud assembly,
    they cannot follow ``AWS::Region`` at deploy time. Synth only stages the build context; nothing is built.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        region = Stack.of(self).region
        if Token.is_unresolved(region):
            raise ValueError(
                "SparkEngineImage needs a stack with a concrete region: its base image is SageMaker's Spark image "
                "of that region, and a Docker build argument cannot be resolved at deploy time"
            )
        #: SageMaker's Spark image this one is built from.
        self.base_image_uri = image_uri(self, "spark-processing")
        self.asset = ecr_assets.DockerImageAsset(
            self,
            "Asset",
            directory=str(REPOSITORY_ROOT),
            file=SPARK_DOCKERFILE,
            build_args={"BASE_IMAGE": self.base_image_uri},
            exclude=list(SPARK_BUILD_CONTEXT),
            ignore_mode=IgnoreMode.DOCKER,
            platform=ecr_assets.Platform.LINUX_AMD64,
        )

    @property
    def image_uri(self) -> str:
        return self.asset.image_uri

    def grant_pull(self, grantee: iam.IGrantable) -> iam.Grant:
        """What a Processing job's role needs to start containers from the image."""
        return self.asset.repository.grant_pull(grantee)
