"""The baseline custom resource: how CloudFormation waits for the job, what it may touch, and what it is given.

A deploy that hangs for hours, a job that fails with AccessDenied twenty minutes in, or a function that may
start any processing job in the account are what a user would see break; these tests read the synthesized
Baseline stack (cached by ``tests.synth``) for each of them. Resources are found by type and properties and
references are followed through the template, never by logical id. ARNs built with intrinsic functions are
evaluated with ``Intrinsics`` (fixed pseudo parameters, made-up physical names) so the assertions compare the
ARN a deploy would produce, not the shape of an ``Fn::Join``.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template as AssertionsTemplate

from cdk_constructs.s3_location import S3Location
from cdk_constructs.sagemaker_images import image_table
from cdk_constructs.suggested_baseline import (
    JOB_DEFINING_PROPERTIES,
    MAX_JOB_NAME_PREFIX,
    MAX_RUNTIME_LIMIT,
    SuggestedBaseline,
)
from lambdas.baseline.request import JOB_DEFINING_FIELDS, derive_job_name, parse_properties
from settings import BASELINE_MAX_RUNTIME_LIMIT_MINUTES
from stacks.baseline_stack import DEMO_BASELINE
from tests.synth import USER_BASELINE_OVERRIDES, Synthesized, construct_app, declare_in_synth_worker, synth_stage

ROOT = Path(__file__).resolve().parents[2]
BASELINE_FUNCTION_DIR = ROOT / "lambdas" / "baseline"

#: One extra synth for the whole file (shared with tests/stacks): a user's own JSON Lines dataset, a shorter
#: runtime, a bigger instance.
OVERRIDES = USER_BASELINE_OVERRIDES
USER_DATASET_URI = dict(OVERRIDES)["baseline_dataset_uri"]

PARTITION = "aws"
REGION = "us-east-1"
ACCOUNT = "123456789012"
JOB_ARN_PATTERN = f"arn:{PARTITION}:sagemaker:{REGION}:{ACCOUNT}:processing-job/model-monitor-default-baseline-*"
BASIC_EXECUTION_ROLE = f"arn:{PARTITION}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
PASS_ROLE_CONDITION = {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}

#: Actions that support no resource-level permissions, and so are granted on "*": the processing role's ECR
#: login, and the log delivery of the Provider's waiter state machine (built by aws-cdk-lib).
UNSCOPABLE_ACTIONS = frozenset(
    {
        "ecr:GetAuthorizationToken",
        "logs:CreateLogDelivery",
        "logs:CreateLogStream",
        "logs:DeleteLogDelivery",
        "logs:DescribeLogGroups",
        "logs:DescribeResourcePolicies",
        "logs:GetLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutLogEvents",
        "logs:PutResourcePolicy",
        "logs:UpdateLogDelivery",
    }
)

Resource = dict[str, Any]
Template = dict[str, Any]


# --- fixtures: the cached synths, never a synth of our own ----------------------------------------------


@pytest.fixture(scope="module")
def default() -> Synthesized:
    return synth_stage("default")


@pytest.fixture(scope="module")
def template(default: Synthesized) -> Template:
    return stack_template(default, "Baseline")


@pytest.fixture(scope="module")
def customised() -> Synthesized:
    return synth_stage("default", OVERRIDES)


def _both(default: Synthesized, customised: Synthesized, which: str) -> Synthesized:
    # Through the fixtures: synth_stage("default", ()) would be a second cache entry, and a second synth.
    return default if which == "default" else customised


# --- template helpers ---------------------------------------------------------------------------------


def resources(
    template: Template, resource_type: str, where: Callable[[Resource], bool] = lambda _: True
) -> dict[str, Resource]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type and where(resource)
    }


def the_one(
    template: Template, resource_type: str, where: Callable[[Resource], bool] = lambda _: True
) -> tuple[str, Resource]:
    found = resources(template, resource_type, where)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.items()))


def custom_resource(template: Template) -> tuple[str, Resource]:
    return the_one(template, "Custom::ModelMonitorBaseline")


def handler(template: Template, command: str) -> tuple[str, Resource]:
    """One of our two functions, by the entry point its image runs."""
    return the_one(
        template,
        "AWS::Lambda::Function",
        lambda fn: fn["Properties"].get("ImageConfig", {}).get("Command") == [command],
    )


def on_event(template: Template) -> tuple[str, Resource]:
    return handler(template, "baseline.handler.on_event")


def is_complete(template: Template) -> tuple[str, Resource]:
    return handler(template, "baseline.handler.is_complete")


def framework_function(template: Template, name: str) -> tuple[str, Resource]:
    """One of the Provider framework's own Node.js functions (``onEvent``, ``isComplete``, ``onTimeout``)."""
    return the_one(template, "AWS::Lambda::Function", lambda fn: fn["Properties"].get("Handler") == f"framework.{name}")


def role_of(function: Resource) -> str:
    """The logical id of a function's execution role."""
    role_arn = function["Properties"]["Role"]
    assert set(role_arn) == {"Fn::GetAtt"} and role_arn["Fn::GetAtt"][1] == "Arn", role_arn
    role_id: str = role_arn["Fn::GetAtt"][0]
    return role_id


