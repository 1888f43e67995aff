"""The builtin engine from the stacks: one setting chooses it, and everything downstream stays the same."""

from __future__ import annotations

import fnmatch
import importlib
import json
import re
from typing import Any

import pytest

from cdk_constructs.suggested_baseline import JOB_DEFINING_PROPERTIES, _fingerprint
from settings import MODEL_MONITOR_METRICS_NAMESPACE, Settings, SettingsError, load_settings
from tests.synth import Synthesized, declare_variant, synth_stage


def settings_with(**overrides: Any) -> Settings:
    return load_settings(stage=None, stages=None, overrides=overrides)


# --- settings ------------------------------------------------------------------------------------------------


def test_model_monitor_stays_the_default_engine() -> None:
    settings = settings_with()
    assert settings.monitoring_engine == "model-monitor"
    assert (settings.builtin_runtime, settings.analysis_memory_mb, settings.analysis_timeout_seconds) == (
        "function",
        1769,
        900,
    )
    assert settings.drift_metrics_namespace == MODEL_MONITOR_METRICS_NAMESPACE


def test_command_line_strings_choose_the_builtin_engine() -> None:
    settings = settings_with(
        monitoring_engine="builtin",
        analysis_memory_mb="3008",
        analysis_timeout_seconds="600",
        drift_metrics_namespace="ModelMonitorAsCode/DataMetrics",
    )
    assert settings.monitoring_engine == "builtin"
    assert (settings.analysis_memory_mb, settings.analysis_timeout_seconds) == (3008, 600)
    assert settings.drift_metrics_namespace == "ModelMonitorAsCode/DataMetrics"


@pytest.mark.parametrize(
    ("setting", "value", "allowed"),
    [
        ("monitoring_engine", "deequ", "one of 'model-monitor', 'builtin'"),
        ("monitoring_engine", "Builtin", "one of 'model-monitor', 'builtin'"),
        ("builtin_runtime", "fargate", "one of 'function', 'processing'"),
        ("analysis_memory_mb", 64, "an integer from 128 to 10240"),
        ("analysis_memory_mb", 10241, "an integer from 128 to 10240"),
        ("analysis_timeout_seconds", 901, "an integer from 1 to 900"),
        ("analysis_timeout_seconds", 0, "an integer from 1 to 900"),
        ("drift_metrics_namespace", "AWS/SageMaker", "not starting with ':' or 'AWS/'"),
        ("drift_metrics_namespace", ":colon", "not starting with ':' or 'AWS/'"),
        ("drift_metrics_namespace", "x" * 256, "1 to 255 printable ASCII characters"),
        ("drift_metrics_namespace", "caf\u00e9", "1 to 255 printable ASCII characters"),
        ("schedule_expression", "rate(1 hour)", "cron(0 H/N ? * * *)"),
    ],
)
def test_bad_engine_settings_stop_synth_in_one_line(setting: str, value: Any, allowed: str) -> None:
    with pytest.raises(SettingsError) as error:
        settings_with(**{"monitoring_engine": "builtin", setting: value})
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"setting {setting}: got ")
    assert allowed in message


def test_the_processing_runtime_is_accepted_where_a_job_can_run() -> None:
    """Its image is built from the region's Spark image: no region, one line (the full matrix of what a processing
    stage needs is in test_processing_runtime.py)."""
    with pytest.raises(SettingsError) as error:
        settings_with(monitoring_engine="builtin", builtin_runtime="processing")
    assert str(error.value).startswith('setting region: missing; builtin_runtime "processing" builds its image')
    settings = settings_with(monitoring_engine="builtin", builtin_runtime="processing", region="eu-west-1")
    assert settings.builtin_runtime == "processing"


@pytest.mark.parametrize("expression", ["cron(0 5/10 ? * * *)", "cron(0 3/2 ? * * *)", "cron(0 0/5 ? * * *)"])
def test_the_builtin_engine_refuses_unevenly_spaced_runs(expression: str) -> None:
    """Each run analyzes the same number of hours before it: uneven gaps would skip hours or analyze them twice."""
    with pytest.raises(SettingsError) as error:
        settings_with(monitoring_engine="builtin", schedule_expression=expression)
    assert str(error.value).startswith(f'setting schedule_expression: got "{expression}"; the builtin engine needs')
    assert "\n" not in str(error.value)
    # Model Monitor keeps accepting them.
    assert settings_with(schedule_expression=expression).schedule_expression == expression


