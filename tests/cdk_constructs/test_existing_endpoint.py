"""An endpoint deployed elsewhere: one shared check per stack, exact read grants, stable resources per endpoint."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from typing import Any, cast

import pytest
from aws_cdk import CfnElement, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from cdk_constructs.existing_endpoint import RESOURCE_TYPE, ExistingEndpoint
from tests.lint import lint_in_background
from tests.synth import CDK_JSON_CONTEXT, construct_app

HANDLER = "existing_endpoint.handler.on_event"


class Synthesized:
    """A stack monitoring ``names`` (each read by one role), synthesized with cdk-nag's AwsSolutions checks."""

    def __init__(self, names: Sequence[str]) -> None:
        flags = {key: value for key, value in CDK_JSON_CONTEXT.items() if key.startswith("@aws-cdk")}
        app = construct_app(outdir=tempfile.mkdtemp(prefix="cdk-existing-"), context=flags)
        self.stack = Stack(app, "Fleet")
        log_key = kms.Key(self.stack, "LogKey", enable_key_rotation=True)
        self.endpoints = {
            name: ExistingEndpoint(self.stack, name, endpoint_name=name, log_key=log_key) for name in names
        }
        self.readers = {}
        for name, endpoint in self.endpoints.items():
            reader = iam.Role(self.stack, f"{name}Reader", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
            endpoint.grant_read_captured_data(reader)
            self.readers[name] = reader
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
        app.synth()  # raises when cdk-nag reports a finding nobody acknowledged
        self.json: dict[str, Any] = self.stack.resolve(Template.from_stack(self.stack).to_json())
        self.template = Template.from_json(self.json)

    def logical_id(self, element: Any) -> str:
        return str(self.stack.resolve(element.logical_id))

    def logical_ids_under(self, scope: Any) -> set[str]:
        return {self.logical_id(child) for child in scope.node.find_all() if isinstance(child, CfnElement)}


class LintedSynthesized(Synthesized):
    """A synthesized stack whose template cfn-lint checks in a worker process from the moment it exists: linting is
    CPU-bound (over a second), so it runs on the other core while this module's tests run here."""

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__(names)
        self.lint_findings = lint_in_background(json.dumps(self.json))


def bare_stack() -> dict[str, Any]:
    """Scope, id and log key of an ExistingEndpoint alone in a stack."""
    stack = Stack(construct_app(), "Test")
    return {"scope": stack, "construct_id": "Endpoint", "log_key": kms.Key(stack, "LogKey")}


@pytest.fixture(scope="module")
def fleet() -> LintedSynthesized:
    return LintedSynthesized(["Churn-Prod", "fraud-scorer"])


def statements_of_role(synthesized: Synthesized, role: iam.Role) -> list[dict[str, Any]]:
    role_id = synthesized.logical_id(role.node.default_child)
    return [
        statement
        for policy in synthesized.template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_one_check_function_serves_every_endpoint_of_the_stack(fleet: Synthesized) -> None:
    checks = fleet.template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": HANDLER}})
    assert len(checks) == 1
    [check] = checks.values()
    assert check["Properties"]["Runtime"] == "python3.14"
    resources = fleet.template.find_resources(RESOURCE_TYPE)
    assert sorted(resource["Properties"]["EndpointName"] for resource in resources.values()) == [
        "Churn-Prod",
        "fraud-scorer",
    ]
    tokens = {json.dumps(resource["Properties"]["ServiceToken"]) for resource in resources.values()}
    assert len(tokens) == 1


def test_the_check_may_describe_each_endpoint_by_its_lower_case_arn_and_read_only_metadata(
    fleet: Synthesized,
) -> None:
    [check] = fleet.template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": HANDLER}}).values()
    role_id = check["Properties"]["Role"]["Fn::GetAtt"][0]
    policies = fleet.template.find_resources("AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role_id}]}})
    actions = sorted(
        action
        for policy in policies.values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    )
    assert actions == [
        "kms:DescribeKey",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "sagemaker:DescribeEndpoint",
        "sagemaker:DescribeEndpoint",
        "sagemaker:DescribeEndpointConfig",
    ]
    for name, endpoint in fleet.endpoints.items():
        policy_id = fleet.logical_id(endpoint.node.find_child("CheckPolicy").node.default_child)
        [statement] = fleet.json["Resources"][policy_id]["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Action"] == "sagemaker:DescribeEndpoint"
        assert statement["Resource"]["Fn::Join"][1][-1] == f":endpoint/{name.lower()}"
        # CloudFormation creates the policy before it asks the check to describe the endpoint.
        assert policy_id in fleet.json["Resources"][fleet.logical_id(endpoint.resource.node.default_child)]["DependsOn"]


def test_reading_captured_data_is_exactly_this_endpoints_prefix_and_key(fleet: Synthesized) -> None:
    endpoint = fleet.endpoints["fraud-scorer"]
    resource_id = fleet.logical_id(endpoint.resource.node.default_child)

    def att(name: str) -> dict[str, Any]:
        return {"Fn::GetAtt": [resource_id, name]}

    statements = statements_of_role(fleet, fleet.readers["fraud-scorer"])
    assert sorted(statements, key=lambda statement: str(statement["Action"])) == [
        {"Action": "kms:Decrypt", "Effect": "Allow", "Resource": att("DecryptKeyArn")},
        {
            "Action": "s3:GetObject",
            "Effect": "Allow",
            "Resource": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":s3:::",
                        att("CaptureBucket"),
                        "/",
                        att("EndpointCapturePrefix"),
                        "/*",
                    ],
                ]
            },
        },
        {
            "Action": "s3:ListBucket",
            "Condition": {
                "StringLike": {
                    "s3:prefix": [
                        {"Fn::Join": ["", [att("EndpointCapturePrefix"), "/"]]},
                        {"Fn::Join": ["", [att("EndpointCapturePrefix"), "/*"]]},
                    ]
                }
            },
            "Effect": "Allow",
            "Resource": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::", att("CaptureBucket")]]},
        },
    ]


