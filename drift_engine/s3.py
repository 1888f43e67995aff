"""The engine's S3 edge: capture objects of a window, baseline files, and files written exactly once.

The engine's core reads local paths or bytes and knows nothing of AWS; this module is what a runner in AWS (the
hourly function, the baseline function, the CLI on ``s3://``) puts in front of it. Every function takes the S3
client as an argument (created once by the caller), so tests pass a moto or Stubber-backed client.

* **Where SageMaker writes captured traffic** (AWS docs, "Capture data from real-time endpoint"):
  ``<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/<file>.jsonl``, the hour folder being the file's creation
  hour in UTC. A file created at 12:59 may hold records of 13:00, so :func:`list_capture_objects` lists the hour
  before the window as well; the records are then selected by ``inferenceTime`` (:class:`CaptureOptions`).
* **Reading:** objects are read whole into memory, one at a time (a capture file is a few MB: SageMaker starts a
  new file every few minutes), and handed to :func:`drift_engine.profile_capture_file` as bytes, so memory is one
  object plus the sketches, whatever the hour's size.
* **Writing once:** :func:`put_bytes` with ``create_only`` sends ``If-None-Match: *`` and with ``if_match`` an
  ``If-Match: <etag>``: S3's conditional writes (botocore's ``s3`` model, ``PutObject``: ``IfNoneMatch``
  "Uploads the object only if the object key name does not already exist", 412 Precondition Failed otherwise;
  ``IfMatch`` likewise against the ETag). A failed condition, or a 409 ConditionalRequestConflict from a
  concurrent conditional write, raises :class:`PreconditionFailedError`: the caller lost the race.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from .capture import CaptureOptions
from .constraints import ConstraintsFileError, ParsedConstraints, parse_constraints
from .engine import profile_capture_file
from .profile import DatasetProfile, merge_profiles
from .statistics import BaselineStatistics, StatisticsFileError, parse_statistics

__all__ = [
    "BaselineUnavailableError",
    "CaptureObject",
    "PreconditionFailedError",
    "S3Location",
    "get_json",
    "list_capture_objects",
    "list_objects",
    "profile_capture_objects",
    "put_bytes",
    "put_json",
    "read_baseline",
    "read_object",
]

#: S3 error codes of an object (or bucket) that is not there.
_MISSING_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "404", "NotFound"})
#: 412 when a condition does not hold; 409 when a concurrent conditional write won (retry or give up).
_PRECONDITION_CODES = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})


class PreconditionFailedError(RuntimeError):
    """A conditional write did not happen: the object exists (``create_only``) or changed (``if_match``)."""


class BaselineUnavailableError(RuntimeError):
    """The baseline cannot be used: missing, unreadable or not a statistics/constraints file. One line."""


@dataclass(frozen=True)
class S3Location:
    """A bucket and a key (an object) or a prefix (no trailing slash)."""

    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        """``s3://bucket`` or ``s3://bucket/key``; a trailing slash is dropped.

        Raises:
            ValueError: Not an ``s3://`` URI with a bucket.
        """
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        if not uri.startswith("s3://") or not bucket:
            raise ValueError(f"not an s3://bucket/key URI: {uri!r}")
        return cls(bucket, key.strip("/"))

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}" if self.key else f"s3://{self.bucket}"

    def child(self, *parts: str) -> S3Location:
        """The location ``parts`` below this one, joined with slashes."""
        key = "/".join(part.strip("/") for part in (self.key, *parts) if part.strip("/"))
        return S3Location(self.bucket, key)


@dataclass(frozen=True)
class CaptureObject:
    """One capture file in S3."""

    bucket: str
    key: str
    size: int


def list_objects(s3: Any, location: S3Location) -> Iterator[CaptureObject]:
    """Every object under a prefix (``ListObjectsV2``, all pages), in key order; folder markers skipped."""
    prefix = f"{location.key}/" if location.key else ""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=location.bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if not item["Key"].endswith("/"):
                yield CaptureObject(location.bucket, item["Key"], int(item.get("Size", 0)))


def capture_hour_folders(start: datetime, end: datetime) -> list[str]:
    """The ``yyyy/mm/dd/hh`` folders that can hold records of ``[start, end)``: the hour before ``start`` too."""
    hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    last = end.astimezone(UTC) - timedelta(microseconds=1)
    folders = []
    while hour <= last:
        folders.append(hour.strftime("%Y/%m/%d/%H"))
        hour += timedelta(hours=1)
    return folders


def list_capture_objects(
    s3: Any, capture: S3Location, endpoint_name: str, *, start: datetime, end: datetime
) -> list[CaptureObject]:
    """The capture files of every variant of ``endpoint_name`` that can hold records of ``[start, end)``.

    Variants are found with a delimited listing of ``<capture>/<endpoint>/``, then each variant's hour folders
    are listed; a window of one hour costs three ``ListObjectsV2`` calls per variant.
    """
    endpoint = capture.child(endpoint_name)
    variants: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=capture.bucket, Prefix=f"{endpoint.key}/", Delimiter="/"
    ):
        variants.extend(str(entry["Prefix"]).rstrip("/").rsplit("/", 1)[-1] for entry in page.get("CommonPrefixes", []))
    objects: list[CaptureObject] = []
    for variant in variants:
        for folder in capture_hour_folders(start, end):
            objects.extend(list_objects(s3, endpoint.child(variant, folder)))
    return objects


def read_object(s3: Any, bucket: str, key: str) -> bytes | None:
    """A whole object's bytes, or ``None`` when there is no such object (other errors propagate)."""
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if _code(error) in _MISSING_CODES:
            return None
        raise
    body: bytes = response["Body"].read()
    return body