def processing_role(template: Template) -> str:
    """The role the baseline job runs as: the one the custom resource hands to SageMaker."""
    role_arn = custom_resource(template)[1]["Properties"]["RoleArn"]
    role_id: str = role_arn["Fn::GetAtt"][0]
    assert template["Resources"][role_id]["Type"] == "AWS::IAM::Role"
    return role_id


def policies_of(template: Template, role_id: str) -> dict[str, Resource]:
    return resources(template, "AWS::IAM::Policy", lambda policy: {"Ref": role_id} in policy["Properties"]["Roles"])


def statements_of(template: Template, role_id: str) -> list[dict[str, Any]]:
    """Every statement that applies to a role: its attached policies and any inline ones."""
    inline = template["Resources"][role_id]["Properties"].get("Policies", [])
    documents = [policy["Properties"]["PolicyDocument"] for policy in policies_of(template, role_id).values()]
    documents += [policy["PolicyDocument"] for policy in inline]
    return [statement for document in documents for statement in document["Statement"]]


def all_statements(template: Template) -> Iterator[tuple[str, dict[str, Any]]]:
    """(role logical id, statement) for every identity-based statement of the stack."""
    for role_id in resources(template, "AWS::IAM::Role"):
        for statement in statements_of(template, role_id):
            yield role_id, statement
    orphans = resources(
        template,
        "AWS::IAM::Policy",
        lambda policy: not any("Ref" in role for role in policy["Properties"].get("Roles", [])),
    )
    assert not orphans, f"policies attached to no role of this stack: {sorted(orphans)}"


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def actions_of(statements: list[dict[str, Any]]) -> set[str]:
    return {action for statement in statements for action in listed(statement["Action"])}


