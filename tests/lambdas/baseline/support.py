"""Events, properties and a call recorder shared by the baseline custom resource tests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

ACCOUNT = "123456789012"  # moto's default account
STACK_ID = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/monitoring/8b8a8f50-0000-11ef-9c4f-0a1b2c3d4e5f"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/baseline-processing"
KMS_KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
BUCKET = "monitoring-data-bucket"
DATASET_URI = f"s3://{BUCKET}/training/train-with-header.csv"
OUTPUT_URI = f"s3://{BUCKET}/baselining/results"


def properties(**overrides: str) -> dict[str, str]:
    """ResourceProperties as CloudFormation sends them: every value a string."""
    props = {
        "ServiceToken": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:provider-framework-onEvent",
        "DatasetUri": DATASET_URI,
        "OutputUri": OUTPUT_URI,
        "RoleArn": ROLE_ARN,
        "JobNamePrefix": "mm-baseline",
    }
    props.update(overrides)
    return props


def cfn_event(
    request_type: str,
    props: dict[str, str] | None = None,
    *,
    request_id: str = "c6a3f2e4-create",
    physical_id: str | None = None,
    old_props: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An event as the Provider framework hands it to on_event (ResponseURL already masked)."""
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provider-framework-onEvent",
        "ResponseURL": "...",
        "StackId": STACK_ID,
        "RequestId": request_id,
        "LogicalResourceId": "Baseline1A2B3C4D",
        "ResourceType": "Custom::ModelMonitorBaseline",
        "ResourceProperties": props if props is not None else properties(),
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    if old_props is not None:
        event["OldResourceProperties"] = old_props
    return event


@dataclass
class FakeContext:
    """The LambdaContext attributes Powertools' inject_lambda_context reads."""

    function_name: str = "baseline-on-event"
    function_version: str = "$LATEST"
    invoked_function_arn: str = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:baseline-on-event"
    memory_limit_in_mb: int = 512
    aws_request_id: str = "5d1f7a0e-lambda"
    log_group_name: str = "/aws/lambda/baseline-on-event"
    log_stream_name: str = "2026/01/01/[$LATEST]0"


@dataclass
class ApiCalls:
    """Every AWS request the code under test sent, with its JSON body as it went on the wire."""

    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def record(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        body = params.get("body") or b"{}"
        try:
            parsed = json.loads(body)
        except (TypeError, ValueError):
            parsed = {"raw": body}
        self.calls.append((model.service_model.service_name, model.name, parsed))

    @property
    def names(self) -> list[str]:
        return [f"{service}:{operation}" for service, operation, _ in self.calls]

    def body(self, operation: str) -> dict[str, Any]:
        matches = [body for _, name, body in self.calls if name == operation]
        assert len(matches) == 1, f"expected one {operation}, got {self.names}"
        return matches[0]
