"""ResourceProperties parsing: defaults, the errors a template author sees, Update decisions, names."""

from __future__ import annotations

import re

import pytest

from lambdas.baseline.request import (
    JOB_DEFINING_FIELDS,
    BaselineRequest,
    InvalidPropertiesError,
    derive_job_name,
    is_job_name,
    needs_new_job,
    parse_properties,
)

from .support import DATASET_URI, KMS_KEY_ARN, OUTPUT_URI, ROLE_ARN, STACK_ID, properties


def test_defaults_are_applied() -> None:
    assert parse_properties(properties()) == BaselineRequest(
        dataset_uri=DATASET_URI,
        dataset_format="csv",
        header=True,
        output_columns_position="START",
        output_uri=OUTPUT_URI,
        role_arn=ROLE_ARN,
        job_name_prefix="mm-baseline",
        instance_type="ml.m5.xlarge",
        instance_count=1,
        volume_size_in_gb=30,
        max_runtime_in_seconds=3600,
        kms_key_arn=None,
    )


def test_every_property_is_read() -> None:
    request = parse_properties(
        properties(
            DatasetFormat="csv",
            Header="FALSE",
            OutputColumnsPosition="END",
            OutputUri=OUTPUT_URI + "/",
            InstanceType="ml.c5.2xlarge",
            InstanceCount="2",
            VolumeSizeInGB="100",
            MaxRuntimeInSeconds="7200",
            KmsKeyArn=KMS_KEY_ARN,
        )
    )
    assert request.header is False
    assert request.output_columns_position == "END"
    assert request.output_uri == OUTPUT_URI  # trailing slash dropped: same place, same baseline
    assert (request.instance_type, request.instance_count) == ("ml.c5.2xlarge", 2)
    assert (request.volume_size_in_gb, request.max_runtime_in_seconds) == (100, 7200)
    assert request.kms_key_arn == KMS_KEY_ARN


def test_jsonl_has_no_header() -> None:
    request = parse_properties(properties(DatasetFormat="jsonl", Header="false", OutputColumnsPosition="END"))
    assert (request.dataset_format, request.header, request.output_columns_position) == ("jsonl", None, None)


def test_empty_optional_values_mean_default() -> None:
    request = parse_properties(properties(KmsKeyArn="", InstanceCount="", DatasetFormat=""))
    assert (request.kms_key_arn, request.instance_count, request.dataset_format) == (None, 1, "csv")


BAD_PROPERTIES = [
    ("DatasetUri", None, "is required"),
    ("DatasetUri", "https://bucket.s3.amazonaws.com/train.csv", "s3://<bucket>/<key>"),
    ("DatasetUri", "/tmp/train.csv", "s3://<bucket>/<key>"),
    ("DatasetUri", "s3://Bad_Bucket/train.csv", "s3://<bucket>/<key>"),
    ("DatasetUri", "s3://bucket-only/", "s3://<bucket>/<key>"),
    ("OutputUri", "s3://bucket-only", "s3://<bucket>/<key>"),
    ("OutputUri", None, "is required"),
    ("DatasetFormat", "parquet", "one of ['csv', 'jsonl']"),
    ("DatasetFormat", "CSV", "one of ['csv', 'jsonl']"),
    ("Header", "yes", "'true' or 'false'"),
    ("OutputColumnsPosition", "LAST", "one of ['START', 'END']"),
    ("RoleArn", "BaselineRole", "an IAM role ARN"),
    ("RoleArn", None, "is required"),
    ("JobNamePrefix", None, "is required"),
    ("JobNamePrefix", "a" * 41, "1 to 40 characters"),
    ("JobNamePrefix", "mm_baseline", "1 to 40 characters"),
    ("JobNamePrefix", "-baseline", "1 to 40 characters"),
    ("InstanceType", "m5.xlarge", "an ml.* instance type"),
    ("InstanceCount", "0", "from 1 to 100"),
    ("InstanceCount", "two", "from 1 to 100"),
    ("InstanceCount", "1.5", "from 1 to 100"),
    ("VolumeSizeInGB", "-30", "from 1 to 16384"),
    ("MaxRuntimeInSeconds", "777601", "from 1 to 777600"),
    ("KmsKeyArn", "alias/monitoring", "a KMS key or alias ARN"),
]