def with_action(statements: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    return [statement for statement in statements if action in listed(statement["Action"])]


def assembly_manifest(synthesized: Synthesized) -> dict[str, Any]:
    """The cloud assembly's ``manifest.json``, read as a file.

    Not through ``assembly.artifacts`` or ``get_stack_artifact(...).dependencies``: jsii hands those back as
    plain ``CloudArtifact`` proxies and caches them, after which ``get_stack_artifact(id).template`` (and so
    ``Synthesized.template_json``) of that stack fails for every later test that shares the cached synth.
    Reading the files keeps this module independent of what other modules touched first.
    """
    manifest: dict[str, Any] = json.loads((synthesized.directory / "manifest.json").read_text(encoding="utf-8"))
    return manifest


def stack_template(synthesized: Synthesized, stack_id: str) -> Template:
    """A stack's synthesized template, read from the file the manifest names (see ``assembly_manifest``)."""
    properties = assembly_manifest(synthesized)["artifacts"][stack_id]["properties"]
    path = synthesized.directory / properties["templateFile"]
    template: Template = json.loads(path.read_text(encoding="utf-8"))
    return template


def stack_dependencies(synthesized: Synthesized, stack_id: str) -> set[str]:
    """The stacks (not asset manifests) that ``cdk deploy`` finishes before it starts ``stack_id``."""
    artifacts = assembly_manifest(synthesized)["artifacts"]
    stacks = {name for name, artifact in artifacts.items() if artifact["type"] == "aws:cloudformation:stack"}
    return set(artifacts[stack_id].get("dependencies", [])) & stacks


def asset_manifest(synthesized: Synthesized, stack_id: str = "Baseline") -> dict[str, Any]:
    """The assets ``cdk deploy`` publishes before it deploys ``stack_id``."""
    artifacts = assembly_manifest(synthesized)["artifacts"]
    (file,) = (
        artifacts[name]["properties"]["file"]
        for name in artifacts[stack_id]["dependencies"]
        if artifacts[name]["type"] == "cdk:asset-manifest"
    )
    manifest: dict[str, Any] = json.loads((synthesized.directory / file).read_text(encoding="utf-8"))
    return manifest


class Intrinsics:
    """Evaluates the intrinsic functions of one template for fixed pseudo parameters.

    Physical names are made up per resource type, consistently (a bucket's ``Ref`` is the bucket name in its
    ``Arn``), so two expressions that name the same thing evaluate to the same string.
    """

    def __init__(self, template: Template, *, region: str = REGION) -> None:
        self.template = template
        self.pseudo = {
            "AWS::Partition": PARTITION,
            "AWS::Region": region,
            "AWS::AccountId": ACCOUNT,
            "AWS::URLSuffix": "amazonaws.com",
        }

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1 or not next(iter(value)).startswith(("Ref", "Fn::")):
            return {key: self(item) for key, item in value.items()}
        ((function, argument),) = value.items()
        if function == "Ref":
            return self.ref(argument)
        if function == "Fn::GetAtt":
            return self.get_att(*argument)
        if function == "Fn::Join":
            separator, parts = argument
            return separator.join(self(parts))
        if function == "Fn::Sub":
            assert isinstance(argument, str), "only the one-argument form of Fn::Sub is expected here"
            return re.sub(r"\$\{([^}]+)\}", lambda match: self.sub(match[1]), argument)
        if function == "Fn::Select":
            index, items = argument
            return self(items)[int(index)]
        if function == "Fn::Split":
            separator, text = argument
            return self(text).split(separator)
        if function == "Fn::FindInMap":
            mapping, key, attribute = self(argument)
            return self.template["Mappings"][mapping][key][attribute]
        raise AssertionError(f"intrinsic {function} is not expected in this template")

    def sub(self, name: str) -> str:
        logical_id, _, attribute = name.partition(".")
        return self.get_att(logical_id, attribute) if attribute else self.ref(logical_id)

    def ref(self, logical_id: str) -> str:
        if logical_id in self.pseudo:
            return self.pseudo[logical_id]
        if self.template["Resources"][logical_id]["Type"] == "AWS::S3::Bucket":
            return f"bucket-{logical_id.lower()}"
        return logical_id

    def get_att(self, logical_id: str, attribute: str) -> str:
        resource_type = self.template["Resources"][logical_id]["Type"]
        region = self.pseudo["AWS::Region"]
        arns = {
            "AWS::S3::Bucket": f"arn:{PARTITION}:s3:::{self.ref(logical_id)}",
            "AWS::IAM::Role": f"arn:{PARTITION}:iam::{ACCOUNT}:role/{logical_id}",
            "AWS::KMS::Key": f"arn:{PARTITION}:kms:{region}:{ACCOUNT}:key/{logical_id}",
            "AWS::Lambda::Function": f"arn:{PARTITION}:lambda:{region}:{ACCOUNT}:function:{logical_id}",
            "AWS::Logs::LogGroup": f"arn:{PARTITION}:logs:{region}:{ACCOUNT}:log-group:{logical_id}:*",
        }
        if attribute == "Arn" and resource_type in arns:
            return arns[resource_type]
        return f"{logical_id}.{attribute}"


def s3_arn(uri: str) -> str:
    """``s3://bucket/key`` as the ARN IAM uses for that object (or ``s3://bucket`` for the bucket)."""
    assert uri.startswith("s3://"), uri
    return f"arn:{PARTITION}:s3:::{uri.removeprefix('s3://')}"


def sample_job_arn(template: Template) -> str:
    """The ARN of a job the handler would start for this template's custom resource."""
    logical_id, resource = custom_resource(template)
    job_name = derive_job_name(
        resource["Properties"]["JobNamePrefix"],
        stack_id=f"arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT}:stack/model-monitor-default-baseline/x",
        logical_resource_id=logical_id,
        request_id="4d6e1a2b-1111-2222-3333-444455556666",
    )
    # SageMaker puts job names into ARNs in lower case; the grant is written in lower case to match.
    return f"arn:{PARTITION}:sagemaker:{REGION}:{ACCOUNT}:processing-job/{job_name.lower()}"


# --- 1. Provider wiring --------------------------------------------------------------------------------


def test_one_baseline_resource_served_by_the_provider_framework(template: Template) -> None:
    """CloudFormation must call the Provider's onEvent, which hands over to our two functions and the waiter.

    A ServiceToken pointing straight at our function would skip the waiter: the stack would report the
    baseline complete while the job is still running, and the monitoring schedule would start without it.
    """
    _, resource = custom_resource(template)
    framework_on_event_id, framework_on_event = framework_function(template, "onEvent")
    assert resource["Properties"]["ServiceToken"] == {"Fn::GetAtt": [framework_on_event_id, "Arn"]}

    state_machine_id, _ = the_one(template, "AWS::StepFunctions::StateMachine")
    environment = framework_on_event["Properties"]["Environment"]["Variables"]
    assert environment["USER_ON_EVENT_FUNCTION_ARN"] == {"Fn::GetAtt": [on_event(template)[0], "Arn"]}
    assert environment["USER_IS_COMPLETE_FUNCTION_ARN"] == {"Fn::GetAtt": [is_complete(template)[0], "Arn"]}
    assert environment["WAITER_STATE_MACHINE_ARN"] == {"Ref": state_machine_id}


def test_waiter_polls_every_minute_for_50_minutes(default: Synthesized, customised: Synthesized) -> None:
    """The waiter asks isComplete once a minute for 50 minutes in all, whatever the job's runtime, then gives up.

    aws-cdk-lib's Provider waits at most an hour, and CloudFormation's ServiceTimeout is an hour too: 50 minutes
    leave room for on_event and the reply. The job's own deadline (48 minutes) comes first.
    """
    for synthesized in (default, customised):
        template = stack_template(synthesized, "Baseline")
        _, state_machine = the_one(template, "AWS::StepFunctions::StateMachine")
        definition = json.loads(Intrinsics(template)(state_machine["Properties"]["DefinitionString"]))
        poll = definition["States"][definition["StartAt"]]
        evaluate = Intrinsics(template)
        assert poll["Resource"] == evaluate({"Fn::GetAtt": [framework_function(template, "isComplete")[0], "Arn"]})

        (retry,) = poll["Retry"]
        assert retry["IntervalSeconds"] == 60
        assert retry["BackoffRate"] == 1
        assert retry["IntervalSeconds"] * retry["MaxAttempts"] == 50 * 60

        (catch,) = poll["Catch"]
        on_timeout = definition["States"][catch["Next"]]
        on_timeout_arn = evaluate({"Fn::GetAtt": [framework_function(template, "onTimeout")[0], "Arn"]})
        assert on_timeout["Resource"] == on_timeout_arn


@pytest.mark.parametrize("max_runtime_minutes", [5, 30, 36])
def test_cloudformation_learns_the_outcome_before_any_of_its_limits_for_every_allowed_runtime(
    max_runtime_minutes: int,
) -> None:
    """For every runtime the settings allow: the job ends (or is stopped at the deadline) before the waiter gives
    up, and the waiter gives up before CloudFormation's ServiceTimeout, which is at most 3600 seconds."""
    baseline = build(max_runtime=Duration.minutes(max_runtime_minutes))
    template: Template = dict(AssertionsTemplate.from_stack(Stack.of(baseline)).to_json())
    (resource,) = [r for r in template["Resources"].values() if r["Type"] == "Custom::ModelMonitorBaseline"]
    service_timeout = int(resource["Properties"]["ServiceTimeout"])
    assert service_timeout == 3600  # explicit, and CloudFormation's maximum

    _, state_machine = the_one(template, "AWS::StepFunctions::StateMachine")
    definition_string = state_machine["Properties"]["DefinitionString"]
    definition = json.loads(Intrinsics(template)(definition_string))
    (retry,) = definition["States"][definition["StartAt"]]["Retry"]
    waiter_seconds = retry["IntervalSeconds"] * retry["MaxAttempts"]

    start = on_event(template)[1]["Properties"]
    wait = is_complete(template)[1]["Properties"]
    deadline = int(wait["Environment"]["Variables"]["JOB_DEADLINE_SECONDS"])
    runtime = int(resource["Properties"]["MaxRuntimeInSeconds"])
    assert runtime == max_runtime_minutes * 60
    # The job's runtime plus the measured start-up (x2.5) and upload allowances ends before its deadline ...
    assert runtime + 10 * 60 + 2 * 60 <= deadline
    # ... the deadline is noticed within one poll, before the waiter's end ...
    assert deadline + retry["IntervalSeconds"] <= waiter_seconds
    # ... and on_event (which creates the job before the waiter starts) plus the whole wait fit in ServiceTimeout.
    assert start["Timeout"] + waiter_seconds + wait["Timeout"] < service_timeout


def test_settings_and_construct_agree_on_the_longest_runtime() -> None:
    assert MAX_RUNTIME_LIMIT.to_minutes() == BASELINE_MAX_RUNTIME_LIMIT_MINUTES == 36
    build(max_runtime=MAX_RUNTIME_LIMIT)
    with pytest.raises(ValueError, match="max_runtime must be from 1 second to 36 minutes"):
        build(max_runtime=Duration.minutes(37))


def test_both_handlers_run_one_container_image_with_their_own_entry_point(
    default: Synthesized, template: Template
) -> None:
    """The SageMaker SDK is too big for a zip: one image from ``lambdas/baseline``, built and pushed once.

    Two image assets would double the build and the push of a multi-hundred-megabyte image on every deploy;
    an image built for another architecture than the function's fails at the first invocation.
    """
    functions = [on_event(template)[1], is_complete(template)[1]]
    for function in functions:
        assert function["Properties"]["PackageType"] == "Image"
        assert function["Properties"]["Architectures"] == ["x86_64"]
    image_uris = {json.dumps(function["Properties"]["Code"]["ImageUri"]) for function in functions}
    assert len(image_uris) == 1, image_uris

    (image_hash, image), *others = asset_manifest(default)["dockerImages"].items()
    assert not others, "one image asset for both functions"
    assert image["source"]["platform"] == "linux/amd64"
    (destination,) = image["destinations"].values()
    assert Intrinsics(template)(functions[0]["Properties"]["Code"]["ImageUri"]).endswith(
        f"/{Intrinsics(template)({'Fn::Sub': destination['repositoryName']})}:{destination['imageTag']}"
    )
    staged = default.directory / image["source"]["directory"]
    for name in ("Dockerfile", "handler.py", "request.py", "baseline_job.py", "requirements.txt"):
        assert (staged / name).read_bytes() == (BASELINE_FUNCTION_DIR / name).read_bytes(), name
    assert image_hash == destination["imageTag"]


def test_handlers_time_out_well_inside_the_framework_and_have_room_for_the_sdk(template: Template) -> None:
    """on_event gets 5 minutes (SDK import and CreateProcessingJob), is_complete 1 minute (one Describe).

    The framework's functions call ours synchronously, so ours must end before theirs; the SDK with pandas
    needs more than Lambda's default 128 MB.
    """
    start, wait = on_event(template)[1]["Properties"], is_complete(template)[1]["Properties"]
    assert start["Timeout"] == 300
    assert wait["Timeout"] == 60
    for name in ("onEvent", "isComplete"):
        assert max(start["Timeout"], wait["Timeout"]) < framework_function(template, name)[1]["Properties"]["Timeout"]
    assert start["MemorySize"] == wait["MemorySize"] == 1024


# --- 2. what the custom resource is given ---------------------------------------------------------------


def data_bucket(template: Template) -> str:
    """The MonitoringData bucket: the one whose name the stack exports (the other holds its access logs)."""
    bucket_ref = template["Outputs"]["MonitoringDataBucketName"]["Value"]
    bucket_id: str = bucket_ref["Ref"]
    assert template["Resources"][bucket_id]["Type"] == "AWS::S3::Bucket"
    return bucket_id


def data_key_arn(template: Template) -> Any:
    """The KMS key that encrypts the MonitoringData bucket, as the template references it."""
    encryption = template["Resources"][data_bucket(template)]["Properties"]["BucketEncryption"]
    (rule,) = encryption["ServerSideEncryptionConfiguration"]
    key_arn = rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]
    assert template["Resources"][key_arn["Fn::GetAtt"][0]]["Type"] == "AWS::KMS::Key"
    return key_arn


