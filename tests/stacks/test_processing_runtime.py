"""``builtin_runtime: processing``: its settings, and the ``spark`` stage's function, job role, image and rule."""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Any

import botocore.session
import pytest
from aws_cdk import Stack

from cdk_constructs.engine_image import SparkEngineImage
from settings import PROCESSING_INSTANCE_TYPES_PATH, SettingsError, processing_instance_types
from tests.stacks.test_builtin_engine import (
    ACCOUNT,
    REGION,
    as_list,
    deployed_value,
    joined_text,
    of_type,
    role_statements,
    s3_access,
    settings_with,
    the_one,
)
from tests.synth import Synthesized, construct_app, synth_stage

PROCESSING = {"monitoring_engine": "builtin", "builtin_runtime": "processing", "region": "us-east-1"}

# --- settings ------------------------------------------------------------------------------------------------


def test_a_processing_stage_uses_the_monitoring_instance_settings() -> None:
    settings = settings_with(**PROCESSING, monitoring_instance_count="4", monitoring_instance_type="ml.r5.2xlarge")
    assert (settings.builtin_runtime, settings.monitoring_instance_count) == ("processing", 4)
    assert settings.monitoring_instance_type == "ml.r5.2xlarge"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"monitoring_engine": "model-monitor"},
            'setting builtin_runtime: got "processing"; it chooses where the builtin engine runs: set '
            "monitoring_engine 'builtin' too (got \"model-monitor\")",
        ),
        (
            {"region": None},
            'setting region: missing; builtin_runtime "processing" builds its image from SageMaker\'s Spark image '
            "of the stack's region, which must be known at synth: set region (e.g. us-east-1)",
        ),
        (
            {"monitoring_instance_type": "ml.m5.tiny"},
            'setting monitoring_instance_type: got "ml.m5.tiny"; expected an instance type SageMaker Processing '
            "accepts (botocore's ProcessingInstanceType), such as ml.m5.xlarge",
        ),
        (
            {"enable_network_isolation": "true"},
            'setting enable_network_isolation: got true; builtin_runtime "processing" reads the capture from S3 '
            "inside the job (Spark), which network isolation forbids: set it to false",
        ),
        ({"monitoring_instance_count": "0"}, "setting monitoring_instance_count: got 0; expected an integer from 1"),
        ({"monitoring_instance_count": "101"}, "setting monitoring_instance_count: got 101; expected an integer"),
        (
            {"schedule_expression": "cron(0 0/2 ? * * *)", "monitoring_max_runtime_seconds": "7201"},
            "setting monitoring_max_runtime_seconds: got 7201; expected at most 7200",
        ),
    ],
)
def test_a_processing_stage_that_cannot_run_stops_synth_in_one_line(overrides: dict[str, Any], message: str) -> None:
    values = {key: value for key, value in {**PROCESSING, **overrides}.items() if value is not None}
    with pytest.raises(SettingsError) as error:
        settings_with(**values)
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_the_instance_types_are_botocore_s() -> None:
    """Regenerate from the installed botocore when this fails (the file says how it was made)."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    expected = set(model.shape_for("ProcessingInstanceType").enum)
    assert processing_instance_types() == expected, f"regenerate {PROCESSING_INSTANCE_TYPES_PATH.name}"
    assert {"ml.m5.xlarge", "ml.r5.2xlarge"} <= expected


def test_the_spark_image_needs_a_stack_with_a_region() -> None:
    with pytest.raises(ValueError, match="needs a stack with a concrete region"):
        SparkEngineImage(Stack(construct_app(), "Agnostic"), "Image")


# --- the spark stage's templates ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spark() -> Synthesized:
    return synth_stage("spark")


@pytest.fixture(scope="module")
def monitoring(spark: Synthesized) -> dict[str, Any]:
    return spark.template_json("Monitoring")


def resolved(template: dict[str, Any], value: Any) -> Any:
    """``deployed_value``, with the baseline stack's outputs (``Fn::GetStackOutput``) given fake values."""
    if isinstance(value, dict) and "Fn::GetStackOutput" in value:
        return f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{value['Fn::GetStackOutput']['OutputName'][-8:].lower()}"
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(str(resolved(template, part)) for part in parts)
    return deployed_value(template, value)


def job_settings(monitoring: dict[str, Any]) -> Any:
    from lambdas.drift_analysis import config

    _, function = the_one(monitoring, "AWS::Lambda::Function")
    raw = function["Environment"]["Variables"][config.ENV_PROCESSING_JOB]
    return config.ProcessingJobSettings.from_json(resolved(monitoring, raw))


