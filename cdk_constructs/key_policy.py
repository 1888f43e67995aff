"""Statements a service needs in a customer-managed key's policy, added once per key."""

from __future__ import annotations

from collections.abc import Callable

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct


def add_to_key_policy_once(key: kms.IKey, sid: str, statement: Callable[[Stack], iam.PolicyStatement]) -> None:
    """Add ``statement(stack of key)`` to ``key``'s policy unless a statement ``sid`` was added already.

    Several constructs share one stage key and each asks for what its service needs; the key policy must hold
    each statement once. A key imported by ARN has no policy here to change: its owner must allow the service.
    """
    if not isinstance(key, kms.Key) or key.node.try_find_child(sid) is not None:
        return
    key.add_to_resource_policy(statement(Stack.of(key)))
    Construct(key, sid)  # marks the key as done