def test_demo_baseline_csv_is_the_default_dataset(default: Synthesized, template: Template) -> None:
    """With no settings, the job reads the embedded demo CSV, uploaded as a file asset of this stack."""
    properties = Intrinsics(template)(custom_resource(template)[1]["Properties"])
    demo_assets = [
        asset
        for asset in asset_manifest(default)["files"].values()
        if (default.directory / asset["source"]["path"]).is_file()
        and (default.directory / asset["source"]["path"]).read_bytes() == DEMO_BASELINE.read_bytes()
    ]
    (asset,) = demo_assets
    (destination,) = asset["destinations"].values()
    bucket = Intrinsics(template)({"Fn::Sub": destination["bucketName"]})
    assert properties["DatasetUri"] == f"s3://{bucket}/{destination['objectKey']}"
    assert properties["DatasetFormat"] == "csv"
    assert properties["Header"] == "true"
    assert properties["OutputColumnsPosition"] == "START"  # the demo's label, tip_amount, is its first column
    assert DEMO_BASELINE.read_text(encoding="utf-8").split(",", 1)[0] == "tip_amount"


def test_custom_resource_writes_to_the_data_bucket_as_the_processing_role(template: Template) -> None:
    """Output under ``baseline`` of the MonitoringData bucket, encrypted with its key, by the scoped role.

    The monitoring stack reads the baseline from there and the processing role may write nowhere else.
    """
    properties = custom_resource(template)[1]["Properties"]
    evaluate = Intrinsics(template)
    assert evaluate(properties["OutputUri"]) == f"s3://{evaluate({'Ref': data_bucket(template)})}/baseline"
    assert properties["KmsKeyArn"] == data_key_arn(template)
    assert properties["RoleArn"] == {"Fn::GetAtt": [processing_role(template), "Arn"]}
    assert properties["JobNamePrefix"] == "model-monitor-default-baseline"
    assert len(properties["JobNamePrefix"]) <= MAX_JOB_NAME_PREFIX
    assert properties["InstanceType"] == "ml.m5.xlarge"
    assert properties["InstanceCount"] == "1"
    assert properties["VolumeSizeInGB"] == "30"
    assert properties["MaxRuntimeInSeconds"] == "1800"  # baseline_max_runtime_minutes, 30 by default


