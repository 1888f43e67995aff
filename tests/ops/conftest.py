"""Shared fixtures: fake credentials, moto, the stage's three stacks with their outputs, the fixture files.

The stacks are created in moto's CloudFormation from a minimal template (a dummy SNS topic, which also gives
a real topic ARN for the alarms, and literal outputs), named as ``stacks.build_stacks`` names them for the
default stage of the repository's cdk.json.
"""

import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from ops.stack_outputs import load_stage_settings
from settings import Settings

REGION = "us-east-1"
ACCOUNT = "123456789012"

FIXTURES_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "model-monitor"
if not (FIXTURES_DIR / "SOURCES.md").is_file():  # fail the collection loudly, never skip silently
    raise FileNotFoundError(
        f"Model Monitor fixtures not found at {FIXTURES_DIR}: the tests expect the shared fixtures folder next "
        "to the repository (../shared/fixtures/model-monitor)"
    )

SCOTTREIDUX_ASSETS = "ScottReidux__aai-540/assets"
SDK_DATA_QUALITY = "aws__sagemaker-python-sdk/tests/data/pipeline/quality_check_step/data_quality"
SDK_PIPELINE_STATISTICS = f"{SDK_DATA_QUALITY}/statistics.json"
SDK_GOOD_CONSTRAINTS = f"{SDK_DATA_QUALITY}/good_cases/constraints.json"
SDK_MONITOR = "aws__sagemaker-python-sdk/tests/data/monitor"
SDK_OLD_WORDING_VIOLATIONS = f"{SDK_MONITOR}/constraint_violations.json"
NLP_CUSTOM_CONTAINER_VIOLATIONS = (
    "aws__amazon-sagemaker-examples/sagemaker_model_monitor/data_quality/nlp/constraints_violations.json"
)


def fixture_path(relative: str) -> Path:
    """Absolute path of a shared fixture file; raises when it is missing (never a silent skip)."""
    path = FIXTURES_DIR / relative
    if not path.exists():
        raise FileNotFoundError(f"fixture missing: {path}")
    return path


@dataclass(frozen=True)
class Stage:
    """What the moto stacks output, for the assertions."""

    settings: Settings
    endpoint_name: str
    schedule_name: str
    topic_arn: str
    violation_alarm_name: str
    statistics_uri: str
    constraints_uri: str
    bucket: str


ENDPOINT_NAME = "model-monitor-default-endpoint-ab12cd"
SCHEDULE_NAME = "DataQualitySchedule-8f3KxYq2LmNo"
VIOLATION_ALARM = "model-monitor-default-violation-percentage"
BUCKET = "model-monitor-default-data"
STATISTICS_URI = f"s3://{BUCKET}/baseline/results/statistics.json"
CONSTRAINTS_URI = f"s3://{BUCKET}/baseline/results/constraints.json"


@functools.cache
def aws_client(service: str) -> Any:
    """The tests' client of ``service``: one for the run, from one boto3 session.

    botocore builds every client anew (its class, with a method per operation: hundreds for SageMaker), and these
    tests asked for over a hundred. moto intercepts every client's calls while a mock is active, whichever test made
    the client, and each test's mock starts from empty state; a test that hooks into a client's events takes its
    hook off again, and a Stubber comes off with its ``with`` block. The credentials are the fake ones set by the
    ``aws`` fixture, which every test using a client has.
    """
    return _session().client(service, region_name=REGION)


@functools.cache
def _session() -> boto3.session.Session:
    return boto3.session.Session(region_name=REGION)


@pytest.fixture
def sagemaker(aws: None) -> Iterator[tuple[Any, Stubber]]:
    """A SageMaker client with botocore's Stubber on it: moto 5.2.5 has no monitoring-schedule or
    monitoring-execution APIs."""
    client = aws_client("sagemaker")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials and region (never a real profile), and moto for every client made meanwhile."""
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield


def _template(outputs: dict[str, Any]) -> str:
    return json.dumps(
        {
            "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {key: {"Value": value} for key, value in outputs.items()},
        }
    )


@pytest.fixture
def stage(aws: None) -> Stage:
    """The default stage's three stacks in moto, with every output the commands read."""
    settings = load_stage_settings(None)
    cloudformation = aws_client("cloudformation")
    prefix = settings.stack_prefix
    cloudformation.create_stack(
        StackName=f"{prefix}-endpoint",
        TemplateBody=_template(
            {
                "EndpointName": ENDPOINT_NAME,
                "CaptureS3Uri": f"s3://{prefix}-capture/datacapture",
                "CaptureBucketName": f"{prefix}-capture",
            }
        ),
    )
    cloudformation.create_stack(
        StackName=f"{prefix}-baseline",
        TemplateBody=_template(
            {
                "BaselineStatisticsUri": STATISTICS_URI,
                "BaselineConstraintsUri": CONSTRAINTS_URI,
                "MonitoringDataBucketName": BUCKET,
            }
        ),
    )
    cloudformation.create_stack(
        StackName=f"{prefix}-monitoring",
        TemplateBody=_template(
            {
                "MonitoringScheduleName": SCHEDULE_NAME,
                "AlertsTopicArn": {"Ref": "Topic"},
                "DashboardName": f"{prefix}-dashboard",
                "ViolationAlarmName": VIOLATION_ALARM,
            }
        ),
    )
    outputs = cloudformation.describe_stacks(StackName=f"{prefix}-monitoring")["Stacks"][0]["Outputs"]
    topic_arn = next(o["OutputValue"] for o in outputs if o["OutputKey"] == "AlertsTopicArn")
    return Stage(
        settings=settings,
        endpoint_name=ENDPOINT_NAME,
        schedule_name=SCHEDULE_NAME,
        topic_arn=topic_arn,
        violation_alarm_name=VIOLATION_ALARM,
        statistics_uri=STATISTICS_URI,
        constraints_uri=CONSTRAINTS_URI,
        bucket=BUCKET,
    )


def client_factory(overrides: dict[str, Any] | None = None) -> Callable[[str], Any]:
    """Clients for ``ops.__main__.main``: moto's, except the services given (e.g. a stubbed ``sagemaker``)."""
    given = overrides or {}

    def make(service: str) -> Any:
        if service in given:
            return given[service]
        return aws_client(service)

    return make