@pytest.mark.parametrize("expression", ["cron(0 * ? * * *)", "cron(0 6 ? * * *)", "cron(0 1/3 ? * * *)"])
def test_the_builtin_engine_accepts_evenly_spaced_runs(expression: str) -> None:
    assert settings_with(monitoring_engine="builtin", schedule_expression=expression).monitoring_engine == "builtin"


def test_only_the_builtin_engine_chooses_the_metrics_namespace() -> None:
    """Model Monitor publishes where it publishes: a namespace of our own would leave its alarms without data."""
    with pytest.raises(SettingsError) as error:
        settings_with(drift_metrics_namespace="ModelMonitorAsCode/DataMetrics")
    assert "only monitoring_engine 'builtin' can choose" in str(error.value)
    assert "\n" not in str(error.value)


# --- the builtin stage's templates --------------------------------------------------------------------------

#: Every builtin setting changed at once, on a schedule every two hours.
BUILTIN_OVERRIDES: tuple[tuple[str, str], ...] = declare_variant(
    (
        ("monitoring_engine", "builtin"),
        ("schedule_expression", "cron(0 1/2 ? * * *)"),
        ("analysis_memory_mb", "3008"),
        ("analysis_timeout_seconds", "600"),
        ("drift_metrics_namespace", "ModelMonitorAsCode/DataMetrics"),
        ("baseline_output_columns_position", "END"),
    )
)


@pytest.fixture(scope="module")
def builtin() -> Synthesized:
    return synth_stage("builtin")


@pytest.fixture(scope="module")
def monitoring(builtin: Synthesized) -> dict[str, Any]:
    return builtin.template_json("Monitoring")


@pytest.fixture(scope="module")
def overridden() -> Synthesized:
    return synth_stage("default", BUILTIN_OVERRIDES)


def of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {key: value for key, value in template["Resources"].items() if value["Type"] == resource_type}