@pytest.mark.parametrize(("name", "value", "expected"), BAD_PROPERTIES)
def test_bad_property_names_property_and_value(name: str, value: str | None, expected: str) -> None:
    props = properties()
    if value is None:
        props.pop(name, None)
    else:
        props[name] = value
    with pytest.raises(InvalidPropertiesError) as raised:
        parse_properties(props)
    message = str(raised.value)
    assert f"ResourceProperties.{name}" in message
    assert repr(value) in message
    assert expected in message


def test_unknown_property_is_rejected() -> None:
    with pytest.raises(InvalidPropertiesError, match=r"unknown properties \['InstanceTypo'\]"):
        parse_properties(properties(InstanceTypo="ml.m5.large"))


def test_non_string_value_is_rejected() -> None:
    props: dict[str, object] = {**properties(), "VolumeSizeInGB": [30]}
    with pytest.raises(InvalidPropertiesError, match=r"VolumeSizeInGB must be a string, got list \[30\]"):
        parse_properties(props)


CHANGES = {
    "DatasetUri": f"s3://{'other-bucket'}/train.csv",
    "DatasetFormat": "jsonl",
    "Header": "false",
    "OutputColumnsPosition": "END",
    "OutputUri": "s3://other-bucket/results",
    "InstanceType": "ml.m5.2xlarge",
    "InstanceCount": "2",
    "VolumeSizeInGB": "50",
    "MaxRuntimeInSeconds": "1800",
    "KmsKeyArn": KMS_KEY_ARN,
}


def test_every_job_defining_field_has_a_change_case() -> None:
    assert len(CHANGES) == len(JOB_DEFINING_FIELDS)


@pytest.mark.parametrize(("name", "value"), sorted(CHANGES.items()))
def test_job_defining_change_needs_new_job(name: str, value: str) -> None:
    assert needs_new_job(properties(), parse_properties(properties(**{name: value})))


@pytest.mark.parametrize(
    "change",
    [
        {"RoleArn": "arn:aws:iam::123456789012:role/another-role"},
        {"JobNamePrefix": "renamed"},
        {"InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": "30"},  # defaults made explicit
        {"OutputUri": OUTPUT_URI + "/"},
        {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:new-provider"},
        {"ServiceTimeout": "3600"},
    ],
)
def test_other_changes_keep_the_baseline(change: dict[str, str]) -> None:
    assert not needs_new_job(properties(), parse_properties(properties(**change)))


def test_header_change_on_jsonl_keeps_the_baseline() -> None:
    old = properties(DatasetFormat="jsonl", Header="true")
    assert not needs_new_job(old, parse_properties(properties(DatasetFormat="jsonl", Header="false")))


def test_unreadable_old_properties_need_new_job() -> None:
    assert needs_new_job({"DatasetUri": "not-a-uri"}, parse_properties(properties()))


def test_job_name_is_derived_from_the_request() -> None:
    name = derive_job_name("mm-baseline", stack_id=STACK_ID, logical_resource_id="Baseline", request_id="r1")
    again = derive_job_name("mm-baseline", stack_id=STACK_ID, logical_resource_id="Baseline", request_id="r1")
    other = derive_job_name("mm-baseline", stack_id=STACK_ID, logical_resource_id="Baseline", request_id="r2")
    assert name == again != other
    assert re.fullmatch(r"mm-baseline-[0-9a-f]{16}", name)


def test_longest_prefix_gives_a_valid_job_name() -> None:
    name = derive_job_name("a" * 40, stack_id=STACK_ID, logical_resource_id="Baseline", request_id="r1")
    assert len(name) == 57
    assert is_job_name(name)


@pytest.mark.parametrize(
    "physical_id",
    [
        "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED",
        "AWSCDK::CustomResourceProviderFramework::MISSING_PHYSICAL_ID",
        "c6a3f2e4-create-request_id",
        "-leading-hyphen",
        "a" * 64,
    ],
)
def test_physical_ids_that_name_no_job(physical_id: str) -> None:
    assert not is_job_name(physical_id)