def test_user_dataset_format_header_and_instance_type_come_from_settings(customised: Synthesized) -> None:
    """A user's own dataset replaces the demo, and the demo CSV is then not uploaded at all.

    (``baseline_dataset_format=jsonl`` without a ``baseline_dataset_uri`` is refused by settings, see
    tests/test_settings.py: the embedded demo is CSV.)
    """
    template = stack_template(customised, "Baseline")
    properties = custom_resource(template)[1]["Properties"]
    assert properties["DatasetUri"] == USER_DATASET_URI
    assert properties["DatasetFormat"] == "jsonl"
    assert properties["Header"] == "false"
    assert properties["InstanceType"] == "ml.m5.2xlarge"
    for asset in asset_manifest(customised)["files"].values():
        staged = customised.directory / asset["source"]["path"]
        assert not (staged.is_file() and staged.read_bytes() == DEMO_BASELINE.read_bytes()), asset["displayName"]


@pytest.mark.parametrize("which", ["default", "customised"])
def test_handler_accepts_every_property_the_template_sends(
    default: Synthesized, customised: Synthesized, which: str
) -> None:
    """The handler refuses unknown or malformed properties: the template must send what it understands.

    Otherwise a renamed property fails the stack at deploy time, after the whole endpoint stack has been built.
    """
    template = stack_template(_both(default, customised, which), "Baseline")
    evaluate = Intrinsics(template)
    properties = evaluate(custom_resource(template)[1]["Properties"])
    request = parse_properties(properties)
    assert request.role_arn == evaluate({"Fn::GetAtt": [processing_role(template), "Arn"]})
    assert request.kms_key_arn == evaluate(data_key_arn(template))
    assert request.max_runtime_in_seconds == (1800 if which == "default" else 1200)


