"""The AWS clients the commands use, how they are made, and small helpers shared by the commands.

Every command takes its clients as arguments, typed with the protocols below: the tests pass moto clients,
or clients wrapped in botocore's ``Stubber`` where moto lacks an API, and the type checker still sees which
operations a command calls. (The protocols name operations only: boto3 clients are untyped here.)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from botocore.exceptions import ClientError

from .errors import OpsError

__all__ = [
    "ClientFactory",
    "CloudFormationClient",
    "CloudWatchClient",
    "S3Client",
    "SageMakerClient",
    "SageMakerRuntimeClient",
    "boto3_client_factory",
    "format_time",
    "parse_s3_uri",
    "read_s3_object",
]

#: Makes the client of one service, e.g. ``factory("sagemaker")``.
ClientFactory = Callable[[str], Any]


class CloudFormationClient(Protocol):
    def describe_stacks(self, **kwargs: Any) -> dict[str, Any]: ...


class SageMakerClient(Protocol):
    def describe_monitoring_schedule(self, **kwargs: Any) -> dict[str, Any]: ...
    def create_monitoring_schedule(self, **kwargs: Any) -> dict[str, Any]: ...
    def delete_monitoring_schedule(self, **kwargs: Any) -> dict[str, Any]: ...
    def list_monitoring_executions(self, **kwargs: Any) -> dict[str, Any]: ...
    def describe_processing_job(self, **kwargs: Any) -> dict[str, Any]: ...


class SageMakerRuntimeClient(Protocol):
    def invoke_endpoint(self, **kwargs: Any) -> dict[str, Any]: ...


class CloudWatchClient(Protocol):
    def describe_alarms(self, **kwargs: Any) -> dict[str, Any]: ...


class S3Client(Protocol):
    def get_object(self, **kwargs: Any) -> dict[str, Any]: ...


def boto3_client_factory(region: str | None) -> ClientFactory:
    """Clients from the usual boto3 configuration (profile, environment), in ``region`` when given.

    The runtime client makes one attempt per request, without botocore's retries: ``traffic`` measures the
    latency of each request and counts the failures, and a silent retry would hide both.
    """
    import boto3  # imported here: `python -m ops report --baseline ...` and `--help` need no AWS at all
    from botocore.config import Config

    session = boto3.session.Session(region_name=region)
    runtime_config = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=10, read_timeout=70)

    # run-now on the builtin engine waits for the function's answer (up to its 15-minute limit) and must not
    # invoke it twice on a read timeout.
    lambda_config = Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=905)

    def make(service: str) -> Any:
        if service == "sagemaker-runtime":
            return session.client(service, config=runtime_config)
        if service == "lambda":
            return session.client(service, config=lambda_config)
        return session.client(service)

    return make


_S3_URI_RE = re.compile(r"^s3://(?P<bucket>[^/]+)/?(?P<key>.*)$")


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/a/b`` → ``("bucket", "a/b")``; the key may be empty (a bucket) or a prefix.

    Raises:
        OpsError: Not an ``s3://`` URI.
    """
    match = _S3_URI_RE.match(uri.strip())
    if not match:
        raise OpsError(f"not an S3 URI: {uri!r} (expected s3://bucket/key)")
    return match["bucket"], match["key"]


_MISSING_OBJECT_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


def read_s3_object(s3: S3Client, uri: str) -> bytes | None:
    """The object's bytes, or ``None`` when there is no such key (a report may legitimately lack a file).

    Other errors (no such bucket, access denied) propagate: they are not "the file is absent". Note that S3
    answers 403 AccessDenied, not 404, for a missing key when the caller may not list the bucket; that shows
    as the access error it is.
    """
    bucket, key = parse_s3_uri(uri)
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in _MISSING_OBJECT_CODES:
            return None
        raise
    body: bytes = response["Body"].read()
    return body


def format_time(value: object) -> str:
    """A boto3 timestamp as ``2026-11-22 13:05 UTC``; ``-`` when absent."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "-" if value is None else str(value)
