"""Stage settings, stack names and outputs from moto's CloudFormation, and the one-line errors."""

from typing import Any

import pytest

from ops import stack_outputs as so
from ops.__main__ import main
from ops.errors import OpsError

from .conftest import ENDPOINT_NAME, REGION, Stage, aws_client, client_factory


class CountingCloudFormation:
    """Counts DescribeStacks calls, to check that each stack is read once."""

    def __init__(self) -> None:
        self.client = aws_client("cloudformation")
        self.calls: list[str] = []

    def describe_stacks(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs["StackName"])
        result: dict[str, Any] = self.client.describe_stacks(**kwargs)
        return result


def test_stack_names_follow_the_settings() -> None:
    settings = so.load_stage_settings("prod")

    assert so.stack_name(settings, "endpoint") == "model-monitor-prod-endpoint"
    assert so.stack_name(settings, "monitoring") == "model-monitor-prod-monitoring"
    assert so.deploy_hint(settings) == "deploy it first with npx cdk deploy --all -c stage=prod"


def test_the_default_stage_comes_from_cdk_json() -> None:
    assert so.load_stage_settings(None).stage == "default"


def test_an_unknown_stage_is_one_clear_error() -> None:
    with pytest.raises(OpsError, match="unknown stage 'nope'; known stages: builtin, default, dev, fleet, prod"):
        so.load_stage_settings("nope")


def test_outputs_are_read_once_per_stack(stage: Stage) -> None:
    cloudformation = CountingCloudFormation()
    outputs = so.StageOutputs(cloudformation, stage.settings)

    assert outputs.get("endpoint", so.ENDPOINT_NAME) == ENDPOINT_NAME
    assert outputs.get("endpoint", so.CAPTURE_BUCKET_NAME) == "model-monitor-default-capture"
    assert outputs.get("monitoring", so.ALERTS_TOPIC_ARN).startswith("arn:aws:sns:us-east-1:")

    assert cloudformation.calls == ["model-monitor-default-endpoint", "model-monitor-default-monitoring"]


def test_a_missing_stack_says_how_to_deploy_it(aws: None) -> None:
    outputs = so.StageOutputs(aws_client("cloudformation"), so.load_stage_settings(None))

    with pytest.raises(OpsError) as error:
        outputs.get("endpoint", so.ENDPOINT_NAME)

    assert str(error.value) == (
        "stack model-monitor-default-endpoint does not exist: deploy it first with npx cdk deploy --all"
    )
    assert error.value.exit_code == 2


def test_a_missing_output_names_stack_and_output(stage: Stage) -> None:
    outputs = so.StageOutputs(aws_client("cloudformation"), stage.settings)

    with pytest.raises(OpsError) as error:
        outputs.get("baseline", "NoSuchOutput")

    assert str(error.value) == (
        "stack model-monitor-default-baseline has no output NoSuchOutput: deploy it first with npx cdk deploy --all"
    )


@pytest.mark.parametrize("command", [["traffic"], ["run-now"], ["status"], ["report"]])
def test_the_cli_prints_one_line_and_exits_2_when_nothing_is_deployed(
    aws: None, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([*command, "--region", REGION], client_factory=client_factory())

    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("error: stack model-monitor-default-")
    assert "deploy it first with npx cdk deploy --all" in captured.err
    assert "Traceback" not in captured.err