# --- 3. least privilege ---------------------------------------------------------------------------------


def test_start_function_may_start_describe_and_stop_only_this_baselines_jobs(template: Template) -> None:
    """on_event's role: its own logs, the three job calls on jobs named after this baseline, and PassRole."""
    _, function = on_event(template)
    statements = statements_of(template, role_of(function))
    assert actions_of(statements) == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "sagemaker:CreateProcessingJob",
        "sagemaker:DescribeProcessingJob",
        "sagemaker:StopProcessingJob",
        "iam:PassRole",
    }
    _assert_job_and_log_grants(template, function, statements)


def test_wait_function_may_only_describe_and_stop_this_baselines_jobs(template: Template) -> None:
    """is_complete reads the job's status, and stops a job past its deadline: it can neither start one nor pass
    a role."""
    _, function = is_complete(template)
    statements = statements_of(template, role_of(function))
    assert actions_of(statements) == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "sagemaker:DescribeProcessingJob",
        "sagemaker:StopProcessingJob",
    }
    _assert_job_and_log_grants(template, function, statements)


def _assert_job_and_log_grants(template: Template, function: Resource, statements: list[dict[str, Any]]) -> None:
    evaluate = Intrinsics(template)
    job_statements = [s for s in statements if any(a.startswith("sagemaker:") for a in listed(s["Action"]))]
    assert job_statements
    for statement in job_statements:
        assert statement["Effect"] == "Allow"
        assert "Condition" not in statement
        assert listed(evaluate(statement["Resource"])) == [JOB_ARN_PATTERN]
    # The job the handler actually names falls under the grant, or CreateProcessingJob is denied at deploy.
    assert fnmatch.fnmatchcase(sample_job_arn(template), JOB_ARN_PATTERN)

    log_group = function["Properties"]["LoggingConfig"]["LogGroup"]
    for statement in [s for s in statements if any(a.startswith("logs:") for a in listed(s["Action"]))]:
        assert statement["Resource"] == {"Fn::GetAtt": [log_group["Ref"], "Arn"]}


def test_only_the_start_function_may_pass_a_role_and_only_the_processing_role(template: Template) -> None:
    """iam:PassRole on anything else would let the function run a job as a more powerful role."""
    pass_role = [
        (role_id, statement)
        for role_id, statement in all_statements(template)
        if "iam:PassRole" in listed(statement["Action"])
    ]
    assert [role_id for role_id, _ in pass_role] == [role_of(on_event(template)[1])]
    ((_, statement),) = pass_role
    assert statement["Resource"] == {"Fn::GetAtt": [processing_role(template), "Arn"]}


def test_processing_role_may_be_passed_to_sagemaker_only(template: Template) -> None:
    """PassRole is conditioned on ``iam:PassedToService``: the role goes to SageMaker and no other service."""
    statements = with_action(statements_of(template, role_of(on_event(template)[1])), "iam:PassRole")
    assert statements
    for statement in statements:
        assert statement.get("Condition") == PASS_ROLE_CONDITION


def test_only_the_provider_frameworks_roles_carry_a_managed_policy(template: Template) -> None:
    """Our roles are explicit; AWSLambdaBasicExecutionRole (any log group) is on CDK's framework roles only.

    The framework's functions are aws-cdk-lib's and cannot be given a role of ours; that is acknowledged
    in cdk-nag, not repeated here on our own functions.
    """
    framework_roles = {
        role_of(framework_function(template, name)[1]) for name in ("onEvent", "isComplete", "onTimeout")
    }
    evaluate = Intrinsics(template)
    with_managed = {
        role_id: evaluate(role["Properties"]["ManagedPolicyArns"])
        for role_id, role in resources(template, "AWS::IAM::Role").items()
        if role["Properties"].get("ManagedPolicyArns")
    }
    assert with_managed == {role_id: [BASIC_EXECUTION_ROLE] for role_id in framework_roles}
    ours = {role_of(on_event(template)[1]), role_of(is_complete(template)[1]), processing_role(template)}
    assert not ours & set(with_managed)


def test_no_wildcard_actions_and_star_resources_only_where_iam_allows_nothing_else(template: Template) -> None:
    """No ``service:*`` anywhere; ``Resource: "*"`` only for actions with no resource-level permissions."""
    star_actions: set[str] = set()
    for role_id, statement in all_statements(template):
        actions = listed(statement["Action"])
        assert not [action for action in actions if "*" in action], (role_id, statement)
        assert "NotAction" not in statement and "NotResource" not in statement, (role_id, statement)
        if "*" in listed(statement["Resource"]):
            assert listed(statement["Resource"]) == ["*"], (role_id, statement)
            star_actions.update(actions)
    assert star_actions == UNSCOPABLE_ACTIONS

    ecr_login = [
        role_id for role_id, s in all_statements(template) if "ecr:GetAuthorizationToken" in listed(s["Action"])
    ]
    assert ecr_login == [processing_role(template)]
    state_machine_role = the_one(template, "AWS::StepFunctions::StateMachine")[1]["Properties"]["RoleArn"]
    log_delivery = {
        role_id for role_id, s in all_statements(template) if "logs:CreateLogDelivery" in listed(s["Action"])
    }
    assert log_delivery == {state_machine_role["Fn::GetAtt"][0]}


