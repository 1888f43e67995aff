"""Which stacks a stage has, and the names and ARNs they output.

The commands never take an endpoint name or a schedule name on the command line: they read them from the
CloudFormation outputs of the stage's stacks, so they cannot point at the wrong thing, and physical names
that CloudFormation generates need not be looked up by hand. The stage's settings come from ``cdk.json``
exactly as ``app.py`` reads them (``settings.load_settings``), which gives the stack names
``<name>-<stage>-endpoint``, ``-baseline`` and ``-monitoring``.

A stack or output that is not there yet is the usual first-day mistake, so it is one clear line (exit code 2)
that says how to fix it, not a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from botocore.exceptions import ClientError

from settings import DEFAULT_STAGE, Settings, SettingsError, load_settings

from .aws import CloudFormationClient
from .errors import OpsError

__all__ = [
    "CDK_JSON",
    "StackKind",
    "StageOutputs",
    "deploy_hint",
    "load_stage_settings",
    "read_stack_outputs",
    "stack_name",
]

#: The repository's cdk.json: where the stages are defined.
CDK_JSON = Path(__file__).resolve().parents[1] / "cdk.json"

StackKind = Literal["endpoint", "baseline", "monitoring", "shared"]

# The outputs each stack declares (stacks/*_stack.py), by stack.
ENDPOINT_NAME = "EndpointName"
CAPTURE_S3_URI = "CaptureS3Uri"
CAPTURE_BUCKET_NAME = "CaptureBucketName"
BASELINE_STATISTICS_URI = "BaselineStatisticsUri"
BASELINE_CONSTRAINTS_URI = "BaselineConstraintsUri"
MONITORING_DATA_BUCKET_NAME = "MonitoringDataBucketName"
MONITORING_SCHEDULE_NAME = "MonitoringScheduleName"
ALERTS_TOPIC_ARN = "AlertsTopicArn"
DASHBOARD_NAME = "DashboardName"
VIOLATION_ALARM_NAME = "ViolationAlarmName"
#: Monitoring stack, both engines: ``model-monitor`` or ``builtin`` (absent on stacks older than the setting).
MONITORING_ENGINE = "MonitoringEngine"
#: Monitoring stack, builtin engine: the hourly analysis function and where its reports go.
DRIFT_ANALYSIS_FUNCTION_NAME = "DriftAnalysisFunctionName"
REPORTS_S3_URI = "ReportsS3Uri"
#: The engines ``MonitoringEngine`` names.
ENGINE_MODEL_MONITOR = "model-monitor"
ENGINE_BUILTIN = "builtin"


def load_stage_settings(stage: str | None, *, cdk_json: Path = CDK_JSON) -> Settings:
    """The settings of ``stage`` (``None``: the stage cdk.json names as default), as ``app.py`` builds them.

    Raises:
        OpsError: cdk.json is missing or unreadable, or the stage or one of its settings is invalid.
    """
    try:
        context = json.loads(cdk_json.read_text(encoding="utf-8")).get("context", {})
    except (OSError, ValueError) as error:
        raise OpsError(f"cannot read the stages from {cdk_json}: {error}") from error
    if not isinstance(context, Mapping):
        raise OpsError(f"{cdk_json}: 'context' is not an object")
    try:
        return load_settings(stage=stage or context.get("stage") or DEFAULT_STAGE, stages=context.get("stages"))
    except SettingsError as error:
        raise OpsError(str(error)) from error


def stack_name(settings: Settings, kind: StackKind) -> str:
    """The CloudFormation stack name, as ``stacks.build_stacks`` gives it."""
    return f"{settings.stack_prefix}-{kind}"


def deploy_hint(settings: Settings) -> str:
    """The command that deploys the stage's stacks."""
    stage = "" if settings.stage == DEFAULT_STAGE else f" -c stage={settings.stage}"
    return f"deploy it first with npx cdk deploy --all{stage}"


def read_stack_outputs(cloudformation: CloudFormationClient, name: str) -> tuple[dict[str, str], str | None]:
    """A stack's outputs (``OutputKey`` → ``OutputValue``) and its status; ``({}, None)`` when there is no stack.

    Other errors (expired credentials, access denied) propagate.
    """
    try:
        stacks = cloudformation.describe_stacks(StackName=name).get("Stacks", [])
    except ClientError as error:
        message = str(error.response.get("Error", {}).get("Message", ""))
        if "does not exist" in message:
            return {}, None
        raise
    if not stacks:
        return {}, None
    stack: Mapping[str, Any] = stacks[0]
    outputs = {
        str(output["OutputKey"]): str(output.get("OutputValue", ""))
        for output in stack.get("Outputs", [])
        if "OutputKey" in output
    }
    status = stack.get("StackStatus")
    return outputs, str(status) if status else None


@dataclass
class StageOutputs:
    """The outputs of a stage's stacks, each stack read once, on first use.

    Only the stacks a command needs are read: ``traffic`` works as soon as the endpoint stack is deployed.
    """

    cloudformation: CloudFormationClient
    settings: Settings
    #: The stage's settings when ``settings`` are one entry's of its ``endpoints`` (for the deploy hint).
    stage_settings: Settings | None = None
    _cache: dict[str, tuple[dict[str, str], str | None]] = field(default_factory=dict, repr=False)

    def engine(self) -> str:
        """The monitoring engine the stage runs (output ``MonitoringEngine``; older stacks: Model Monitor)."""
        return self.get("monitoring", MONITORING_ENGINE, default=ENGINE_MODEL_MONITOR)

    def get(self, kind: StackKind, key: str, *, default: str | None = None) -> str:
        """The value of output ``key`` of the stage's ``kind`` stack (``default`` when the stack lacks it).

        Raises:
            OpsError: The stack does not exist, or it has no such output (not deployed yet, failed, or an
                older version of the stack).
        """
        name = stack_name(self.settings, kind)
        if name not in self._cache:
            self._cache[name] = read_stack_outputs(self.cloudformation, name)
        outputs, status = self._cache[name]
        hint = deploy_hint(self.stage_settings or self.settings)
        if status is None:
            raise OpsError(f"stack {name} does not exist: {hint}")
        value = outputs.get(key)
        if not value:
            if default is not None:
                return default
            shown = "" if status.endswith("_COMPLETE") and "ROLLBACK" not in status else f" (status {status})"
            raise OpsError(f"stack {name}{shown} has no output {key}: {hint}")
        return value
