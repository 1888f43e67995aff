"""``run.json``: one claim object per analyzed hour, so that retries never publish a run's metrics twice.

EventBridge Scheduler retries a failed delivery, and Lambda retries an asynchronous invocation that failed, so
one scheduled hour can reach the function more than once, even twice at the same time. Each attempt first
creates ``<reports folder>/run.json`` with S3's conditional write ``If-None-Match: *``: exactly one attempt
succeeds and owns the hour; every other attempt reads the claim and stops without publishing anything.

The owner moves the claim through its states with ``If-Match: <etag>``, so a takeover by another attempt is
noticed before anything is published::

    running ──► publishing ──► completed | no-data | failed      (final: never run again)
       ├──► error   (an AWS error before publishing: the owner gives the hour up, a retry takes it over)
       └──► analyzing ──► publishing ──► …   (``builtin_runtime: processing``: a Processing job analyzes the
                                             hour; the function that hears the job end moves the claim on)

A ``running`` claim past its ``deadline`` (the owner's invocation deadline, from the Lambda context) belongs to an
attempt that timed out or died, so a retry takes it over too; a claim without a deadline is given
:data:`STALE_AFTER` (Lambda's longest run is 15 minutes). Lambda retries a failed asynchronous invocation about a
minute and then two minutes later, so the deadline, not a fixed 20 minutes, is what lets a retry after a timeout
run. A ``publishing`` claim is never taken over: its metrics may already be out, and not publishing them twice is
the promise. Nor is an ``analyzing`` claim: its job is running (SageMaker stops it at its MaxRuntimeInSeconds), and
the job's end, not a retry of the schedule, finishes the hour. ``ops status`` lists these objects as the builtin runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from drift_engine.s3 import PreconditionFailedError, S3Location, get_json, put_json

__all__ = [
    "FINAL_STATUSES",
    "RUN_FILE",
    "STALE_AFTER",
    "Claim",
    "ClaimLostError",
    "claim_run",
    "update_claim",
]

RUN_FILE: Final = "run.json"
RUNNING: Final = "running"
#: A Processing job analyzes the hour (its name in the claim's ``job_name``).
ANALYZING: Final = "analyzing"
PUBLISHING: Final = "publishing"
ERROR: Final = "error"
COMPLETED: Final = "completed"
NO_DATA: Final = "no-data"
FAILED: Final = "failed"
FINAL_STATUSES: Final = frozenset({COMPLETED, NO_DATA, FAILED})
#: Lambda stops a function after at most 15 minutes; a claim still ``running`` after 20 has no live owner.
STALE_AFTER: Final = timedelta(minutes=20)


class ClaimLostError(RuntimeError):
    """Another attempt took the claim over: this one must stop without publishing."""


@dataclass(frozen=True)
class Claim:
    """An hour this attempt owns (``etag`` of its last write), or the claim another attempt holds."""

    location: S3Location
    record: dict[str, Any]
    etag: str
    owned: bool


def claim_run(
    s3: Any,
    location: S3Location,
    *,
    attempt_id: str,
    window: dict[str, str],
    now: datetime,
    deadline: datetime | None = None,
) -> Claim:
    """Create the claim, or take over a dead one; else return the other attempt's claim (``owned=False``)."""
    record = {"status": RUNNING, "attempt_id": attempt_id, "started_at": _iso(now), **window}
    if deadline is not None:
        record["deadline"] = _iso(deadline)
    try:
        return Claim(location, record, put_json(s3, location, record, create_only=True), owned=True)
    except PreconditionFailedError:
        pass
    existing = get_json(s3, location)
    if existing is None:  # deleted between the two calls: try once more
        return Claim(location, record, put_json(s3, location, record, create_only=True), owned=True)
    current, etag = existing
    if _abandoned(current, now):
        record["took_over_from"] = str(current.get("attempt_id"))
        try:
            return Claim(location, record, put_json(s3, location, record, if_match=etag), owned=True)
        except PreconditionFailedError:
            latest = get_json(s3, location)
            current, etag = latest if latest is not None else (current, etag)
    return Claim(location, current, etag, owned=False)


def update_claim(s3: Any, claim: Claim, **changes: Any) -> Claim:
    """Write the claim's next state, only if nobody took it over since our last write.

    Raises:
        ClaimLostError: The claim changed under us.
    """
    record = {**claim.record, **changes}
    try:
        etag = put_json(s3, claim.location, record, if_match=claim.etag)
    except PreconditionFailedError as error:
        raise ClaimLostError(f"{claim.location.uri} was taken over by another attempt") from error
    return Claim(claim.location, record, etag, owned=True)


def _abandoned(record: dict[str, Any], now: datetime) -> bool:
    status = record.get("status")
    if status == ERROR:
        return True
    if status != RUNNING:
        return False
    try:
        if "deadline" in record:
            return now > _parse(record["deadline"])
        return now - _parse(record.get("started_at")) > STALE_AFTER
    except ValueError:
        return True


def _parse(value: object) -> datetime:
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