@pytest.mark.parametrize("which", ["default", "customised"])
def test_processing_role_reads_the_dataset_writes_the_baseline_and_nothing_more(
    default: Synthesized, customised: Synthesized, which: str
) -> None:
    """The job's role may read the one dataset, write under ``baseline/``, use the data key and log its job."""
    template = stack_template(_both(default, customised, which), "Baseline")
    evaluate = Intrinsics(template)
    role_id = processing_role(template)
    assert template["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}}
    ]
    statements = statements_of(template, role_id)
    assert all(statement["Effect"] == "Allow" for statement in statements)
    assert actions_of(statements) == {
        "s3:GetObject",
        "s3:ListBucket",
        "s3:PutObject",
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:GenerateDataKey",
        "kms:DescribeKey",
        "kms:CreateGrant",
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:GetAuthorizationToken",
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    properties = evaluate(custom_resource(template)[1]["Properties"])
    dataset_bucket, _, dataset_key = properties["DatasetUri"].removeprefix("s3://").partition("/")

    def resources_for(action: str) -> list[Any]:
        return [evaluate(resource) for s in with_action(statements, action) for resource in listed(s["Resource"])]

    assert resources_for("s3:GetObject") == [s3_arn(properties["DatasetUri"])]
    (list_bucket,) = with_action(statements, "s3:ListBucket")
    assert evaluate(list_bucket["Resource"]) == s3_arn(f"s3://{dataset_bucket}")
    assert list_bucket["Condition"] == {"StringLike": {"s3:prefix": [dataset_key, f"{dataset_key}*"]}}
    assert resources_for("s3:PutObject") == [s3_arn(properties["OutputUri"]) + "/*"]

    for action in ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:CreateGrant"):
        assert resources_for(action) == [properties["KmsKeyArn"]], action
    (create_grant,) = with_action(statements, "kms:CreateGrant")
    assert create_grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}

    log_group = f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/ProcessingJobs"
    for action in ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"):
        assert set(resources_for(action)) == {log_group, f"{log_group}:log-stream:*"}, action


def test_processing_role_pulls_only_the_analyzer_image_of_the_stacks_region(template: Template) -> None:
    """An environment-agnostic stack looks the analyzer up per region; the pull grant follows the same lookup.

    Evaluated for every region the SageMaker SDK lists, the grant names exactly the analyzer repository in
    that region's SageMaker account: a wrong split would deny the pull, and the job fail, in those regions.
    """
    role_id = processing_role(template)
    (pull,) = with_action(statements_of(template, role_id), "ecr:BatchGetImage")
    assert set(listed(pull["Action"])) == {
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    }
    assert "ModelMonitorImageUris" in json.dumps(pull["Resource"])
    analyzers = image_table()["model-monitor"]
    assert set(template["Mappings"]["ModelMonitorImageUris"]) == set(analyzers)
    for region, uri in analyzers.items():
        account = uri.split(".")[0]
        expected = f"arn:{PARTITION}:ecr:{region}:{account}:repository/sagemaker-model-monitor-analyzer"
        assert Intrinsics(template, region=region)(pull["Resource"]) == expected, region


# --- 4. the baseline runs while the endpoint is being created ---------------------------------------------


def test_baseline_stack_does_not_wait_for_the_endpoint_stack(default: Synthesized, template: Template) -> None:
    """``cdk deploy --all --concurrency 2`` overlaps the baseline job with the endpoint's creation.

    Any dependency on the endpoint stack (declared, or through an import of one of its outputs) would make
    a deploy take the sum of the two instead of the longer.
    """
    assert stack_dependencies(default, "Baseline") == set()
    assert stack_dependencies(default, "Monitoring") == {"Endpoint", "Baseline"}

    imports: list[Any] = []

    def collect(value: Any) -> None:
        if isinstance(value, dict):
            imports.extend(value[key] for key in ("Fn::ImportValue", "Fn::GetStackOutput") if key in value)
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    collect(template)
    assert imports == []
    endpoint = assembly_manifest(default)["artifacts"]["Endpoint"]["properties"]
    text = json.dumps(template)
    assert endpoint["stackName"] not in text
    exports = [
        output["Export"]["Name"]
        for output in stack_template(default, "Endpoint").get("Outputs", {}).values()
        if "Export" in output
    ]
    assert exports, "the endpoint stack exports names the monitoring stack imports"
    for name in exports:
        assert isinstance(name, str) and name not in text, name


# --- 5. the job starts after its permissions exist ------------------------------------------------------


def test_custom_resource_waits_for_the_processing_roles_policy(template: Template) -> None:
    """Depending on the role alone lets the job start before its policy exists: AccessDenied on the dataset."""
    (policy_id,) = policies_of(template, processing_role(template))
    assert policy_id in listed(custom_resource(template)[1].get("DependsOn", []))


