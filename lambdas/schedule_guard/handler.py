"""Entry points of the schedule guard, called by a CDK ``custom_resources.Provider``.

``on_event`` only names the resource; ``is_complete`` is polled until the schedule has left ``Pending``
(see ``schedule_state``). The SageMaker client is made on first use and reused by warm invocations.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import boto3
from botocore.config import Config

from .schedule_state import is_settled

logger = logging.getLogger()
logger.setLevel(logging.INFO)

CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})


@functools.cache
def sagemaker_client() -> Any:
    return boto3.client("sagemaker", config=CLIENT_CONFIG)


def _schedule_name(event: dict[str, Any]) -> str:
    name = event.get("ResourceProperties", {}).get("ScheduleName")
    if not isinstance(name, str) or not name:
        raise ValueError(f"ResourceProperties.ScheduleName is required, got {name!r}")
    return name


def on_event(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    name = _schedule_name(event)
    logger.info("%s request for the guard of schedule %s", event["RequestType"], name)
    return {"PhysicalResourceId": f"{name}-guard"}


def is_complete(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    name = _schedule_name(event)
    settled = is_settled(sagemaker_client(), name, deleting=event["RequestType"] == "Delete")
    logger.info("schedule %s settled: %s", name, settled)
    return {"IsComplete": settled}