def get_json(s3: Any, location: S3Location) -> tuple[dict[str, Any], str] | None:
    """A JSON object and its ETag, or ``None`` when there is no such object.

    Raises:
        ValueError: The object is not a JSON object.
    """
    try:
        response = s3.get_object(Bucket=location.bucket, Key=location.key)
    except ClientError as error:
        if _code(error) in _MISSING_CODES:
            return None
        raise
    document = json.loads(response["Body"].read())
    if not isinstance(document, dict):
        raise ValueError(f"{location.uri}: expected a JSON object")
    return document, str(response["ETag"])


def put_bytes(
    s3: Any,
    location: S3Location,
    body: bytes,
    *,
    content_type: str = "application/octet-stream",
    create_only: bool = False,
    if_match: str | None = None,
) -> str:
    """Write an object; returns its ETag.

    ``create_only``: only if no object has that key (``If-None-Match: *``). ``if_match``: only if the object still
    has that ETag. Server-side encryption is the bucket's default (the project's buckets use their KMS key).

    Raises:
        PreconditionFailedError: The condition did not hold.
    """
    arguments: dict[str, Any] = {
        "Bucket": location.bucket,
        "Key": location.key,
        "Body": body,
        "ContentType": content_type,
    }
    if create_only:
        arguments["IfNoneMatch"] = "*"
    if if_match is not None:
        arguments["IfMatch"] = if_match
    try:
        response = s3.put_object(**arguments)
    except ClientError as error:
        if _code(error) in _PRECONDITION_CODES:
            raise PreconditionFailedError(f"{location.uri}: {_code(error)}") from error
        raise
    return str(response.get("ETag", ""))


def put_json(
    s3: Any, location: S3Location, document: dict[str, Any], *, create_only: bool = False, if_match: str | None = None
) -> str:
    """:func:`put_bytes` of a JSON document, indented as the engine writes its files locally."""
    body = (json.dumps(document, indent=2, allow_nan=False) + "\n").encode()
    return put_bytes(s3, location, body, content_type="application/json", create_only=create_only, if_match=if_match)


def read_baseline(
    s3: Any, statistics: S3Location, constraints: S3Location
) -> tuple[BaselineStatistics, ParsedConstraints]:
    """The baseline's ``statistics.json`` and ``constraints.json``, from this engine or from Model Monitor.

    Raises:
        BaselineUnavailableError: A file is missing, cannot be read (access denied, KMS) or is not a valid
            statistics or constraints file; the one-line message names the file and the reason.
    """
    texts = []
    for location in (statistics, constraints):
        try:
            body = read_object(s3, location.bucket, location.key)
        except ClientError as error:
            raise BaselineUnavailableError(f"baseline {location.uri} cannot be read: {_code(error)}") from error
        if body is None:
            raise BaselineUnavailableError(f"baseline {location.uri} does not exist")
        texts.append(body)
    try:
        return (
            parse_statistics(texts[0], source=statistics.uri),
            parse_constraints(texts[1], source=constraints.uri),
        )
    except (StatisticsFileError, ConstraintsFileError) as error:
        raise BaselineUnavailableError(f"baseline unusable: {error}") from error


def profile_capture_objects(
    s3: Any,
    objects: Sequence[CaptureObject],
    *,
    options: CaptureOptions,
    domains: dict[str, frozenset[str]] | None = None,
) -> DatasetProfile:
    """The merged profile of capture objects, read one at a time (records outside the window skipped)."""
    profiles = []
    for item in objects:
        body = read_object(s3, item.bucket, item.key)
        if body is None:  # deleted (lifecycle expiry) between the listing and the read
            continue
        profiles.append(profile_capture_file(body, options=options, domains=domains, name=item.key))
    return merge_profiles(profiles)


def _code(error: ClientError) -> str:
    code: str = error.response.get("Error", {}).get("Code", "")
    return code