# --- 6. bad props fail at construction --------------------------------------------------------------------


def build(**overrides: Any) -> SuggestedBaseline:
    stack = Stack(construct_app(), "Test")
    props: dict[str, Any] = {
        "dataset": S3Location(bucket="my-bucket", key="data/baseline.csv"),
        "output_bucket": s3.Bucket(stack, "Output"),
        "encryption_key": kms.Key(stack, "Key"),
        "job_name_prefix": "team-baseline",
    }
    return SuggestedBaseline(stack, "Baseline", **{**props, **overrides})


@pytest.mark.parametrize(
    ("prop", "value", "message"),
    [
        pytest.param(
            "dataset_format", "parquet", "dataset_format must be 'csv' or 'jsonl', got 'parquet'", id="format"
        ),
        pytest.param(
            "job_name_prefix",
            "b" * 41,
            f"job_name_prefix must be 1 to 40 characters, got '{'b' * 41}'",
            id="prefix-41-chars",
        ),
        pytest.param("job_name_prefix", "", "job_name_prefix must be 1 to 40 characters, got ''", id="prefix-empty"),
        pytest.param(
            "output_columns_position",
            "LAST",
            "output_columns_position must be 'START' or 'END', got 'LAST'",
            id="output-columns-position",
        ),
        pytest.param(
            "instance_type",
            "m5.xlarge",
            "instance_type must be a SageMaker instance type (ml.*), got 'm5.xlarge'",
            id="instance-type",
        ),
    ],
)
def test_bad_props_fail_at_construction_naming_prop_and_value(prop: str, value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        build(**{prop: value})


@pytest.mark.parametrize("position", ["START", "END"])
def test_output_columns_position_reaches_the_handler(position: str) -> None:
    baseline = build(output_columns_position=position)
    (resource,) = (
        AssertionsTemplate.from_stack(Stack.of(baseline)).find_resources("Custom::ModelMonitorBaseline").values()
    )
    assert resource["Properties"]["OutputColumnsPosition"] == position


def fingerprints() -> dict[str, str]:
    """In the synth worker (nine constructs built): the fingerprint of the reference baseline, built twice, and of
    the same baseline with one property changed, by property."""
    changes: dict[str, Any] = {
        "dataset": S3Location(bucket="my-bucket", key="data/baseline-v2.csv"),
        "header": False,
        "output_columns_position": "END",
        "instance_type": "ml.m5.2xlarge",
        "max_runtime": Duration.minutes(20),
        "output_prefix": "baseline-v2",
        "job_name_prefix": "renamed-baseline",
    }
    return {
        "reference": build().fingerprint,
        "reference again": build().fingerprint,
        **{prop: build(**{prop: value}).fingerprint for prop, value in changes.items()},
    }


FINGERPRINTS = declare_in_synth_worker(fingerprints)


def test_fingerprint_changes_exactly_with_the_properties_that_start_a_new_job() -> None:
    """The monitoring stack puts the fingerprint in its job definition's name: it must change whenever the handler
    starts a new job (a new baseline in a new folder), and stay put otherwise (no needless replacement)."""
    assert set(JOB_DEFINING_PROPERTIES) == {
        "".join(part.capitalize() for part in field.split("_")).replace("Gb", "GB") for field in JOB_DEFINING_FIELDS
    }
    found = FINGERPRINTS.result()
    reference = found.pop("reference")
    assert found.pop("reference again") == reference
    # Who runs the job and what it is called do not change the baseline.
    assert found.pop("job_name_prefix") == reference
    assert sorted(found) == sorted(
        ["dataset", "header", "output_columns_position", "instance_type", "max_runtime", "output_prefix"]
    )
    for prop, fingerprint in found.items():
        assert fingerprint != reference, prop


def test_longest_allowed_job_name_prefix_is_accepted() -> None:
    """40 characters is the limit the handler enforces too (it appends a 17-character suffix; SageMaker: 63)."""
    baseline = build(job_name_prefix="b" * MAX_JOB_NAME_PREFIX)
    assert baseline.resource.node.id == "Resource"


# --- 7. outputs ---------------------------------------------------------------------------------------------


def test_outputs_give_the_baseline_uris_and_export_the_data_bucket(template: Template) -> None:
    """The URIs come from the finished job (GetAtt), and the monitoring stack imports the bucket by name."""
    logical_id, _ = custom_resource(template)
    outputs = template["Outputs"]
    assert outputs["BaselineStatisticsUri"]["Value"] == {"Fn::GetAtt": [logical_id, "StatisticsUri"]}
    assert outputs["BaselineConstraintsUri"]["Value"] == {"Fn::GetAtt": [logical_id, "ConstraintsUri"]}
    bucket = outputs["MonitoringDataBucketName"]
    assert bucket["Value"] == {"Ref": data_bucket(template)}
    assert bucket["Export"] == {"Name": "model-monitor-default-monitoring-data-bucket"}
