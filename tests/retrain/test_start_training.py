"""The retrain step starts the training job the pipeline promises, and fails the build when training fails."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from demo.generate_demo import NUM_ROUNDS, XGBOOST_PARAMS
from retrain import start_training

NOW = dt.datetime(2026, 11, 23, 15, 4, 5, tzinfo=dt.UTC)
ENVIRONMENT = {
    "TRAINING_DATA_URI": "s3://training-bucket/data/train.csv",
    "OUTPUT_URI": "s3://monitoring-data/retrain/models",
    "TRAINING_IMAGE": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.2-0",
    "TRAINING_ROLE_ARN": "arn:aws:iam::123456789012:role/retrain-training",
    "JOB_NAME_PREFIX": "model-monitor-default-retrain",
    "INSTANCE_TYPE": "ml.m5.large",
    "KMS_KEY_ARN": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
}


@pytest.fixture
def sagemaker(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield boto3.client("sagemaker", region_name="us-east-1")


def test_hyperparameters_are_the_ones_the_demo_model_was_trained_with() -> None:
    shipped = json.loads(start_training.HYPERPARAMETERS.read_text())
    assert shipped["num_round"] == str(NUM_ROUNDS)
    for name in ("objective", "max_depth", "eta", "subsample"):
        assert shipped[name] == str(XGBOOST_PARAMS[name])


def test_request_trains_on_the_current_data_with_the_xgboost_image_encrypted() -> None:
    request = start_training.training_request(ENVIRONMENT, {"num_round": "40"}, NOW)
    assert request["TrainingJobName"] == "model-monitor-default-retrain-20261123-150405"
    assert request["AlgorithmSpecification"] == {
        "TrainingImage": ENVIRONMENT["TRAINING_IMAGE"],
        "TrainingInputMode": "File",
    }
    [channel] = request["InputDataConfig"]
    assert channel["ChannelName"] == "train" and channel["ContentType"] == "text/csv"
    assert channel["DataSource"]["S3DataSource"]["S3Uri"] == ENVIRONMENT["TRAINING_DATA_URI"]
    assert request["OutputDataConfig"] == {
        "S3OutputPath": ENVIRONMENT["OUTPUT_URI"],
        "KmsKeyId": ENVIRONMENT["KMS_KEY_ARN"],
    }
    assert request["ResourceConfig"]["VolumeKmsKeyId"] == ENVIRONMENT["KMS_KEY_ARN"]
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"TRAINING_DATA_URI": ""}, "lacks TRAINING_DATA_URI"),
        ({"OUTPUT_URI": "/tmp/models"}, "OUTPUT_URI must be an s3:// URI"),
        ({"JOB_NAME_PREFIX": "x" * 60}, "exceeds 63 characters"),
    ],
)
def test_bad_build_environment_fails_before_any_call(change: dict[str, str], message: str) -> None:
    with pytest.raises(start_training.ConfigurationError, match=message):
        start_training.training_request({**ENVIRONMENT, **change}, {}, NOW)


def test_run_creates_the_job_in_sagemaker_and_succeeds_when_it_completes(
    sagemaker: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert start_training.run(sagemaker, ENVIRONMENT, NOW) == 0  # moto completes training jobs at once

    described = sagemaker.describe_training_job(TrainingJobName="model-monitor-default-retrain-20261123-150405")
    assert described["AlgorithmSpecification"]["TrainingImage"] == ENVIRONMENT["TRAINING_IMAGE"]
    assert described["RoleArn"] == ENVIRONMENT["TRAINING_ROLE_ARN"]
    assert described["HyperParameters"]["num_round"] == str(NUM_ROUNDS)
    assert "new model: " in capsys.readouterr().out


def test_a_failed_training_fails_the_build_with_its_reason(capsys: pytest.CaptureFixture[str]) -> None:
    # Stubber, not moto: moto's training jobs complete at once and never fail.
    client = boto3.client("sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    name = "model-monitor-default-retrain-20261123-150405"
    with Stubber(client) as stub:
        stub.add_response(
            "create_training_job", {"TrainingJobArn": f"arn:aws:sagemaker:us-east-1:1:training-job/{name}"}
        )
        for status, secondary in (("InProgress", "Starting"), ("InProgress", "Training"), ("Failed", "Failed")):
            stub.add_response(
                "describe_training_job",
                _description(name, status, secondary, failure="AlgorithmError: label column has NaN"),
            )
        exit_code = start_training.run(client, ENVIRONMENT, NOW, sleep=lambda _seconds: None)
        stub.assert_no_pending_responses()
    assert exit_code == 1
    output = capsys.readouterr()
    assert f"{name}: InProgress/Starting" in output.out and f"{name}: InProgress/Training" in output.out
    assert "ended Failed: AlgorithmError: label column has NaN" in output.err


def _description(name: str, status: str, secondary: str, *, failure: str) -> dict[str, Any]:
    description: dict[str, Any] = {
        "TrainingJobName": name,
        "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}",
        "TrainingJobStatus": status,
        "SecondaryStatus": secondary,
        "AlgorithmSpecification": {"TrainingInputMode": "File"},
        "ModelArtifacts": {"S3ModelArtifacts": ""},
        "ResourceConfig": {"VolumeSizeInGB": 10},
        "StoppingCondition": {},
        "CreationTime": NOW,
    }
    if status == "Failed":
        description["FailureReason"] = failure
    return description
