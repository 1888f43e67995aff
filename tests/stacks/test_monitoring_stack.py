"""The monitoring stack compares what the endpoint saw with its baseline, and tells people when it drifts.

Everything here reads the templates of the real stages (``tests/synth.py``): the default demo, ``prod``, and
one extra synth with every monitoring setting changed at once, so each setting is shown to reach the template.
Cross-stack values are followed into the stack that produces them, so a test fails when the monitoring stack
watches the wrong endpoint or compares with the wrong baseline, not only when a property disappears.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from lambdas.violation_metric import metric_names
from settings import DEMO_FEATURES
from tests.synth import USER_BASELINE_OVERRIDES, Synthesized, declare_variant, synth_stage

REPO = Path(__file__).resolve().parents[2]
PACKAGE_DIR = REPO / "lambdas" / "violation_metric"

DATA_METRICS = "aws/sagemaker/Endpoints/data-metrics"
VIOLATION_NAMESPACE = "ModelMonitorAsCode"
PUBLISHERS = {"cloudwatch.amazonaws.com", "events.amazonaws.com"}

#: Every monitoring setting changed at once: one extra synth shows that each of them reaches the template.
#: A concrete environment also shows the literal analyzer image that replaces the region mapping.
OVERRIDES: tuple[tuple[str, str], ...] = declare_variant(
    (
        ("account", "123456789012"),
        ("region", "eu-west-1"),
        ("schedule_expression", "cron(0 0/6 ? * * *)"),
        ("monitoring_instance_type", "ml.c5.2xlarge"),
        ("monitoring_instance_count", "2"),
        ("monitoring_volume_size_gb", "50"),
        ("monitoring_max_runtime_seconds", "7200"),
        ("subnet_ids", "subnet-0123456789abcdef0"),
        ("security_group_ids", "sg-0123456789abcdef0"),
        ("enable_network_isolation", "true"),
        ("encrypt_inter_container_traffic", "false"),
        ("monitored_features", "fare_amount,total_amount"),
        ("drift_threshold", "0.3"),
        ("alert_emails", "a@example.com,b@example.org"),
        ("errors_5xx_threshold", "5"),
        ("violation_threshold_percent", "50"),
        # A team's own pipeline: the stack then builds none, and none of aws-cdk-lib's CodePipeline roles.
        ("retrain_pipeline", "team-retrain"),
    )
)
OVERRIDDEN_FEATURES = ("fare_amount", "total_amount")
#: Wildcard actions of aws-cdk-lib's grants on the retrain pipeline's artifact bucket, asset bucket and key, in
#: the roles it builds for CodePipeline and CodeBuild; acknowledged one by one in retrain_pipeline.py.
CDK_PIPELINE_WILDCARDS = {
    "s3:Abort*",
    "s3:DeleteObject*",
    "s3:GetBucket*",
    "s3:GetObject*",
    "s3:List*",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
}
EU_WEST_1_ANALYZER = "468650794304.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-model-monitor-analyzer"


# --- fixtures: the cached synths -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def default() -> Synthesized:
    return synth_stage("default")


@pytest.fixture(scope="module")
def overridden() -> Synthesized:
    return synth_stage("default", OVERRIDES)


@pytest.fixture(scope="module")
def prod() -> Synthesized:
    return synth_stage("prod")


@pytest.fixture(scope="module")
def monitoring(default: Synthesized) -> dict[str, Any]:
    return default.template_json("Monitoring")


# --- helpers ---------------------------------------------------------------------------------------------


def of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {rid: res for rid, res in template["Resources"].items() if res["Type"] == resource_type}


def the_one(template: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    found = of_type(template, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.items()))


def props_of(template: dict[str, Any], resource_type: str) -> dict[str, Any]:
    props: dict[str, Any] = the_one(template, resource_type)[1]["Properties"]
    return props


def produced(synth: Synthesized, value: Any) -> tuple[str, Any]:
    """Follow a cross-stack reference to the stack that produces it: (producer stack id, the value there).

    CDK renders references between stacks of one app either as ``Fn::GetStackOutput`` or as an export and
    ``Fn::ImportValue``; both are followed, so the tests do not depend on which one a feature flag picks.
    """
    assert isinstance(value, dict) and len(value) == 1, f"not a cross-stack reference: {value!r}"
    if "Fn::GetStackOutput" in value:
        ref = value["Fn::GetStackOutput"]
        (stack_id,) = [i for i in synth.stack_ids if synth.stack_name(i) == ref["StackName"]]
        return stack_id, synth.template_json(stack_id)["Outputs"][ref["OutputName"]]["Value"]
    if "Fn::ImportValue" in value:
        name = value["Fn::ImportValue"]
        found = [
            (stack_id, output["Value"])
            for stack_id in synth.stack_ids
            for output in synth.template_json(stack_id).get("Outputs", {}).values()
            if output.get("Export", {}).get("Name") == name
        ]
        assert len(found) == 1, f"export {name!r} is produced by {len(found)} stacks"
        return found[0]
    raise AssertionError(f"not a cross-stack reference: {value!r}")


def render(value: Any) -> str:
    """A readable string of an intrinsic: ``${Ref}``, ``${Id.Attr}``, ``${import:Name}``, joins flattened."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Ref":
            return f"${{{arg}}}"
        if fn == "Fn::GetAtt":
            return f"${{{arg[0]}.{arg[1]}}}"
        if fn == "Fn::ImportValue":
            return f"${{import:{render(arg)}}}"
        if fn == "Fn::GetStackOutput":
            return f"${{{arg['StackName']}.{arg['OutputName']}}}"
        if fn == "Fn::Join":
            separator, parts = arg
            return str(separator).join(render(part) for part in parts)
    return json.dumps(value, sort_keys=True)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def data_bucket_and_key(synth: Synthesized) -> tuple[str, str]:
    """The export name of the monitoring-data bucket (Baseline stack) and the logical id of its KMS key."""
    baseline = synth.template_json("Baseline")
    buckets = of_type(baseline, "AWS::S3::Bucket")
    ((export, bucket_id),) = [
        (output["Export"]["Name"], output["Value"]["Ref"])
        for output in baseline["Outputs"].values()
        if "Export" in output and output["Value"].get("Ref") in buckets
    ]
    (encryption,) = buckets[bucket_id]["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    key_arn = encryption["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]
    key_id = key_arn["Fn::GetAtt"][0]
    assert baseline["Resources"][key_id]["Type"] == "AWS::KMS::Key"
    return export, key_id


