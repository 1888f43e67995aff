"""Retrain step of the retrain pipeline: one SageMaker training job on the current training data.

CodeBuild runs this file from the pipeline's source artifact (``retrain/`` of this repository, shipped as a
CDK asset). It starts a training job with SageMaker's built-in XGBoost container, the hyperparameters in
``hyperparameters.json`` beside it, and waits, so the pipeline execution fails when the training fails and
shows why. Configuration comes from the CodeBuild project's environment, set by the stack:

``TRAINING_DATA_URI``   s3:// URI of the training CSV (label first, no header)
``OUTPUT_URI``          s3:// prefix for the new model artifact
``TRAINING_IMAGE``      the XGBoost image of the region
``TRAINING_ROLE_ARN``   the role the training job runs as
``JOB_NAME_PREFIX``     the job name's prefix (IAM is scoped to it)
``INSTANCE_TYPE``       training instance type
``KMS_KEY_ARN``         encrypts the volume and the output
``MAX_RUNTIME_SECONDS`` the job's stopping condition (optional, default 3600)

Standard library and boto3 only: the build image has both.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

REQUIRED_ENVIRONMENT = (
    "TRAINING_DATA_URI",
    "OUTPUT_URI",
    "TRAINING_IMAGE",
    "TRAINING_ROLE_ARN",
    "JOB_NAME_PREFIX",
    "INSTANCE_TYPE",
    "KMS_KEY_ARN",
)
HYPERPARAMETERS = Path(__file__).with_name("hyperparameters.json")
ENDED = {"Completed", "Failed", "Stopped"}


class ConfigurationError(ValueError):
    """The build's environment lacks a value this step needs."""


def job_name(prefix: str, now: dt.datetime) -> str:
    """``<prefix>-YYYYmmdd-HHMMSS``: unique per second, at most 63 characters, sortable."""
    name = f"{prefix}-{now:%Y%m%d-%H%M%S}"
    if len(name) > 63:
        raise ConfigurationError(f"JOB_NAME_PREFIX {prefix!r} is too long: the job name {name!r} exceeds 63 characters")
    return name


def training_request(
    environment: Mapping[str, str], hyperparameters: Mapping[str, str], now: dt.datetime
) -> dict[str, Any]:
    """The CreateTrainingJob request for this build."""
    missing = [name for name in REQUIRED_ENVIRONMENT if not environment.get(name)]
    if missing:
        raise ConfigurationError(f"the build environment lacks {', '.join(missing)}")
    for name in ("TRAINING_DATA_URI", "OUTPUT_URI"):
        if not environment[name].startswith("s3://"):
            raise ConfigurationError(f"{name} must be an s3:// URI, got {environment[name]!r}")
    key = environment["KMS_KEY_ARN"]
    return {
        "TrainingJobName": job_name(environment["JOB_NAME_PREFIX"], now),
        "AlgorithmSpecification": {"TrainingImage": environment["TRAINING_IMAGE"], "TrainingInputMode": "File"},
        "RoleArn": environment["TRAINING_ROLE_ARN"],
        "HyperParameters": dict(hyperparameters),
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "ContentType": "text/csv",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": environment["TRAINING_DATA_URI"],
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
        ],
        "OutputDataConfig": {"S3OutputPath": environment["OUTPUT_URI"], "KmsKeyId": key},
        "ResourceConfig": {
            "InstanceType": environment["INSTANCE_TYPE"],
            "InstanceCount": 1,
            "VolumeSizeInGB": 10,
            "VolumeKmsKeyId": key,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": int(environment.get("MAX_RUNTIME_SECONDS") or 3600)},
        "EnableInterContainerTrafficEncryption": True,
    }


def wait_for(
    sagemaker: Any,
    name: str,
    *,
    poll_seconds: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Poll DescribeTrainingJob until the job ends; print each change of status so the build log tells the story."""
    last = ""
    while True:
        description: dict[str, Any] = sagemaker.describe_training_job(TrainingJobName=name)
        status = f"{description['TrainingJobStatus']}/{description.get('SecondaryStatus', '')}"
        if status != last:
            say(f"{name}: {status}")
            last = status
        if description["TrainingJobStatus"] in ENDED:
            return description
        sleep(poll_seconds)


def run(
    sagemaker: Any, environment: Mapping[str, str], now: dt.datetime, *, sleep: Callable[[float], None] = time.sleep
) -> int:
    """Start the job, wait for it, and return the build's exit code."""
    hyperparameters = json.loads(HYPERPARAMETERS.read_text(encoding="utf-8"))
    request = training_request(environment, hyperparameters, now)
    sagemaker.create_training_job(**request)
    print(f"started training job {request['TrainingJobName']} on {environment['TRAINING_DATA_URI']}")
    description = wait_for(sagemaker, request["TrainingJobName"], sleep=sleep)
    if description["TrainingJobStatus"] != "Completed":
        print(
            f"training job {request['TrainingJobName']} ended {description['TrainingJobStatus']}: "
            f"{description.get('FailureReason', 'no reason given')}",
            file=sys.stderr,
        )
        return 1
    print(f"new model: {description['ModelArtifacts']['S3ModelArtifacts']}")
    return 0


def main() -> int:
    import boto3  # the build image has it; imported here so tests of the pure parts need no AWS setup

    try:
        return run(boto3.client("sagemaker"), os.environ, dt.datetime.now(dt.UTC))
    except ConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
