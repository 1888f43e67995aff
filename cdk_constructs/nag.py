"""Acknowledging cdk-nag findings: one place that states how, so every acknowledgement carries its reason.

cdk-nag 3 reports through CDK's policy-validation plugins, and an acknowledgement is scoped to one
construct (and its children) and one finding (``AwsSolutions-IAM5[Resource::*]``), never a whole rule.
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
from aws_cdk import aws_lambda as lambda_
from constructs import IConstruct


def acknowledge(construct: IConstruct, reason: str, *finding_ids: str) -> None:
    """Acknowledge each of ``finding_ids`` on ``construct`` for ``reason``."""
    for finding_id in finding_ids:
        Validations.of(construct).acknowledge(Acknowledgment(id=finding_id, reason=reason))


def wildcard_resource_finding(scope: IConstruct, arn: str) -> str:
    """The id of cdk-nag's IAM5 finding on ``arn``, as cdk-nag spells it for ``scope``'s stack.

    cdk-nag names a resource by its resolved form (``<LogicalId.Arn>``, ``<AWS::Region>``, or the literal
    region of a stack that has one), so the id is computed from the same ARN the grant uses instead of
    copying generated logical ids into the code.
    """
    return f"AwsSolutions-IAM5[Resource::{_as_nag_text(Stack.of(scope).resolve(arn))}]"


def _as_nag_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        logical_id, attribute = value["Fn::GetAtt"]
        return f"<{logical_id}.{attribute}>"
    if isinstance(value, dict) and "Fn::ImportValue" in value:
        return str(value["Fn::ImportValue"])
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_as_nag_text(part) for part in parts)
    # Any other intrinsic (Fn::GetStackOutput of a cross-stack reference, ...) appears as compact JSON.
    return json.dumps(value, separators=(",", ":"))


#: Why no function of this app reserves concurrency. Checkov (CKV_AWS_115) and cfn_nag (W92) ask for it; cdk-nag's
#: AwsSolutions pack has no such rule.
UNRESERVED_CONCURRENCY_REASON = (
    "No reserved concurrency on purpose: a reservation is taken from the account's unreserved pool, which Lambda "
    "keeps at 100 or more (an account whose limit is 10 cannot reserve any), so it can fail the deploy in a small "
    "account; this function runs a few times per deploy or per monitoring execution."
)


def acknowledge_unreserved_concurrency(function: lambda_.IFunction) -> None:
    """Tell the template scanners that read ``Metadata`` (checkov, cfn_nag) why ``function`` reserves no
    concurrency, on its ``AWS::Lambda::Function``."""
    resource = function.node.default_child
    assert isinstance(resource, CfnResource), f"{function.node.path} has no CloudFormation resource"
    add_scanner_skips(resource, UNRESERVED_CONCURRENCY_REASON, checkov="CKV_AWS_115", cfn_nag="W92")


def add_scanner_skips(resource: CfnResource, reason: str, *, checkov: str, cfn_nag: str) -> None:
    """Skip one checkov check and one cfn_nag rule on ``resource`` for ``reason``, in the ``Metadata`` keys those
    scanners read, next to what is already there."""
    skips = resource.get_metadata("checkov") or {}
    skips.setdefault("skip", []).append({"id": checkov, "comment": reason})
    resource.add_metadata("checkov", skips)
    rules = resource.get_metadata("cfn_nag") or {}
    rules.setdefault("rules_to_suppress", []).append({"id": cfn_nag, "reason": reason})
    resource.add_metadata("cfn_nag", rules)
