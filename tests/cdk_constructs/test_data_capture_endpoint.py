"""The endpoint captures what a monitor needs, and its captured data is protected and kept."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Match, Template

from cdk_constructs.data_capture_endpoint import DataCaptureEndpoint
from tests.synth import construct_app, declare_variant, synth_stage

#: A user's own model and serving image, in a concrete region, with a serving image that calls out.
USER_MODEL = declare_variant(
    (
        ("model_data_uri", "s3://my-models/churn/model.tar.gz"),
        ("model_image_uri", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn:7"),
        ("model_network_isolation", "false"),
        ("region", "eu-west-1"),
    )
)


@pytest.fixture(scope="module")
def endpoint_template() -> Template:
    return synth_stage("default").template("Endpoint")


def the_one(template: Template, resource_type: str, props: dict[str, Any] | None = None) -> dict[str, Any]:
    resources = template.find_resources(resource_type, {"Properties": props} if props else None)
    assert len(resources) == 1, f"expected one {resource_type}, found {len(resources)}"
    return dict(next(iter(resources.values())))


def test_capture_takes_inputs_and_outputs_of_csv_and_json_at_the_configured_rate(
    endpoint_template: Template,
) -> None:
    config = the_one(endpoint_template, "AWS::SageMaker::EndpointConfig")["Properties"]
    capture = config["DataCaptureConfig"]
    assert capture["EnableCapture"] is True
    assert capture["InitialSamplingPercentage"] == 100
    assert capture["CaptureOptions"] == [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]
    assert capture["CaptureContentTypeHeader"] == {
        "CsvContentTypes": ["text/csv"],
        "JsonContentTypes": ["application/json", "application/jsonlines"],
    }
    # Captures land in the capture bucket under the capture prefix, encrypted with the bucket's key,
    # and the same key encrypts the instances' storage volumes.
    bucket_id = next(
        iter(
            endpoint_template.find_resources(
                "AWS::S3::Bucket", {"Properties": {"LoggingConfiguration": Match.any_value()}}
            )
        )
    )
    key_id = next(iter(endpoint_template.find_resources("AWS::KMS::Key")))
    assert capture["DestinationS3Uri"] == {"Fn::Join": ["", ["s3://", {"Ref": bucket_id}, "/datacapture"]]}
    assert capture["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert config["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}


def test_sampling_percentage_comes_from_settings() -> None:
    template = synth_stage("prod").template("Endpoint")
    config = the_one(template, "AWS::SageMaker::EndpointConfig")["Properties"]
    assert config["DataCaptureConfig"]["InitialSamplingPercentage"] == 20
    assert config["ProductionVariants"][0]["InitialInstanceCount"] == 2


def test_capture_bucket_is_encrypted_versioned_private_logged_expiring_and_retained(
    endpoint_template: Template,
) -> None:
    key_id, key = next(iter(endpoint_template.find_resources("AWS::KMS::Key").items()))
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"

    bucket = the_one(endpoint_template, "AWS::S3::Bucket", {"LoggingConfiguration": Match.any_value()})
    props = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain" and bucket["UpdateReplacePolicy"] == "Retain"
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {
            "BucketKeyEnabled": True,
            "ServerSideEncryptionByDefault": {
                "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]},
                "SSEAlgorithm": "aws:kms",
            },
        }
    ]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 365
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    assert props["LoggingConfiguration"]["DestinationBucketName"]["Ref"] != ""


def test_every_bucket_refuses_plain_http(endpoint_template: Template) -> None:
    buckets = endpoint_template.find_resources("AWS::S3::Bucket")
    assert len(buckets) == 2  # captured data and its access logs
    for bucket_id in buckets:
        bucket_arn = {"Fn::GetAtt": [bucket_id, "Arn"]}
        endpoint_template.has_resource_properties(
            "AWS::S3::BucketPolicy",
            {
                "Bucket": {"Ref": bucket_id},
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            {
                                "Action": "s3:*",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                "Effect": "Deny",
                                "Principal": {"AWS": "*"},
                                "Resource": [bucket_arn, {"Fn::Join": ["", [bucket_arn, "/*"]]}],
                            }
                        ]
                    )
                },
            },
        )


def test_model_uses_xgboost_image_for_the_region_and_the_demo_artifact(endpoint_template: Template) -> None:
    container = the_one(endpoint_template, "AWS::SageMaker::Model")["Properties"]["PrimaryContainer"]
    assert container["Image"] == {"Fn::FindInMap": ["XgboostImageUris", {"Ref": "AWS::Region"}, "uri"]}
    assert "ModelDataUrl" in container
    # The built-in XGBoost image serves without network access: isolated by default.
    assert the_one(endpoint_template, "AWS::SageMaker::Model")["Properties"]["EnableNetworkIsolation"] is True
    mapping = endpoint_template.to_json()["Mappings"]["XgboostImageUris"]
    assert mapping["us-east-1"]["uri"] == "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.2-0"


def test_user_model_replaces_the_demo_and_only_that_object_is_readable() -> None:
    synthesized = synth_stage("default", USER_MODEL)
    template = synthesized.template("Endpoint")
    assert the_one(template, "AWS::SageMaker::Model")["Properties"]["EnableNetworkIsolation"] is False
    container = the_one(template, "AWS::SageMaker::Model")["Properties"]["PrimaryContainer"]
    assert container == {
        "Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn:7",
        "ModelDataUrl": "s3://my-models/churn/model.tar.gz",
    }
    statements = the_one(template, "AWS::IAM::Policy")["Properties"]["PolicyDocument"]["Statement"]
    assert {
        "Action": "s3:GetObject",
        "Effect": "Allow",
        "Resource": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::my-models/churn/model.tar.gz"]]},
    } in statements
    pull = next(s for s in statements if s.get("Sid") == "PullImage")
    assert pull["Resource"] == {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, ":ecr:eu-west-1:123456789012:repository/churn"],
        ]
    }


def test_execution_role_has_no_wildcard_actions(endpoint_template: Template) -> None:
    for policy in endpoint_template.find_resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not [action for action in actions if "*" in action], statement


@pytest.mark.parametrize(
    ("prop", "value", "message"),
    [
        (
            "instance_type",
            "m5.large",
            "instance_type must be a SageMaker instance type (ml.*), got 'm5.large'",
        ),
        ("sampling_percentage", 101, "sampling_percentage must be from 0 to 100, got 101"),
        ("initial_instance_count", 0, "initial_instance_count must be at least 1, got 0"),
        (
            "model_data_url",
            "/tmp/model.tar.gz",
            "model_data_url must be an s3:// URL, got '/tmp/model.tar.gz'",
        ),
        ("endpoint_name", "Churn-Prod", "endpoint_name must be 1 to 63 lower-case letters, digits or hyphens"),
        ("endpoint_name", "churn_prod", "endpoint_name must be 1 to 63 lower-case letters, digits or hyphens"),
        ("endpoint_name", "churn-", "endpoint_name must be 1 to 63 lower-case letters, digits or hyphens"),
        ("endpoint_name", "e" * 64, "endpoint_name must be 1 to 63 lower-case letters, digits or hyphens"),
        ("endpoint_name", "", "endpoint_name must be 1 to 63 lower-case letters, digits or hyphens"),
    ],
)
def test_bad_props_fail_at_construction_naming_prop_and_value(prop: str, value: Any, message: str) -> None:
    props: dict[str, Any] = {
        "model_image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/model:1",
        "model_data_url": "s3://bucket/model.tar.gz",
        "instance_type": "ml.m5.large",
    }
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")):
        DataCaptureEndpoint(Stack(construct_app(), "Test"), "Endpoint", **{**props, prop: value})


def test_named_endpoint_keeps_its_name_and_generated_configuration() -> None:
    """A configuration change updates the endpoint in place under the same name; only the name is create-only."""
    stack = Stack(construct_app(), "Named")
    endpoint = DataCaptureEndpoint(
        stack,
        "Endpoint",
        model_image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/model:1",
        model_data_url="s3://bucket/model.tar.gz",
        instance_type="ml.m5.large",
        endpoint_name="churn-prod",
    )
    assert endpoint.endpoint_name == "churn-prod"
    assert endpoint.metrics.endpoint_name == "churn-prod"
    template = Template.from_stack(stack)
    props = the_one(template, "AWS::SageMaker::Endpoint")["Properties"]
    assert props["EndpointName"] == "churn-prod"
    assert "EndpointConfigName" not in the_one(template, "AWS::SageMaker::EndpointConfig")["Properties"]
