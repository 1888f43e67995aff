"""Reading what an execution says about itself, and its S3 objects (no network: Stubber)."""

import io
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from lambdas.violation_metric.execution import (
    InvalidEventError,
    MissingReportError,
    constraints_uri_from_job,
    parse_s3_uri,
    processing_job_name,
    read_s3_object,
    schedule_name_from_arn,
    violations_uri,
)

from . import sagemaker_shapes as shapes


@pytest.fixture
def s3_stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Stubber]]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = boto3.client("s3", region_name=shapes.REGION)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


# --- the event --------------------------------------------------------------------------------------


def test_job_name_comes_from_the_event_detail() -> None:
    assert processing_job_name(shapes.state_change_event()) == shapes.JOB_NAME


def test_job_name_falls_back_to_the_job_arn() -> None:
    event = shapes.state_change_event()
    del event["detail"]["ProcessingJobName"]

    assert processing_job_name(event) == shapes.JOB_NAME


@pytest.mark.parametrize("event", [{}, {"detail-type": "Scheduled Event", "detail": {}}, {"detail": "x"}])
def test_an_event_without_a_job_is_invalid(event: dict[str, Any]) -> None:
    with pytest.raises(InvalidEventError, match="ProcessingJobName"):
        processing_job_name(event)


# --- the schedule -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arn", "name"),
    [
        (shapes.schedule_arn(), shapes.SCHEDULE_NAME),
        ("arn:aws-cn:sagemaker:cn-north-1:123456789012:monitoring-schedule/s-1", "s-1"),
        (None, None),
        ("", None),
        ("arn:aws:sagemaker:us-east-1:123456789012:monitoring-schedule/", None),
        (shapes.job_arn(), None),
    ],
)
def test_schedule_name_from_arn(arn: str | None, name: str | None) -> None:
    assert schedule_name_from_arn(arn) == name


# --- where the report is ----------------------------------------------------------------------------


def test_violations_are_in_the_output_of_output_path() -> None:
    assert violations_uri(shapes.monitoring_execution()) == f"{shapes.OUTPUT_URI}/constraint_violations.json"


def test_output_path_picks_one_of_several_outputs() -> None:
    description = shapes.monitoring_execution()
    outputs = description["ProcessingOutputConfig"]["Outputs"]
    outputs.insert(0, {"OutputName": "other", "S3Output": {"S3Uri": "s3://b/o/", "LocalPath": "/opt/ml/x"}})
    outputs[1]["S3Output"]["S3Uri"] += "/"

    assert violations_uri(description) == f"{shapes.OUTPUT_URI}/constraint_violations.json"


def test_a_single_output_is_used_when_the_environment_does_not_say() -> None:
    description = shapes.monitoring_execution()
    del description["Environment"]

    assert violations_uri(description) == f"{shapes.OUTPUT_URI}/constraint_violations.json"


@pytest.mark.parametrize("outputs", [[], [{"S3Output": {"LocalPath": "/a"}}, {"S3Output": {"LocalPath": "/b"}}]])
def test_no_or_ambiguous_outputs_are_a_report_error(outputs: list[dict[str, Any]]) -> None:
    description = shapes.monitoring_execution()
    description["ProcessingOutputConfig"]["Outputs"] = outputs
    del description["Environment"]["output_path"]

    with pytest.raises(MissingReportError, match="cannot tell which"):
        violations_uri(description)


def test_constraints_input_naming_the_object() -> None:
    assert constraints_uri_from_job(shapes.monitoring_execution()) == shapes.CONSTRAINTS_URI


def test_constraints_input_naming_a_prefix() -> None:
    description = shapes.monitoring_execution()
    description["ProcessingInputs"][0]["S3Input"]["S3Uri"] = "s3://b/baseline/run-7/"

    assert constraints_uri_from_job(description) == "s3://b/baseline/run-7/constraints.json"


def test_the_deepest_input_holding_the_constraints_wins() -> None:
    description = shapes.monitoring_execution()
    description["ProcessingInputs"].append(
        {"InputName": "everything", "S3Input": {"LocalPath": "/opt/ml/processing/", "S3Uri": "s3://b/all/"}}
    )

    assert constraints_uri_from_job(description) == shapes.CONSTRAINTS_URI


def test_no_constraints_named_by_the_job() -> None:
    assert constraints_uri_from_job(shapes.monitoring_execution(constraints_input=False)) is None


def test_constraints_path_held_by_no_input() -> None:
    description = shapes.monitoring_execution()
    description["Environment"]["baseline_constraints"] = "/elsewhere/constraints.json"

    assert constraints_uri_from_job(description) is None


@pytest.mark.parametrize("uri", ["s3://bucket", "s3://bucket/", "https://bucket/key", "bucket/key"])
def test_not_an_s3_object_uri(uri: str) -> None:
    with pytest.raises(MissingReportError, match="not an s3://bucket/key URI"):
        parse_s3_uri(uri)


# --- reading S3 -------------------------------------------------------------------------------------


def test_read_s3_object(s3_stub: tuple[Any, Stubber]) -> None:
    client, stubber = s3_stub
    stubber.add_response("get_object", {"Body": io.BytesIO(b'{"violations": []}')}, {"Bucket": "b", "Key": "k/v.json"})

    assert read_s3_object(client, "s3://b/k/v.json") == b'{"violations": []}'


@pytest.mark.parametrize("code", ["NoSuchKey", "NoSuchBucket"])
def test_a_missing_object_is_a_report_error(s3_stub: tuple[Any, Stubber], code: str) -> None:
    client, stubber = s3_stub
    stubber.add_client_error("get_object", service_error_code=code, http_status_code=404)

    with pytest.raises(MissingReportError, match="s3://b/k: no such object"):
        read_s3_object(client, "s3://b/k")


def test_access_denied_propagates(s3_stub: tuple[Any, Stubber]) -> None:
    """Without s3:ListBucket, S3 answers 403 for a missing key too: that is a permissions problem."""
    client, stubber = s3_stub
    stubber.add_client_error("get_object", service_error_code="AccessDenied", http_status_code=403)

    with pytest.raises(ClientError, match="AccessDenied"):
        read_s3_object(client, "s3://b/k")