def test_the_function_gets_the_job_settings_its_own_parser_accepts(monitoring: dict[str, Any]) -> None:
    from lambdas.drift_analysis.config import JOB_NAME_PREFIX_MAX

    processing = job_settings(monitoring)
    assert (processing.instance_type, processing.instance_count) == ("ml.m5.xlarge", 2)
    assert (processing.volume_size_gb, processing.max_runtime_seconds) == (20, 3600)
    assert processing.network == {"EnableInterContainerTrafficEncryption": True, "EnableNetworkIsolation": False}
    assets = rf"{ACCOUNT}\.dkr\.ecr\.us-east-1\.amazonaws\.com/cdk-[a-z0-9]+-container-assets-.+:[0-9a-f]{{64}}"
    assert re.fullmatch(assets, processing.image_uri)
    assert processing.role_arn.startswith(f"arn:aws:iam::{ACCOUNT}:role/DriftAnalysisJobRole")
    assert processing.kms_key_arn.startswith(f"arn:aws:kms:{REGION}:{ACCOUNT}:key/")
    assert len(processing.job_name_prefix) <= JOB_NAME_PREFIX_MAX
    # The stage's name is in the prefix: two stages in one account never share job names.
    assert "spark" in processing.job_name_prefix


def test_a_job_name_fits_botocore_s_processing_job_name(monitoring: dict[str, Any]) -> None:
    from datetime import UTC, datetime

    from drift_engine.s3 import S3Location
    from lambdas.drift_analysis.hourly import RunRequest
    from lambdas.drift_analysis.processing import job_name

    shape = botocore.session.get_session().get_service_model("sagemaker").shape_for("ProcessingJobName")
    hour = datetime(2024, 12, 31, 23, tzinfo=UTC)
    name = job_name(
        job_settings(monitoring),
        S3Location.parse("s3://bucket/reports/endpoint/schedule/2024/12/31/23"),
        RunRequest(start=hour, end=hour, scheduled_time=hour),
    )
    assert len(name) <= shape.metadata["max"]
    assert re.fullmatch(shape.metadata["pattern"], name)


def test_the_function_may_start_and_describe_only_its_jobs_and_pass_only_their_role(
    monitoring: dict[str, Any],
) -> None:
    _, function = the_one(monitoring, "AWS::Lambda::Function")
    statements = role_statements(monitoring, function["Role"]["Fn::GetAtt"][0])
    prefix = job_settings(monitoring).job_name_prefix
    (jobs,) = [s for s in statements if "sagemaker:CreateProcessingJob" in as_list(s["Action"])]
    assert sorted(as_list(jobs["Action"])) == ["sagemaker:CreateProcessingJob", "sagemaker:DescribeProcessingJob"]
    assert [joined_text(r) for r in as_list(jobs["Resource"])] == [
        f"arn:aws:sagemaker:us-east-1:<Ref>:processing-job/{prefix}-*"
    ]
    (pass_role,) = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert pass_role["Resource"] == {"Fn::GetAtt": [job_role_id(monitoring), "Arn"]}
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    actions = {action for s in statements for action in as_list(s["Action"])}
    assert not [action for action in actions if "*" in action]
    assert actions >= {"s3:GetObject", "s3:PutObject", "cloudwatch:PutMetricData"}  # as the function runtime's


def job_role_id(monitoring: dict[str, Any]) -> str:
    """The analysis jobs' role (the retrain pipeline's training role is SageMaker's too)."""
    (found,) = [key for key in of_type(monitoring, "AWS::IAM::Role") if key.startswith("DriftAnalysisJobRole")]
    principal = monitoring["Resources"][found]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
    assert principal == {"Service": "sagemaker.amazonaws.com"}
    return found


def test_the_job_role_reads_capture_and_baseline_and_writes_only_the_reports(monitoring: dict[str, Any]) -> None:
    statements = role_statements(monitoring, job_role_id(monitoring))
    actions = {action for s in statements for action in as_list(s["Action"])}
    assert actions == {
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:GetAuthorizationToken",
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:GenerateDataKey",
        "kms:DescribeKey",
        "kms:CreateGrant",
        "s3:GetObject",
        "s3:ListBucket",
        "s3:PutObject",
    }  # no CloudWatch: the function publishes
    reads, writes, listed = s3_access(statements)
    assert reads == {
        "arn:<Ref>:s3:::<Fn::ImportValue>/datacapture/model-monitor-spark/*",
        "arn:<Ref>:s3:::<Fn::ImportValue>/baseline/*",
    }
    assert writes == ["arn:<Ref>:s3:::<Fn::ImportValue>/monitoring-reports/model-monitor-spark/*"]
    assert listed == [
        "baseline/",
        "baseline/*",
        "datacapture/model-monitor-spark/",
        "datacapture/model-monitor-spark/*",
    ]