def test_attributes_are_the_checks_answers(fleet: Synthesized) -> None:
    endpoint = fleet.endpoints["Churn-Prod"]
    resource_id = fleet.logical_id(endpoint.resource.node.default_child)
    resolve = fleet.stack.resolve
    assert resolve(endpoint.capture_s3_uri) == {"Fn::GetAtt": [resource_id, "CaptureS3Uri"]}
    # The destination's key, as DataCaptureEndpoint.capture_prefix; the grants use this endpoint's folder.
    assert resolve(endpoint.capture_prefix) == {"Fn::GetAtt": [resource_id, "CapturePrefix"]}
    assert resolve(endpoint.endpoint_capture_prefix) == {"Fn::GetAtt": [resource_id, "EndpointCapturePrefix"]}
    assert resolve(endpoint.kms_key_arn) == {"Fn::GetAtt": [resource_id, "KmsKeyArn"]}
    assert resolve(endpoint.metrics.invocations().dimensions)["VariantName"] == {
        "Fn::GetAtt": [resource_id, "VariantName"]
    }
    assert endpoint.metrics.endpoint_name == "Churn-Prod"


def test_capture_key_is_the_deploy_time_key_and_grants_exactly_decrypt() -> None:
    """For code that takes bucket, prefix and an ``IKey``, as the monitoring stack does today."""
    props = bare_stack()
    stack = props["scope"]
    endpoint = ExistingEndpoint(**props, endpoint_name="churn")
    reader = iam.Role(stack, "Reader", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    endpoint.capture_key.grant_decrypt(reader)
    resource_id = stack.get_logical_id(cast(CfnElement, endpoint.resource.node.default_child))
    decrypt_key_arn = {"Fn::GetAtt": [resource_id, "DecryptKeyArn"]}
    assert stack.resolve(endpoint.capture_key.key_arn) == decrypt_key_arn
    reader_id = stack.get_logical_id(cast(CfnElement, reader.node.default_child))
    policies = Template.from_stack(stack).find_resources(
        "AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": reader_id}]}}
    )
    assert [policy["Properties"]["PolicyDocument"]["Statement"] for policy in policies.values()] == [
        [{"Action": "kms:Decrypt", "Effect": "Allow", "Resource": decrypt_key_arn}]
    ]


def test_a_given_variant_name_is_used_instead_of_the_first_variant() -> None:
    endpoint = ExistingEndpoint(**bare_stack(), endpoint_name="e", variant_name="Blue")
    assert endpoint.metrics.variant_name == "Blue"


def test_the_template_passes_cfn_lint(fleet: LintedSynthesized) -> None:
    assert fleet.lint_findings.result(timeout=300) == []


def test_removing_one_endpoint_changes_only_that_endpoints_resources(fleet: LintedSynthesized) -> None:
    """Ids are stable: the shared check and the other endpoints keep their logical ids and properties."""
    three = Synthesized(["Churn-Prod", "beta", "fraud-scorer"])  # the fleet, with one more between its two
    removed = three.logical_ids_under(three.endpoints["beta"]) | three.logical_ids_under(three.readers["beta"])
    assert removed
    assert {
        logical_id: resource for logical_id, resource in three.json["Resources"].items() if logical_id not in removed
    } == fleet.json["Resources"]


@pytest.mark.parametrize("name", ["", "-leading-hyphen", "has_underscore", "x" * 64, "dots.in.name"])
def test_bad_endpoint_name_fails_at_construction_naming_the_prop_and_value(name: str) -> None:
    with pytest.raises(ValueError, match=f"endpoint_name must be a SageMaker endpoint name .*got {name!r}"):
        ExistingEndpoint(**bare_stack(), endpoint_name=name)
