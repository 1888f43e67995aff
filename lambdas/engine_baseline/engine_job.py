"""Compute a baseline with the engine: in the function for a small dataset, in a SageMaker Processing job else.

Both write ``statistics.json`` and ``constraints.json`` into ``<OutputUri>/<job name>/``, the folder the Model
Monitor baseline resource uses, so the attributes and the audit trail (one folder per baseline, never
overwritten by a later one) are the same.

* **In the function** (dataset ≤ ``InFunctionMaxBytes``): the objects are downloaded to ``/tmp`` and profiled
  with one worker (Lambda has no ``/dev/shm``, so no process pool), then the files are written to S3. A retried
  Create (same RequestId, same name) computes and writes the same files again: idempotent.
* **In a processing job**: ``CreateProcessingJob`` with the engine image and its CLI as the entrypoint
  (``python3 -m drift_engine baseline``), the dataset as an ``S3Prefix`` input (what SageMaker downloads is then
  exactly what :func:`dataset_objects` sized), the output named ``monitoring_output`` as ``suggest_baseline``
  names it, so :func:`lambdas.baseline.baseline_job.poll` reports it unchanged.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from drift_engine.engine import build_baseline
from drift_engine.s3 import S3Location, put_json

from ..baseline.baseline_job import BASELINE_OUTPUT_NAME, CONSTRAINTS_FILE, STATISTICS_FILE, describe_job
from .request import EngineBaselineRequest

__all__ = [
    "DATASET_LOCAL_PATH",
    "OUTPUT_LOCAL_PATH",
    "DatasetObject",
    "baseline_in_function",
    "dataset_objects",
    "output_folder",
    "processing_job_request",
    "start_or_adopt_job",
]

DATASET_LOCAL_PATH: Final = "/opt/ml/processing/input/baseline_dataset_input"
OUTPUT_LOCAL_PATH: Final = "/opt/ml/processing/output"

logger = Logger(child=True)


@dataclass(frozen=True)
class DatasetObject:
    key: str
    size: int


def dataset_objects(s3: Any, dataset_uri: str) -> list[DatasetObject]:
    """The objects a processing job's ``S3Prefix`` input would download: every key starting with the URI's key."""
    location = S3Location.parse(dataset_uri)
    found: list[DatasetObject] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=location.bucket, Prefix=location.key):
        found.extend(
            DatasetObject(str(item["Key"]), int(item.get("Size", 0)))
            for item in page.get("Contents", [])
            if not str(item["Key"]).endswith("/")
        )
    return found


def output_folder(request: EngineBaselineRequest, job_name: str) -> S3Location:
    return S3Location.parse(f"{request.base.output_uri}/{job_name}")


def baseline_in_function(
    s3: Any, request: EngineBaselineRequest, job_name: str, objects: list[DatasetObject]
) -> dict[str, str]:
    """Download, profile, write the two files; returns the resource's attributes."""
    bucket = S3Location.parse(request.base.dataset_uri).bucket
    folder = output_folder(request, job_name)
    with tempfile.TemporaryDirectory(prefix="baseline-") as directory:
        paths = []
        for index, item in enumerate(objects):
            path = Path(directory) / f"{index:06d}-{Path(item.key).name}"
            s3.download_file(bucket, item.key, str(path))
            paths.append(path)
        baseline = build_baseline(
            paths,
            dataset_format=request.base.dataset_format,
            header=bool(request.base.header),
            workers=1,
        )
    put_json(s3, folder.child(STATISTICS_FILE), baseline.statistics)
    put_json(s3, folder.child(CONSTRAINTS_FILE), baseline.constraints)
    logger.info(
        "Baseline computed in the function",
        extra={"records": baseline.profile.item_count, "malformed": baseline.profile.malformed, "job_name": job_name},
    )
    return {
        "StatisticsUri": folder.child(STATISTICS_FILE).uri,
        "ConstraintsUri": folder.child(CONSTRAINTS_FILE).uri,
        "JobName": job_name,
    }


def processing_job_request(request: EngineBaselineRequest, job_name: str) -> dict[str, Any]:
    """The ``CreateProcessingJob`` request running the engine's CLI on the dataset."""
    base = request.base
    arguments = ["python3", "-m", "drift_engine", "baseline", "--dataset", DATASET_LOCAL_PATH]
    arguments += ["--format", base.dataset_format, "--header" if base.header else "--no-header"]
    arguments += ["--output", OUTPUT_LOCAL_PATH]
    cluster: dict[str, Any] = {
        "InstanceCount": base.instance_count,
        "InstanceType": base.instance_type,
        "VolumeSizeInGB": base.volume_size_in_gb,
    }
    output_config: dict[str, Any] = {
        "Outputs": [
            {
                "OutputName": BASELINE_OUTPUT_NAME,
                "S3Output": {
                    "S3Uri": output_folder(request, job_name).uri,
                    "LocalPath": OUTPUT_LOCAL_PATH,
                    "S3UploadMode": "EndOfJob",
                },
            }
        ]
    }
    if base.kms_key_arn is not None:
        cluster["VolumeKmsKeyId"] = base.kms_key_arn
        output_config["KmsKeyId"] = base.kms_key_arn
    return {
        "ProcessingJobName": job_name,
        "ProcessingInputs": [
            {
                "InputName": "baseline_dataset_input",
                "S3Input": {
                    "S3Uri": base.dataset_uri,
                    "LocalPath": DATASET_LOCAL_PATH,
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                    "S3DataDistributionType": "FullyReplicated",
                },
            }
        ],
        "ProcessingOutputConfig": output_config,
        "ProcessingResources": {"ClusterConfig": cluster},
        "StoppingCondition": {"MaxRuntimeInSeconds": base.max_runtime_in_seconds},
        "AppSpecification": {"ImageUri": request.image_uri, "ContainerEntrypoint": arguments},
        "RoleArn": base.role_arn,
        "Tags": [{"Key": "created-by", "Value": "drift-engine-baseline"}],
    }


def start_or_adopt_job(sagemaker: Any, request: EngineBaselineRequest, job_name: str) -> bool:
    """Make sure the processing job exists; True when this call started it (a retry adopts the first one's)."""
    if describe_job(sagemaker, job_name) is not None:
        logger.info("Adopting the baseline job a previous attempt started", extra={"job_name": job_name})
        return False
    try:
        sagemaker.create_processing_job(**processing_job_request(request, job_name))
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceInUse":
            raise
        logger.info("Adopting the baseline job a concurrent attempt started", extra={"job_name": job_name})
        return False
    logger.info("Started the baseline processing job", extra={"job_name": job_name})
    return True