def test_the_end_of_each_job_calls_the_function_back(monitoring: dict[str, Any]) -> None:
    function_id, _ = the_one(monitoring, "AWS::Lambda::Function")
    prefix = job_settings(monitoring).job_name_prefix
    (rule,) = [
        r["Properties"] for r in of_type(monitoring, "AWS::Events::Rule").values()
        if r["Properties"]["EventPattern"]["source"] == ["aws.sagemaker"]
    ]  # fmt: skip
    assert rule["EventPattern"] == {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Processing Job State Change"],
        "detail": {
            "ProcessingJobName": [{"prefix": f"{prefix}-"}],
            "ProcessingJobStatus": ["Completed", "Failed", "Stopped"],
        },
    }
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 7200, "MaximumRetryAttempts": 4}
    queue = monitoring["Resources"][target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]]["Properties"]
    assert "KmsMasterKeyId" in queue
    permissions = [
        p["Properties"] for p in of_type(monitoring, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "events.amazonaws.com"
    ]  # fmt: skip
    assert [p["FunctionName"] for p in permissions] == [{"Fn::GetAtt": [function_id, "Arn"]}]


def test_the_spark_image_is_built_from_the_region_s_spark_image_with_only_the_engine(spark: Synthesized) -> None:
    manifest = json.loads((spark.directory / "Monitoring.assets.json").read_text(encoding="utf-8"))
    (image,) = [i["source"] for i in manifest["dockerImages"].values() if i["source"]["dockerFile"].endswith(".spark")]
    assert image["dockerBuildArgs"] == {
        "BASE_IMAGE": "173754725891.dkr.ecr.us-east-1.amazonaws.com/sagemaker-spark-processing:3.5-cpu-py312"
    }
    assert image["platform"] == "linux/amd64"
    folder = spark.directory / image["directory"]
    staged = {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()}
    assert "scripts/spark_drift_engine.py" in staged
    assert "drift_engine/spark.py" in staged
    assert {path.split("/")[0] for path in staged} == {"drift_engine", "scripts"}
    assert not [path for path in staged if path.startswith("scripts/") and path != "scripts/spark_drift_engine.py"]
    dockerfile = (folder / image["dockerFile"]).read_text(encoding="utf-8")
    copies = re.findall(r"^COPY ((?:[^\n\\]|\\\n)+)", dockerfile, re.MULTILINE)
    assert copies
    for copy in copies:
        *sources, _ = copy.replace("\\\n", " ").split()
        for source in sources:
            assert fnmatch.filter(staged, source), f"COPY {source}: not in the Spark image's build context"
    # The job's entry point and the interpreter its Spark workers run are the ones the image provides.
    from lambdas.drift_analysis.processing import SPARK_APPLICATION

    assert f"COPY scripts/spark_drift_engine.py {SPARK_APPLICATION}" in dockerfile
    assert "ENV PYSPARK_PYTHON=/opt/drift-engine/venv/bin/python" in dockerfile


def test_failed_runs_also_counts_job_events_the_function_did_not_take(monitoring: dict[str, Any]) -> None:
    """A job-ended event that never reaches the function leaves its run unpublished: it alarms like a failed run."""
    (alarm,) = [
        a["Properties"] for key, a in of_type(monitoring, "AWS::CloudWatch::Alarm").items() if "FailedRuns" in key
    ]
    expression, *queues = alarm["Metrics"]
    assert expression["Expression"] == "runs + jobEvents"
    queue_ids = {q["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]: q["Id"] for q in queues}
    rule = next(
        r["Properties"] for r in of_type(monitoring, "AWS::Events::Rule").values()
        if r["Properties"]["EventPattern"]["source"] == ["aws.sagemaker"]
    )  # fmt: skip
    (target,) = rule["Targets"]
    _, invoke_config = the_one(monitoring, "AWS::Lambda::EventInvokeConfig")
    assert queue_ids == {
        target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]: "jobEvents",
        invoke_config["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]: "runs",
    }