def the_one(template: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    (found,) = of_type(template, resource_type).items()
    return found[0], found[1]["Properties"]


def role_statements(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    role = template["Resources"][role_id]["Properties"]
    assert "ManagedPolicyArns" not in role
    assert "Policies" not in role
    return [
        statement
        for policy in of_type(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def joined_text(value: Any) -> str:
    """An ARN built with Fn::Join, with each intrinsic shown as ``<…>``: enough to read its literal parts."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        return "".join(joined_text(part) for part in value["Fn::Join"][1])
    return "<" + str(next(iter(value))) + ">"


def s3_access(statements: list[dict[str, Any]]) -> tuple[set[str], list[str], list[str]]:
    """What IAM statements grant on S3, as text: the object ARNs read, the object ARNs of the one statement that
    writes, and the listable prefixes (sorted)."""
    reads = {joined_text(r) for s in statements if s["Action"] == "s3:GetObject" for r in as_list(s["Resource"])}
    (write,) = [s for s in statements if s["Action"] == "s3:PutObject"]
    listed = sorted(
        prefix
        for s in statements
        if s["Action"] == "s3:ListBucket"
        for prefix in s["Condition"]["StringLike"]["s3:prefix"]
    )
    return reads, [joined_text(r) for r in as_list(write["Resource"])], listed


def test_builtin_mode_builds_no_model_monitor_resource(monitoring: dict[str, Any]) -> None:
    types = {resource["Type"] for resource in monitoring["Resources"].values()}
    assert not {t for t in types if t.startswith("AWS::SageMaker::")}
    assert not {t for t in types if t.startswith("Custom::")}  # no schedule guard
    # The only EventBridge rule is the retrain trigger's: no rule waits for processing jobs to end.
    for rule in of_type(monitoring, "AWS::Events::Rule").values():
        assert rule["Properties"]["EventPattern"]["source"] == ["aws.cloudwatch"]


def test_the_schedule_sends_the_scheduled_time_to_the_function_at_a_fixed_minute(
    monitoring: dict[str, Any], overridden: Synthesized
) -> None:
    _, schedule = the_one(monitoring, "AWS::Scheduler::Schedule")
    function_id, _ = the_one(monitoring, "AWS::Lambda::Function")
    assert schedule["ScheduleExpression"] == "cron(0 * ? * * *)"
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert schedule["State"] == "ENABLED"
    assert "Fn::GetStackOutput" in schedule["KmsKeyArn"] or "Fn::ImportValue" in schedule["KmsKeyArn"]
    target = schedule["Target"]
    assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert json.loads(target["Input"])["scheduledTime"] == "<aws.scheduler.scheduled-time>"
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    queue_id = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    assert monitoring["Resources"][queue_id]["Type"] == "AWS::SQS::Queue"
    # The schedule follows the setting, validated like Model Monitor's.
    _, other = the_one(overridden.template_json("Monitoring"), "AWS::Scheduler::Schedule")
    assert other["ScheduleExpression"] == "cron(0 1/2 ? * * *)"


def test_the_scheduler_role_may_invoke_only_that_function(monitoring: dict[str, Any]) -> None:
    _, schedule = the_one(monitoring, "AWS::Scheduler::Schedule")
    function_id, _ = the_one(monitoring, "AWS::Lambda::Function")
    role_id = schedule["Target"]["RoleArn"]["Fn::GetAtt"][0]
    (trust,) = monitoring["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert set(trust["Condition"]["StringEquals"]) == {"aws:SourceAccount", "aws:SourceArn"}
    assert joined_text(trust["Condition"]["StringEquals"]["aws:SourceArn"]).endswith(":schedule-group/default")
    statements = role_statements(monitoring, role_id)
    invoke = [s for s in statements if "lambda:InvokeFunction" in as_list(s["Action"])]
    assert invoke == [
        {
            "Sid": "InvokeTheAnalysisOnly",
            "Action": "lambda:InvokeFunction",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [function_id, "Arn"]},
        }
    ]
    queue_id = schedule["Target"]["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    actions = {action: s["Resource"] for s in statements for action in as_list(s["Action"])}
    assert actions == {
        "lambda:InvokeFunction": {"Fn::GetAtt": [function_id, "Arn"]},
        "sqs:SendMessage": {"Fn::GetAtt": [queue_id, "Arn"]},
        "kms:Decrypt": schedule["KmsKeyArn"],
        "kms:GenerateDataKey": schedule["KmsKeyArn"],
    }


def test_the_function_role_reads_capture_and_baseline_writes_reports_and_puts_drift_metrics_only(
    monitoring: dict[str, Any], overridden: Synthesized
) -> None:
    function_id, function = the_one(monitoring, "AWS::Lambda::Function")
    statements = role_statements(monitoring, function["Role"]["Fn::GetAtt"][0])
    assert all(s["Effect"] == "Allow" for s in statements)
    actions = {action for s in statements for action in as_list(s["Action"])}
    assert actions == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "s3:GetObject",
        "s3:ListBucket",
        "s3:PutObject",
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "cloudwatch:PutMetricData",
        "sqs:SendMessage",
    }
    reads, writes, listed = s3_access(statements)
    assert reads == {
        "arn:<Ref>:s3:::<Fn::ImportValue>/datacapture/model-monitor-builtin/*",
        "arn:<Ref>:s3:::<Fn::ImportValue>/baseline/*",
        "arn:<Ref>:s3:::<Fn::ImportValue>/monitoring-reports/model-monitor-builtin/*",
    }
    assert writes == ["arn:<Ref>:s3:::<Fn::ImportValue>/monitoring-reports/model-monitor-builtin/*"]
    assert listed == [
        "baseline/",
        "baseline/*",
        "datacapture/model-monitor-builtin/",
        "datacapture/model-monitor-builtin/*",
        "monitoring-reports/model-monitor-builtin/",
        "monitoring-reports/model-monitor-builtin/*",
    ]
    (metrics,) = [s for s in statements if s["Action"] == "cloudwatch:PutMetricData"]
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "aws/sagemaker/Endpoints/data-metrics"}}
    # The namespace follows the setting, and so does the condition.
    other = overridden.template_json("Monitoring")
    _, other_function = the_one(other, "AWS::Lambda::Function")
    (other_metrics,) = [
        s
        for s in role_statements(other, other_function["Role"]["Fn::GetAtt"][0])
        if s["Action"] == "cloudwatch:PutMetricData"
    ]
    assert other_metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "ModelMonitorAsCode/DataMetrics"}}
    assert function_id


def test_the_function_runs_the_engine_image_with_the_runtime_s_settings(
    monitoring: dict[str, Any], overridden: Synthesized
) -> None:
    from lambdas.drift_analysis import config

    _, function = the_one(monitoring, "AWS::Lambda::Function")
    assert function["PackageType"] == "Image"
    assert function["ImageConfig"]["Command"] == ["lambdas.drift_analysis.handler.lambda_handler"]
    assert callable(importlib.import_module("lambdas.drift_analysis.handler").lambda_handler)
    assert (function["MemorySize"], function["Timeout"]) == (1769, 900)
    environment = function["Environment"]["Variables"]
    required = {
        config.ENV_ENDPOINT_NAME,
        config.ENV_MONITORING_SCHEDULE_NAME,
        config.ENV_CAPTURE_S3_URI,
        config.ENV_REPORTS_S3_URI,
        config.ENV_BASELINE_STATISTICS_URI,
        config.ENV_BASELINE_CONSTRAINTS_URI,
        config.ENV_DRIFT_METRICS_NAMESPACE,
        config.ENV_METRICS_NAMESPACE,
    }
    assert required <= set(environment)
    assert environment[config.ENV_DRIFT_METRICS_NAMESPACE] == "aws/sagemaker/Endpoints/data-metrics"
    assert environment[config.ENV_METRICS_NAMESPACE] == "ModelMonitorAsCode"
    assert joined_text(environment[config.ENV_CAPTURE_S3_URI]) == "s3://<Fn::ImportValue>/datacapture"
    assert joined_text(environment[config.ENV_REPORTS_S3_URI]) == "s3://<Fn::ImportValue>/monitoring-reports"
    # Retries land in the dead-letter queue, within the hour the run belongs to.
    _, invoke_config = the_one(monitoring, "AWS::Lambda::EventInvokeConfig")
    assert invoke_config["MaximumRetryAttempts"] == 2
    assert invoke_config["MaximumEventAgeInSeconds"] == 3600
    queue_id = invoke_config["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
    queue = monitoring["Resources"][queue_id]["Properties"]
    assert "KmsMasterKeyId" in queue
    _, other = the_one(overridden.template_json("Monitoring"), "AWS::Lambda::Function")
    assert (other["MemorySize"], other["Timeout"]) == (3008, 600)
    # The function reads the endpoint's output where the baseline was told it sits.
    assert environment[config.ENV_OUTPUT_COLUMNS_POSITION] == "START"
    assert other["Environment"]["Variables"][config.ENV_OUTPUT_COLUMNS_POSITION] == "END"
    # Each run analyzes the hours since the previous one: 1 hourly, 2 for cron(0 1/2 ? * * *).
    assert environment[config.ENV_ANALYSIS_WINDOW_HOURS] == "1"
    assert other["Environment"]["Variables"][config.ENV_ANALYSIS_WINDOW_HOURS] == "2"


def test_the_schedule_name_is_the_dimension_the_alarms_read_and_the_output_ops_reads(
    builtin: Synthesized, monitoring: dict[str, Any]
) -> None:
    from lambdas.drift_analysis import config

    _, schedule = the_one(monitoring, "AWS::Scheduler::Schedule")
    _, function = the_one(monitoring, "AWS::Lambda::Function")
    name = schedule["Name"]
    assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", name)
    assert function["Environment"]["Variables"][config.ENV_MONITORING_SCHEDULE_NAME] == name
    outputs = monitoring["Outputs"]
    assert outputs["MonitoringScheduleName"]["Value"] == name
    assert outputs["MonitoringEngine"]["Value"] == "builtin"
    assert outputs["DriftAnalysisFunctionName"]["Value"] == {"Ref": the_one(monitoring, "AWS::Lambda::Function")[0]}
    # ReportsS3Uri names the same folder as the function's REPORTS_S3_URI: the bucket of the baseline stack,
    # imported by the function, referenced by the output (an output may not re-export an import).
    assert joined_text(outputs["ReportsS3Uri"]["Value"]) == "s3://<Fn::GetStackOutput>/monitoring-reports"
    (reference,) = [part for part in outputs["ReportsS3Uri"]["Value"]["Fn::Join"][1] if isinstance(part, dict)]
    baseline = builtin.template_json("Baseline")
    (bucket_output,) = [
        output
        for output in baseline["Outputs"].values()
        if output.get("Export", {}).get("Name") == "model-monitor-builtin-monitoring-data-bucket"
    ]
    assert bucket_output["Value"]["Ref"] in reference["Fn::GetStackOutput"]["OutputName"]
    imported = function["Environment"]["Variables"][config.ENV_REPORTS_S3_URI]["Fn::Join"][1][1]
    assert imported == {"Fn::ImportValue": "model-monitor-builtin-monitoring-data-bucket"}
    for alarm in of_type(monitoring, "AWS::CloudWatch::Alarm").values():
        dimensions = {d["Name"]: d["Value"] for d in alarm["Properties"].get("Dimensions", [])}
        if "MonitoringSchedule" in dimensions:
            assert dimensions["MonitoringSchedule"] == name


def alarm_shapes(synthesized: Synthesized) -> dict[str, Any]:
    """Each alarm by logical id, with the two values that differ between stages written as placeholders: the
    schedule's name (a dimension value) and the stage's name (in the endpoint's name, stack names and tags)."""
    template = synthesized.template_json("Monitoring")
    alarms = {key: alarm["Properties"] for key, alarm in of_type(template, "AWS::CloudWatch::Alarm").items()}
    text = json.dumps(alarms).replace(template["Outputs"]["MonitoringScheduleName"]["Value"], "<schedule>")
    shapes: dict[str, Any] = json.loads(text.replace(synthesized.settings.stack_prefix, "<name>-<stage>"))
    for alarm in shapes.values():
        alarm["Tags"] = [tag for tag in alarm["Tags"] if tag["Key"] != "stage"]
    return shapes


def test_alarms_dashboard_and_retrain_trigger_are_the_same_on_both_engines(
    builtin: Synthesized, monitoring: dict[str, Any]
) -> None:
    model_monitor = synth_stage("default").template_json("Monitoring")
    builtin_alarms = alarm_shapes(builtin)
    model_monitor_alarms = alarm_shapes(synth_stage("default"))
    # The builtin engine adds one alarm: runs that failed for good, on the dead-letter queue's depth.
    (extra,) = set(builtin_alarms) - set(model_monitor_alarms)
    assert builtin_alarms.pop(extra)["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert builtin_alarms == model_monitor_alarms
    # The dashboard draws the same widgets from the same metrics (the schedule's name aside).
    _, dashboard = the_one(monitoring, "AWS::CloudWatch::Dashboard")
    _, mm_dashboard = the_one(model_monitor, "AWS::CloudWatch::Dashboard")
    body = json.dumps(dashboard["DashboardBody"])
    assert body.count("feature_baseline_drift_") == json.dumps(mm_dashboard["DashboardBody"]).count(
        "feature_baseline_drift_"
    )
    assert "ViolationPercentage" in body
    # One more row on the builtin engine: what each run reported about its input, under the run metrics' namespace
    # and dimensions (the schedule's name among them).
    from lambdas.drift_analysis import metric_names as run_metrics

    for name in (run_metrics.ANALYZED_RECORDS, run_metrics.MALFORMED_CAPTURE_RECORDS, run_metrics.NO_CAPTURED_DATA):
        assert name in body
        assert name not in json.dumps(mm_dashboard["DashboardBody"])
    assert f'\\"ModelMonitorAsCode\\",\\"{run_metrics.NO_CAPTURED_DATA}\\"' in body
    # The retrain trigger reacts to the same violation alarm.
    rules = [r["Properties"] for r in of_type(monitoring, "AWS::Events::Rule").values()]
    mm_rules = [r["Properties"] for r in of_type(model_monitor, "AWS::Events::Rule").values()]
    assert [r["EventPattern"]["detail-type"] for r in rules] == [
        r["EventPattern"]["detail-type"] for r in mm_rules if r["EventPattern"]["source"] == ["aws.cloudwatch"]
    ]


def test_the_engine_image_stages_only_the_engine_and_its_functions(builtin: Synthesized) -> None:
    manifests = [json.loads(path.read_text(encoding="utf-8")) for path in builtin.directory.glob("*.assets.json")]
    directories = {
        image["source"]["directory"]
        for manifest in manifests
        for image in manifest.get("dockerImages", {}).values()
        if image["source"].get("dockerFile") == "drift_engine/Dockerfile"
    }
    (directory,) = directories
    staged = {
        str(path.relative_to(builtin.directory / directory))
        for path in (builtin.directory / directory).rglob("*")
        if path.is_file()
    }
    assert "drift_engine/Dockerfile" in staged
    assert "lambdas/drift_analysis/handler.py" in staged
    assert "lambdas/violation_metric/violations.py" in staged
    assert {path.split("/")[0] for path in staged} <= {"drift_engine", "lambdas", "demo"}
    assert not [path for path in staged if "__pycache__" in path]
    # Of the Model Monitor baseline, only the three modules the engine baseline imports (no SageMaker SDK).
    assert {path for path in staged if path.startswith("lambdas/baseline/")} == {
        "lambdas/baseline/__init__.py",
        "lambdas/baseline/request.py",
        "lambdas/baseline/baseline_job.py",
    }
    # Every COPY of the Dockerfile finds its sources in the build context (docker build would fail otherwise).
    dockerfile = (builtin.directory / directory / "drift_engine/Dockerfile").read_text(encoding="utf-8")
    copies = re.findall(r"^COPY ((?:[^\n\\]|\\\n)+)", dockerfile, re.MULTILINE)
    assert copies
    for copy in copies:
        *sources, _ = copy.replace("\\\n", " ").split()
        for source in sources:
            assert fnmatch.filter(staged, source), f"COPY {source}: not in the engine image's build context"


# --- the builtin baseline -------------------------------------------------------------------------------------

ACCOUNT, REGION = "123456789012", "eu-west-1"


def deployed_value(template: dict[str, Any], value: Any) -> Any:
    """``value`` as CloudFormation would resolve it in a deploy to ``ACCOUNT``/``REGION``: enough to hand the
    synthesized ResourceProperties to the handler's own validation."""
    pseudo = {
        "AWS::AccountId": ACCOUNT,
        "AWS::Region": REGION,
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::Partition": "aws",
    }
    if isinstance(value, list):
        return [deployed_value(template, item) for item in value]
    if not isinstance(value, dict):
        return value
    if "Ref" in value:
        return pseudo.get(value["Ref"], value["Ref"].lower())
    if "Fn::Sub" in value:
        return re.sub(r"\$\{([^}]+)\}", lambda match: pseudo[match.group(1)], value["Fn::Sub"])
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(str(deployed_value(template, part)) for part in parts)
    if "Fn::GetAtt" in value:
        logical_id, attribute = value["Fn::GetAtt"]
        resource_type = template["Resources"][logical_id]["Type"]
        assert attribute == "Arn"
        if resource_type == "AWS::IAM::Role":
            return f"arn:aws:iam::{ACCOUNT}:role/{logical_id}"
        if resource_type == "AWS::KMS::Key":
            return f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{logical_id}"
    return {key: deployed_value(template, item) for key, item in value.items()}


def test_the_builtin_baseline_is_the_engine_s_custom_resource_with_the_same_properties(builtin: Synthesized) -> None:
    from lambdas.engine_baseline.request import DEFAULT_IN_FUNCTION_MAX_BYTES, parse_engine_properties

    template = builtin.template_json("Baseline")
    model_monitor = synth_stage("default").template_json("Baseline")
    engine_id, engine = the_one(template, "Custom::DriftEngineBaseline")
    reference_id, reference = the_one(model_monitor, "Custom::ModelMonitorBaseline")
    assert not of_type(template, "Custom::ModelMonitorBaseline")
    # A switch of engines replaces the resource: CloudFormation cannot change a resource's type in place.
    assert engine_id != reference_id
    assert set(engine) == set(reference) | {"ImageUri", "InFunctionMaxBytes"}
    assert engine["InFunctionMaxBytes"] == str(DEFAULT_IN_FUNCTION_MAX_BYTES)
    # What CloudFormation will send is what the handler accepts, the engine image among it.
    request = parse_engine_properties(
        {k: deployed_value(template, v) for k, v in engine.items() if k != "ServiceToken"}
    )
    assert request.image_uri.startswith(f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/cdk-")
    assert request.in_function_max_bytes == DEFAULT_IN_FUNCTION_MAX_BYTES
    # The Model Monitor analyzer is nowhere: no region mapping of its image, no pull of it.
    assert "sagemaker-model-monitor-analyzer" not in json.dumps(template)


def test_the_builtin_baseline_functions_run_the_engine_image(builtin: Synthesized) -> None:
    template = builtin.template_json("Baseline")
    functions = {
        tuple(f["Properties"]["ImageConfig"]["Command"]): f["Properties"]
        for f in of_type(template, "AWS::Lambda::Function").values()
        if "ImageConfig" in f["Properties"]
    }
    assert set(functions) == {
        ("lambdas.engine_baseline.handler.on_event",),
        ("lambdas.engine_baseline.handler.is_complete",),
    }
    handler = importlib.import_module("lambdas.engine_baseline.handler")
    assert callable(handler.on_event)
    assert callable(handler.is_complete)
    on_event = functions[("lambdas.engine_baseline.handler.on_event",)]
    # A small dataset is baselined inside on_event: Lambda's longest timeout.
    assert (on_event["Timeout"], on_event["MemorySize"]) == (900, 3008)
    images = {json.dumps(f["Code"]["ImageUri"]) for f in functions.values()}
    (image,) = images
    assert "container-assets" in image


def test_the_builtin_baseline_roles_read_the_dataset_write_the_baseline_and_pull_the_engine_image(
    builtin: Synthesized,
) -> None:
    template = builtin.template_json("Baseline")
    on_event_id = next(
        key
        for key, f in of_type(template, "AWS::Lambda::Function").items()
        if f["Properties"].get("ImageConfig", {}).get("Command") == ["lambdas.engine_baseline.handler.on_event"]
    )
    statements = role_statements(template, template["Resources"][on_event_id]["Properties"]["Role"]["Fn::GetAtt"][0])
    actions = {action for s in statements for action in as_list(s["Action"])}
    assert actions == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "sagemaker:CreateProcessingJob",
        "sagemaker:DescribeProcessingJob",
        "sagemaker:StopProcessingJob",
        "iam:PassRole",
        "s3:GetObject",
        "s3:ListBucket",
        "s3:PutObject",
        "kms:Decrypt",
        "kms:GenerateDataKey",
    }
    (write,) = [s for s in statements if s["Action"] == "s3:PutObject"]
    assert joined_text(write["Resource"]).endswith(":s3:::<Ref>/baseline/*")
    _, engine = the_one(template, "Custom::DriftEngineBaseline")
    processing_role_id = engine["RoleArn"]["Fn::GetAtt"][0]
    pulls = [s for s in role_statements(template, processing_role_id) if s.get("Sid") == "PullImage"]
    (pull,) = pulls
    assert "container-assets" in json.dumps(pull["Resource"])


def test_a_new_baseline_changes_the_function_so_the_deploy_reads_the_new_uris(
    builtin: Synthesized, monitoring: dict[str, Any]
) -> None:
    """The baseline's URIs reach the function as weak references (Fn::GetStackOutput), re-read only when this
    template changes: the baseline's fingerprint in the environment changes it whenever the baseline stack starts
    a new job (the fingerprint's own tests are in tests/cdk_constructs/test_suggested_baseline.py)."""
    _, function = the_one(monitoring, "AWS::Lambda::Function")
    fingerprint = function["Environment"]["Variables"]["BASELINE_FINGERPRINT"]
    # SuggestedBaseline.fingerprint: a digest of the baseline resource's job-defining properties as synthesized.
    _, baseline = the_one(builtin.template_json("Baseline"), "Custom::DriftEngineBaseline")
    assert fingerprint == _fingerprint({name: baseline[name] for name in JOB_DEFINING_PROPERTIES})
    assert re.fullmatch(r"[0-9a-f]{16}", fingerprint)