def job_definition(synth: Synthesized) -> dict[str, Any]:
    return props_of(synth.template_json("Monitoring"), "AWS::SageMaker::DataQualityJobDefinition")


def schedule(synth: Synthesized) -> dict[str, Any]:
    return props_of(synth.template_json("Monitoring"), "AWS::SageMaker::MonitoringSchedule")


def function(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The violation-metric function, found by its handler."""
    found = [
        (rid, res)
        for rid, res in of_type(template, "AWS::Lambda::Function").items()
        if res["Properties"].get("Handler") == "violation_metric.handler.lambda_handler"
    ]
    assert len(found) == 1, f"expected one violation-metric function, found {len(found)}"
    return found[0]


def rule_targeting(template: dict[str, Any], resource_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The one EventBridge rule with a target on ``resource_id``, and that target."""
    found = [
        (rule["Properties"], target)
        for rule in of_type(template, "AWS::Events::Rule").values()
        for target in rule["Properties"].get("Targets", [])
        if target["Arn"] == {"Fn::GetAtt": [resource_id, "Arn"]}
    ]
    assert len(found) == 1, f"expected one rule targeting {resource_id}, found {len(found)}"
    return found[0]


def alarm_metric(props: dict[str, Any]) -> dict[str, Any]:
    """The one metric an alarm watches, whichever of the two CloudFormation forms CDK rendered it in."""
    if "Metrics" in props:
        (query,) = props["Metrics"]
        stat = query["MetricStat"]
        metric, statistic, period = stat["Metric"], stat["Stat"], stat["Period"]
    else:
        metric, period = props, props["Period"]
        statistic = props.get("ExtendedStatistic", props.get("Statistic"))
    dimensions = metric.get("Dimensions", [])
    names = [dimension["Name"] for dimension in dimensions]
    assert len(names) == len(set(names)), f"repeated dimension in {names}"
    return {
        "namespace": metric["Namespace"],
        "name": metric["MetricName"],
        "dimensions": {dimension["Name"]: dimension["Value"] for dimension in dimensions},
        "stat": statistic,
        "period": period,
    }


def alarms_on(template: dict[str, Any], namespace: str, metric_name: str) -> list[dict[str, Any]]:
    return [
        alarm["Properties"]
        for alarm in of_type(template, "AWS::CloudWatch::Alarm").values()
        if alarm_metric(alarm["Properties"])["namespace"] == namespace
        and alarm_metric(alarm["Properties"])["name"] == metric_name
    ]


def alarm_on(template: dict[str, Any], namespace: str, metric_name: str) -> dict[str, Any]:
    found = alarms_on(template, namespace, metric_name)
    assert len(found) == 1, f"expected one alarm on {namespace} {metric_name}, found {len(found)}"
    return found[0]


def drift_alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Drift alarms by feature name."""
    found: dict[str, dict[str, Any]] = {}
    for alarm in of_type(template, "AWS::CloudWatch::Alarm").values():
        metric = alarm_metric(alarm["Properties"])
        if metric["namespace"] == DATA_METRICS:
            feature = metric["name"].removeprefix("feature_baseline_drift_")
            assert feature != metric["name"], f"unexpected data-quality metric {metric['name']}"
            assert feature not in found, f"two drift alarms on {feature}"
            found[feature] = alarm["Properties"]
    return found


def dashboard_body(template: dict[str, Any]) -> dict[str, Any]:
    """The dashboard's JSON with every CloudFormation value replaced by a placeholder string.

    Alarm ARNs become ``arn:<logical id>`` so the alarm widget can be compared with the stack's alarms.
    """
    body = props_of(template, "AWS::CloudWatch::Dashboard")["DashboardBody"]
    if isinstance(body, str):
        parsed: dict[str, Any] = json.loads(body)
        return parsed
    separator, parts = body["Fn::Join"]
    text = separator.join(
        part
        if isinstance(part, str)
        else f"arn:{part['Fn::GetAtt'][0]}"
        if "Fn::GetAtt" in part and part["Fn::GetAtt"][1] == "Arn"
        else "<value>"
        for part in parts
    )
    parsed = json.loads(text)
    return parsed


def dashboard_metrics(body: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(namespace, metric name, statistic) of every metric drawn on the dashboard."""
    drawn: set[tuple[str, str, str]] = set()
    for widget in body["widgets"]:
        for line in widget["properties"].get("metrics", []):
            if not isinstance(line[0], str):
                continue  # a math expression, not a metric
            options = line[-1] if isinstance(line[-1], dict) else {}
            drawn.add((line[0], line[1], options.get("stat", "Average")))
    return drawn


def identity_statements(template: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(role, statement) for every statement of every identity policy of a role in the template."""
    resources = template["Resources"]
    found: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for resource in resources.values():
        props = resource.get("Properties", {})
        if resource["Type"] in {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}:
            roles = [resources[role["Ref"]] for role in props.get("Roles", [])]
            assert roles, f"an identity policy attached to no role of the stack: {props}"
            found += [(role, statement) for role in roles for statement in props["PolicyDocument"]["Statement"]]
        if resource["Type"] == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                found += [(resource, statement) for statement in policy["PolicyDocument"]["Statement"]]
    return found


def is_cdk_pipeline_role(role: dict[str, Any], template: dict[str, Any]) -> bool:
    """A role aws-cdk-lib builds for CodePipeline or CodeBuild: trusted by exactly those services, or (an action
    role) by such a role of the stack."""
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    principal = statement["Principal"]
    services = set(as_list(principal.get("Service", [])))
    if services:
        return services <= {"codebuild.amazonaws.com", "codepipeline.amazonaws.com"}
    trusted = principal.get("AWS")
    if isinstance(trusted, dict) and "Fn::GetAtt" in trusted:
        trusting_role = template["Resources"][trusted["Fn::GetAtt"][0]]
        return trusting_role["Type"] == "AWS::IAM::Role" and is_cdk_pipeline_role(trusting_role, template)
    return False


# --- the job definition ----------------------------------------------------------------------------------


def test_job_definition_is_named_after_its_stage_and_contents_and_publishes_drift_metrics(
    default: Synthesized, overridden: Synthesized, prod: Synthesized
) -> None:
    """Without ``publish_cloudwatch_metrics=Enabled`` no drift metric exists and no drift alarm ever fires.

    The name is ``<name>-<stage>-data-quality-<digest>``, valid for SageMaker (MonitoringJobDefinitionName: 63
    characters, ``[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}``), and different whenever the definition differs, so a
    replacement never collides with the definition it replaces.
    """
    names = {}
    for synth in (default, overridden, prod):
        name = job_definition(synth)["JobDefinitionName"]
        assert re.fullmatch(rf"model-monitor-{synth.settings.stage}-data-quality-[0-9a-f]{{12}}", name), name
        assert len(name) <= 63 and re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", name)
        names[id(synth)] = name
    assert len(set(names.values())) == 3
    props = job_definition(default)
    app = props["DataQualityAppSpecification"]
    assert app["Environment"] == {"publish_cloudwatch_metrics": "Enabled"}
    # Environment-agnostic: the analyzer image is looked up per region at deploy time ...
    assert app["ImageUri"] == {"Fn::FindInMap": ["ModelMonitorImageUris", {"Ref": "AWS::Region"}, "uri"]}
    mapping = default.template_json("Monitoring")["Mappings"]["ModelMonitorImageUris"]
    assert mapping["eu-west-1"] == {"uri": EU_WEST_1_ANALYZER}
    # ... and a stage with a region gets the literal image of that region.
    assert job_definition(overridden)["DataQualityAppSpecification"] == {
        "Environment": {"publish_cloudwatch_metrics": "Enabled"},
        "ImageUri": EU_WEST_1_ANALYZER,
    }


def test_job_role_may_publish_data_quality_metrics_in_their_namespace_only(monitoring: dict[str, Any]) -> None:
    """The analyzer publishes ``feature_*`` metrics with the job's role: without PutMetricData the executions
    succeed and no drift metric ever exists. PutMetricData has no resource types, so the namespace condition is
    what scopes it."""
    props = props_of(monitoring, "AWS::SageMaker::DataQualityJobDefinition")
    role_id = props["RoleArn"]["Fn::GetAtt"][0]
    role = monitoring["Resources"][role_id]
    publishing = [
        statement
        for of_role, statement in identity_statements(monitoring)
        if of_role is role and "cloudwatch:PutMetricData" in as_list(statement["Action"])
    ]
    assert publishing == [
        {
            "Sid": "PublishDataQualityMetrics",
            "Action": "cloudwatch:PutMetricData",
            "Effect": "Allow",
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": DATA_METRICS}},
        }
    ]
    # No other role of the stack may publish there (the violation-metric function uses its own namespace).
    others = [
        statement
        for of_role, statement in identity_statements(monitoring)
        if of_role is not role and "cloudwatch:PutMetricData" in as_list(statement["Action"])
    ]
    assert all(
        statement.get("Condition", {}).get("StringEquals", {}).get("cloudwatch:namespace") != DATA_METRICS
        for statement in others
    )


def test_a_new_baseline_dataset_renames_the_job_definition_so_the_deploy_reads_the_new_uris(
    default: Synthesized,
) -> None:
    """The baseline's URIs cross as weak references (Fn::GetStackOutput), read only when the monitoring stack is
    itself updated. A new dataset must therefore change the monitoring template: here only the job definition's
    name changes (everything else, the URI references included, is the same), and since the name is create-only
    CloudFormation replaces the definition and the schedule moves to it, with the new baseline's files."""
    new = synth_stage("default", USER_BASELINE_OVERRIDES)  # shared with tests/cdk_constructs
    before, after = job_definition(default), job_definition(new)
    assert before["JobDefinitionName"] != after["JobDefinitionName"]
    assert {**before, "JobDefinitionName": None} == {**after, "JobDefinitionName": None}
    assert schedule(new)["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"] == after["JobDefinitionName"]
    # The baseline stack starts a new job for it (the dataset is a job-defining property of the custom resource).
    (new_baseline,) = [
        resource
        for resource in new.template_json("Baseline")["Resources"].values()
        if resource["Type"] == "Custom::ModelMonitorBaseline"
    ]
    assert new_baseline["Properties"]["DatasetUri"] == dict(USER_BASELINE_OVERRIDES)["baseline_dataset_uri"]


def test_the_same_inputs_give_the_same_job_definition_name(default: Synthesized) -> None:
    """A deploy without changes replaces nothing: the name synthesized in this run is the one the Monitoring
    snapshot recorded in an earlier run (another process), so equal inputs give equal names across synths."""
    name = job_definition(default)["JobDefinitionName"]
    recorded = REPO / "tests/stacks/__snapshots__/test_gates/test_template_matches_snapshot[Monitoring].json"
    assert recorded.read_text(encoding="utf-8").count(f'"{name}"') == 2  # the definition, and the schedule


def test_job_compares_with_the_baseline_the_baseline_stack_computed(default: Synthesized) -> None:
    """Statistics and constraints are the outputs of the baseline custom resource, so the schedule is only
    created once the baseline job has finished, and always compares with the latest baseline."""
    baseline = default.template_json("Baseline")
    config = job_definition(default)["DataQualityBaselineConfig"]
    producers = set()
    for resource_key, attribute in (("StatisticsResource", "StatisticsUri"), ("ConstraintsResource", "ConstraintsUri")):
        stack_id, value = produced(default, config[resource_key]["S3Uri"])
        assert stack_id == "Baseline"
        resource_id, produced_attribute = value["Fn::GetAtt"]
        assert produced_attribute == attribute
        resource_type = baseline["Resources"][resource_id]["Type"]
        assert resource_type.startswith("Custom::") or resource_type == "AWS::CloudFormation::CustomResource"
        producers.add(resource_id)
    assert len(producers) == 1, "statistics and constraints of one and the same baseline"


@pytest.mark.parametrize("which", ["default", "prod"])
def test_job_reads_what_the_endpoint_of_the_endpoint_stack_captured(which: str, request: pytest.FixtureRequest) -> None:
    """The endpoint has the stage's stable lower-case name, and the monitoring stack uses that literal: the
    ``Endpoint`` dimension of Model Monitor's metrics then matches the alarms exactly."""
    synth: Synthesized = request.getfixturevalue(which)
    endpoint_input = job_definition(synth)["DataQualityJobInput"]["EndpointInput"]
    assert endpoint_input["LocalPath"] == "/opt/ml/processing/input/endpoint"
    assert endpoint_input["S3InputMode"] == "File"
    name = f"model-monitor-{synth.settings.stage}"
    assert endpoint_input["EndpointName"] == name
    assert props_of(synth.template_json("Endpoint"), "AWS::SageMaker::Endpoint")["EndpointName"] == name


def test_reports_go_to_the_data_bucket_encrypted_with_its_key(default: Synthesized) -> None:
    """Reports land where the violation-metric function reads them, and the volume is encrypted too."""
    export, key_id = data_bucket_and_key(default)
    props = job_definition(default)
    output_config = props["DataQualityJobOutputConfig"]
    (output,) = output_config["MonitoringOutputs"]
    assert output["S3Output"]["LocalPath"] == "/opt/ml/processing/output"
    assert render(output["S3Output"]["S3Uri"]) == f"s3://${{import:{export}}}/monitoring-reports"
    for key_ref in (output_config["KmsKeyId"], props["JobResources"]["ClusterConfig"]["VolumeKmsKeyId"]):
        assert produced(default, key_ref) == ("Baseline", {"Fn::GetAtt": [key_id, "Arn"]})


def test_cluster_and_stopping_condition_come_from_settings(default: Synthesized, overridden: Synthesized) -> None:
    assert job_definition(default)["JobResources"]["ClusterConfig"] | {"VolumeKmsKeyId": None} == {
        "InstanceType": "ml.m5.xlarge",
        "InstanceCount": 1,
        "VolumeSizeInGB": 20,
        "VolumeKmsKeyId": None,
    }
    assert job_definition(default)["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    cluster = job_definition(overridden)["JobResources"]["ClusterConfig"]
    assert (cluster["InstanceType"], cluster["InstanceCount"], cluster["VolumeSizeInGB"]) == ("ml.c5.2xlarge", 2, 50)
    assert job_definition(overridden)["StoppingCondition"] == {"MaxRuntimeInSeconds": 7200}


def test_network_is_encrypted_by_default_and_the_vpc_comes_from_settings(
    default: Synthesized, overridden: Synthesized
) -> None:
    assert job_definition(default)["NetworkConfig"] == {
        "EnableInterContainerTrafficEncryption": True,
        "EnableNetworkIsolation": False,
    }
    assert job_definition(overridden)["NetworkConfig"] == {
        "EnableInterContainerTrafficEncryption": False,
        "EnableNetworkIsolation": True,
        "VpcConfig": {"Subnets": ["subnet-0123456789abcdef0"], "SecurityGroupIds": ["sg-0123456789abcdef0"]},
    }


# --- the schedule ----------------------------------------------------------------------------------------


def test_schedule_runs_data_quality_hourly_unless_a_stage_says_otherwise(
    default: Synthesized, overridden: Synthesized
) -> None:
    config = schedule(default)["MonitoringScheduleConfig"]
    assert config["MonitoringType"] == "DataQuality"
    assert config["ScheduleConfig"] == {"ScheduleExpression": "cron(0 * ? * * *)"}
    assert schedule(overridden)["MonitoringScheduleConfig"]["ScheduleConfig"] == {
        "ScheduleExpression": "cron(0 0/6 ? * * *)"
    }


def test_schedule_names_its_job_definition_literally_and_depends_on_it(monitoring: dict[str, Any]) -> None:
    """The literal name, never parsed out of an ARN (SageMaker lower-cases some ARNs, boto/boto3#4606); the
    explicit dependency makes CloudFormation create the job definition first and delete the schedule first, as
    SageMaker refuses to delete a job definition a schedule still uses."""
    definition_id, definition = the_one(monitoring, "AWS::SageMaker::DataQualityJobDefinition")
    _, schedule_resource = the_one(monitoring, "AWS::SageMaker::MonitoringSchedule")
    named = schedule_resource["Properties"]["MonitoringScheduleConfig"]["MonitoringJobDefinitionName"]
    assert named == definition["Properties"]["JobDefinitionName"]
    assert isinstance(named, str)
    assert definition_id in schedule_resource["DependsOn"]
    # And not the other way round, which would be a cycle.
    assert not [
        dependency
        for dependency in monitoring["Resources"][definition_id].get("DependsOn", [])
        if monitoring["Resources"][dependency]["Type"] == "AWS::SageMaker::MonitoringSchedule"
    ]


def test_schedule_name_is_derived_valid_and_unique_per_stage(default: Synthesized, prod: Synthesized) -> None:
    """Two stages in one account must not collide, SageMaker caps the name at 63 characters, and nobody
    types it: it comes from the stack name and construct path, with a hash."""
    names = {}
    for synth in (default, prod):
        name = schedule(synth)["MonitoringScheduleName"]
        assert isinstance(name, str)
        assert len(name) <= 63
        assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*", name), name
        stack_name = synth.stack_name("Monitoring")
        assert name.startswith(re.sub(r"[^A-Za-z0-9]", "", stack_name)), (name, stack_name)
        assert re.search(r"-[0-9a-f]{8}$", name), name  # lower case, as SageMaker writes it in ARNs
        names[synth.settings.stage] = name
    assert names["default"] != names["prod"]
    # Not a literal in the code or the configuration.
    sources = [*REPO.glob("*.py"), *REPO.glob("stacks/*.py"), *REPO.glob("cdk_constructs/*.py"), REPO / "cdk.json"]
    assert not [path for path in sources if names["default"] in path.read_text(encoding="utf-8")]


# --- alarms ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("which", "features", "threshold"),
    [("default", DEMO_FEATURES, 0.1), ("overridden", OVERRIDDEN_FEATURES, 0.3)],
)
def test_one_drift_alarm_per_monitored_feature_on_the_metric_model_monitor_publishes(
    which: str, features: tuple[str, ...], threshold: float, request: pytest.FixtureRequest
) -> None:
    """The namespace, name and both dimensions must match what SageMaker publishes exactly, or the alarm
    watches a metric that never gets a data point and stays quiet forever."""
    synth: Synthesized = request.getfixturevalue(which)
    template = synth.template_json("Monitoring")
    alarms = drift_alarms(template)
    assert sorted(alarms) == sorted(features)
    endpoint_name = job_definition(synth)["DataQualityJobInput"]["EndpointInput"]["EndpointName"]
    schedule_name = schedule(synth)["MonitoringScheduleName"]
    for feature, props in alarms.items():
        metric = alarm_metric(props)
        assert metric["name"] == f"feature_baseline_drift_{feature}"
        assert metric["dimensions"] == {"Endpoint": endpoint_name, "MonitoringSchedule": schedule_name}
        assert props["Threshold"] == threshold
        assert props["ComparisonOperator"] == "GreaterThanThreshold"
        # An hour without an execution says nothing about drift: keep the state.
        assert props["TreatMissingData"] == "ignore"


def test_server_errors_alarm_counts_5xx_of_the_endpoint_variant(
    monitoring: dict[str, Any], default: Synthesized, overridden: Synthesized
) -> None:
    props = alarm_on(monitoring, "AWS/SageMaker", "Invocation5XXErrors")
    metric = alarm_metric(props)
    endpoint_name = job_definition(default)["DataQualityJobInput"]["EndpointInput"]["EndpointName"]
    assert metric["dimensions"] == {"EndpointName": endpoint_name, "VariantName": "AllTraffic"}
    assert metric["stat"] == "Sum"
    assert props["Threshold"] == 1
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    # An endpoint nobody calls has no errors.
    assert props["TreatMissingData"] == "notBreaching"
    assert alarm_on(overridden.template_json("Monitoring"), "AWS/SageMaker", "Invocation5XXErrors")["Threshold"] == 5


def test_latency_alarm_is_on_p99_in_microseconds(
    monitoring: dict[str, Any], default: Synthesized, prod: Synthesized
) -> None:
    """ModelLatency is published in microseconds: a threshold in milliseconds would never fire."""
    props = alarm_on(monitoring, "AWS/SageMaker", "ModelLatency")
    metric = alarm_metric(props)
    assert metric["stat"] == "p99"
    endpoint_name = job_definition(default)["DataQualityJobInput"]["EndpointInput"]["EndpointName"]
    assert metric["dimensions"] == {"EndpointName": endpoint_name, "VariantName": "AllTraffic"}
    assert props["Threshold"] == 500 * 1000
    assert props["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm_on(prod.template_json("Monitoring"), "AWS/SageMaker", "ModelLatency")["Threshold"] == 200 * 1000


@pytest.mark.parametrize("metric_name", [metric_names.EXECUTION_FAILED, metric_names.REPORT_ERRORS])
def test_monitoring_health_alarms_watch_what_the_function_publishes(
    monitoring: dict[str, Any], metric_name: str
) -> None:
    """Namespace and dimension values are the ones the function is configured with, so the alarm and the
    function's EMF output meet on the same metric."""
    env = function(monitoring)[1]["Properties"]["Environment"]["Variables"]
    props = alarm_on(monitoring, env["POWERTOOLS_METRICS_NAMESPACE"], metric_name)
    assert alarm_metric(props)["dimensions"] == {
        metric_names.DIMENSION_ENDPOINT: env["ENDPOINT_NAME"],
        metric_names.DIMENSION_MONITORING_SCHEDULE: env["MONITORING_SCHEDULE_NAME"],
    }
    assert props["Threshold"] == 1
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_violation_alarm_fires_at_the_configured_share_of_violated_features(
    monitoring: dict[str, Any], overridden: Synthesized, prod: Synthesized
) -> None:
    env = function(monitoring)[1]["Properties"]["Environment"]["Variables"]
    props = alarm_on(monitoring, VIOLATION_NAMESPACE, metric_names.VIOLATION_PERCENTAGE)
    assert alarm_metric(props)["dimensions"] == {
        "Endpoint": env["ENDPOINT_NAME"],
        "MonitoringSchedule": env["MONITORING_SCHEDULE_NAME"],
    }
    assert props["Threshold"] == 25
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert props["TreatMissingData"] == "ignore"
    for synth, threshold in ((overridden, 50), (prod, 20)):
        template = synth.template_json("Monitoring")
        assert alarm_on(template, VIOLATION_NAMESPACE, metric_names.VIOLATION_PERCENTAGE)["Threshold"] == threshold


@pytest.mark.parametrize(("which", "feature_count"), [("default", len(DEMO_FEATURES)), ("overridden", 2)])
def test_every_alarm_tells_the_topic_when_it_fires_and_when_it_recovers(
    which: str, feature_count: int, request: pytest.FixtureRequest
) -> None:
    template = request.getfixturevalue(which).template_json("Monitoring")
    topic_id, _ = the_one(template, "AWS::SNS::Topic")
    alarms = of_type(template, "AWS::CloudWatch::Alarm")
    # Drift per feature, 5XX, latency, failed execution, unreadable report, violation percentage.
    assert len(alarms) == feature_count + 5
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
        assert alarm["Properties"]["OKActions"] == [{"Ref": topic_id}]


# --- the alerts topic ------------------------------------------------------------------------------------


def test_topic_is_encrypted_with_a_rotating_customer_key(monitoring: dict[str, Any]) -> None:
    topic = props_of(monitoring, "AWS::SNS::Topic")
    key_id = topic["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key = monitoring["Resources"][key_id]
    assert key["Type"] == "AWS::KMS::Key"
    assert key["Properties"]["EnableKeyRotation"] is True


def test_topic_refuses_plain_http_and_only_cloudwatch_and_eventbridge_may_publish(
    monitoring: dict[str, Any],
) -> None:
    topic_id, _ = the_one(monitoring, "AWS::SNS::Topic")
    policy = props_of(monitoring, "AWS::SNS::TopicPolicy")
    assert policy["Topics"] == [{"Ref": topic_id}]
    statements = policy["PolicyDocument"]["Statement"]
    deny = [s for s in statements if s["Effect"] == "Deny"]
    assert [s["Condition"] for s in deny] == [{"Bool": {"aws:SecureTransport": "false"}}]
    assert deny[0]["Principal"] in ("*", {"AWS": "*"})
    (allow,) = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Action"] == "sns:Publish"
    assert allow["Resource"] == {"Ref": topic_id}
    assert set(as_list(allow["Principal"]["Service"])) == PUBLISHERS
    assert set(allow["Principal"]) == {"Service"}
    assert allow["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_key_lets_the_publishers_encrypt_or_alarms_fail_to_notify_silently(monitoring: dict[str, Any]) -> None:
    topic = props_of(monitoring, "AWS::SNS::Topic")
    key = monitoring["Resources"][topic["KmsMasterKeyId"]["Fn::GetAtt"][0]]
    services = set()
    for statement in key["Properties"]["KeyPolicy"]["Statement"]:
        principal = statement.get("Principal", {})
        if statement["Effect"] == "Allow" and "Service" in principal:
            assert set(as_list(statement["Action"])) == {"kms:Decrypt", "kms:GenerateDataKey"}
            # The dead-letter queues' statement (same key) narrows EventBridge further, to this account's rules.
            assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
            services |= set(as_list(principal["Service"]))
    assert services == PUBLISHERS


def test_email_subscriptions_come_from_settings(monitoring: dict[str, Any], overridden: Synthesized) -> None:
    assert of_type(monitoring, "AWS::SNS::Subscription") == {}
    template = overridden.template_json("Monitoring")
    topic_id, _ = the_one(template, "AWS::SNS::Topic")
    subscriptions = [s["Properties"] for s in of_type(template, "AWS::SNS::Subscription").values()]
    assert sorted(subscriptions, key=lambda s: str(s["Endpoint"])) == [
        {"Endpoint": "a@example.com", "Protocol": "email", "TopicArn": {"Ref": topic_id}},
        {"Endpoint": "b@example.org", "Protocol": "email", "TopicArn": {"Ref": topic_id}},
    ]


# --- the violation-metric function -----------------------------------------------------------------------


def test_function_runs_the_handler_with_powertools_in_its_zip_not_a_layer(monitoring: dict[str, Any]) -> None:
    """No layer and no public SSM parameter: a region where Powertools' parameter is missing deploys the same."""
    props = function(monitoring)[1]["Properties"]
    assert props["Runtime"] == "python3.14"
    assert props["Handler"] == "violation_metric.handler.lambda_handler"
    assert "Layers" not in props
    assert set(monitoring.get("Parameters", {})) == {"BootstrapVersion"}  # CDK's own, read by the CLI


def test_function_knows_its_schedule_endpoint_namespace_and_baseline(default: Synthesized) -> None:
    """The same values the schedule and the alarms use: the function keeps only this schedule's executions."""
    _, function_resource = function(default.template_json("Monitoring"))
    env = function_resource["Properties"]["Environment"]["Variables"]
    assert env["MONITORING_SCHEDULE_NAME"] == schedule(default)["MonitoringScheduleName"]
    assert env["ENDPOINT_NAME"] == job_definition(default)["DataQualityJobInput"]["EndpointInput"]["EndpointName"]
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == VIOLATION_NAMESPACE
    constraints = job_definition(default)["DataQualityBaselineConfig"]["ConstraintsResource"]["S3Uri"]
    assert env["BASELINE_CONSTRAINTS_URI"] == constraints


def test_function_runs_when_a_processing_job_ends_and_keeps_undelivered_events(monitoring: dict[str, Any]) -> None:
    """Every execution's end reaches the function; an event it could not take waits in a queue, not lost."""
    function_id, _ = function(monitoring)
    rule, target = rule_targeting(monitoring, function_id)
    assert rule["EventPattern"] == {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Processing Job State Change"],
        "detail": {"ProcessingJobStatus": ["Completed", "Failed", "Stopped"]},
    }
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] > 0
    queue_id = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    queue = monitoring["Resources"][queue_id]
    assert queue["Type"] == "AWS::SQS::Queue"
    assert queue["Properties"].get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in queue["Properties"]
    (queue_policy,) = [
        policy["Properties"]
        for policy in of_type(monitoring, "AWS::SQS::QueuePolicy").values()
        if policy["Properties"]["Queues"] == [{"Ref": queue_id}]
    ]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in queue_policy["PolicyDocument"]["Statement"]
    )
    # EventBridge may invoke the function for this rule.
    (permission,) = [
        p["Properties"]
        for p in of_type(monitoring, "AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [function_id, "Arn"]}
    ]
    assert permission["Principal"] == "events.amazonaws.com"
    assert permission["SourceArn"]["Fn::GetAtt"][1] == "Arn"
    assert monitoring["Resources"][permission["SourceArn"]["Fn::GetAtt"][0]]["Properties"] == rule


def test_function_role_may_describe_jobs_and_read_reports_and_baseline_only(default: Synthesized) -> None:
    template = default.template_json("Monitoring")
    role_id = function(template)[1]["Properties"]["Role"]["Fn::GetAtt"][0]
    role = template["Resources"][role_id]["Properties"]
    assert "ManagedPolicyArns" not in role
    assert "Policies" not in role
    statements = [
        statement
        for policy in of_type(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert all(statement["Effect"] == "Allow" for statement in statements)
    actions = {action for statement in statements for action in as_list(statement["Action"])}
    assert actions == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "sagemaker:DescribeProcessingJob",
        "s3:GetObject",
        "s3:ListBucket",
        "kms:Decrypt",
    }

    def resources_of(action: str) -> set[str]:
        return {
            render(resource)
            for statement in statements
            if action in as_list(statement["Action"])
            for resource in as_list(statement["Resource"])
        }

    export, key_id = data_bucket_and_key(default)
    bucket = f"arn:${{AWS::Partition}}:s3:::${{import:{export}}}"
    assert resources_of("s3:GetObject") == {f"{bucket}/monitoring-reports/*", f"{bucket}/baseline/*"}
    assert resources_of("s3:ListBucket") == {bucket}
    (key_ref,) = [s["Resource"] for s in statements if "kms:Decrypt" in as_list(s["Action"])]
    assert produced(default, key_ref) == ("Baseline", {"Fn::GetAtt": [key_id, "Arn"]})


def staged_function_code(synth: Synthesized) -> Path:
    assembly_dir = synth.directory
    artifacts = json.loads((assembly_dir / "manifest.json").read_text(encoding="utf-8"))["artifacts"]
    (manifest_file,) = [
        artifacts[dep]["properties"]["file"]
        for dep in artifacts["Monitoring"]["dependencies"]
        if artifacts[dep]["type"] == "cdk:asset-manifest"
    ]
    files = json.loads((assembly_dir / manifest_file).read_text(encoding="utf-8"))["files"]
    code = function(synth.template_json("Monitoring"))[1]["Properties"]["Code"]
    asset = files[code["S3Key"].removesuffix(".zip")]
    assert asset["source"]["packaging"] == "zip"
    return assembly_dir / str(asset["source"]["path"])


def locked_versions() -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (PACKAGE_DIR / "requirements.txt").read_text(), re.MULTILINE)
    return {name.lower().replace("_", "-"): version for name, version in pins}


def test_function_asset_ships_the_package_and_its_locked_requirements_only(default: Synthesized) -> None:
    """The package's sources (not the baseline function's code, not __pycache__) and the lock's packages, at the
    zip's root where Lambda's Python finds them."""
    staged = staged_function_code(default)
    package = staged / "violation_metric"
    shipped = {path.relative_to(package).as_posix() for path in package.rglob("*")}
    assert shipped == {path.name for path in PACKAGE_DIR.glob("*.py")}
    installed = dict(path.name.removesuffix(".dist-info").rsplit("-", 1) for path in staged.glob("*.dist-info"))
    assert {name.lower().replace("_", "-"): version for name, version in installed.items()} == locked_versions()
    assert not list(staged.rglob("__pycache__"))


def test_bundled_powertools_is_what_the_handler_imports_and_the_tests_run(default: Synthesized) -> None:
    """The zip's own Powertools loads the handler (first on the path, as in /var/task), and every locked
    version is the one installed here, which the handler tests ran against."""
    staged = staged_function_code(default)
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import aws_lambda_powertools, violation_metric.handler; "
        "print(aws_lambda_powertools.__file__)"
    )
    result = subprocess.run([sys.executable, "-c", probe, str(staged)], capture_output=True, text=True, check=True)  # noqa: S603
    assert Path(result.stdout.strip()).is_relative_to(staged)
    assert {name: metadata.version(name) for name in locked_versions()} == locked_versions()


# --- the dashboard ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("which", "features"), [("default", DEMO_FEATURES), ("overridden", OVERRIDDEN_FEATURES)])
def test_dashboard_shows_traffic_latency_errors_resources_drift_violations_and_alarms(
    which: str, features: tuple[str, ...], request: pytest.FixtureRequest
) -> None:
    template = request.getfixturevalue(which).template_json("Monitoring")
    body = dashboard_body(template)
    drawn = dashboard_metrics(body)
    expected = {
        ("AWS/SageMaker", "Invocations", "Sum"),
        ("AWS/SageMaker", "Invocation4XXErrors", "Sum"),
        ("AWS/SageMaker", "Invocation5XXErrors", "Sum"),
        *(("AWS/SageMaker", name, p) for name in ("ModelLatency", "OverheadLatency") for p in ("p50", "p90", "p99")),
        *(
            ("/aws/sagemaker/Endpoints", name, "Average")
            for name in ("CPUUtilization", "MemoryUtilization", "DiskUtilization")
        ),
        *((DATA_METRICS, f"feature_baseline_drift_{feature}", "Maximum") for feature in features),
        (VIOLATION_NAMESPACE, metric_names.VIOLATION_PERCENTAGE, "Maximum"),
    }
    assert expected <= drawn, expected - drawn
    assert {name for namespace, name, _ in drawn if namespace == DATA_METRICS} == {
        f"feature_baseline_drift_{feature}" for feature in features
    }
    (alarm_widget,) = [widget for widget in body["widgets"] if widget["type"] == "alarm"]
    alarm_ids = of_type(template, "AWS::CloudWatch::Alarm")
    assert sorted(alarm_widget["properties"]["alarms"]) == sorted(f"arn:{alarm_id}" for alarm_id in alarm_ids)


# --- across the stack ------------------------------------------------------------------------------------


def test_no_iam_statement_allows_a_wildcard_action_when_the_stack_builds_no_pipeline(overridden: Synthesized) -> None:
    """Every action is named: a wildcard grants what the next API release adds, unseen in review."""
    statements = identity_statements(overridden.template_json("Monitoring"))
    assert len(statements) > 5
    assert [s for _, s in statements for action in as_list(s["Action"]) if "*" in action] == []


def test_wildcard_actions_are_only_those_aws_cdk_lib_writes_for_the_built_pipeline(monitoring: dict[str, Any]) -> None:
    """The roles this project writes name every action. The roles aws-cdk-lib builds for CodePipeline and
    CodeBuild carry its artifact and key grants (``s3:GetObject*``, ``kms:GenerateDataKey*`` ...), each
    acknowledged in ``cdk_constructs/retrain_pipeline.py``: those and no broader ones are allowed there."""
    statements = identity_statements(monitoring)
    assert len(statements) > 5
    for role, statement in statements:
        wildcards = {action for action in as_list(statement["Action"]) if "*" in action}
        assert not [action for action in wildcards if action == "*" or action.endswith(":*")], statement
        if is_cdk_pipeline_role(role, monitoring):
            assert wildcards <= CDK_PIPELINE_WILDCARDS, statement
        else:
            assert wildcards == set(), statement


def test_monitoring_is_deployed_after_the_endpoint_and_the_baseline(default: Synthesized) -> None:
    """The schedule needs the endpoint and a finished baseline; the two others deploy side by side."""

    stack_dependencies = default.stack_dependencies
    assert stack_dependencies("Monitoring") == {"Endpoint", "Baseline"}
    assert stack_dependencies("Endpoint") == set()
    assert stack_dependencies("Baseline") == set()
