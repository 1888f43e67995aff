"""``traffic``: send demo requests to the endpoint, so that data capture has something to capture.

The rows are drawn like the demo's training data (``demo.generate_demo``), so the monitor finds nothing
wrong with them; ``--drift`` sends the drifted recipe instead (about half the passenger counts fractional,
total_amount inflated, about 5 % of values missing), which the hourly execution should flag with
``data_type_check``, ``completeness_check`` and baseline drift violations.

Bounded on purpose: a fixed number of requests (``--count``), optionally paced (``--rate`` per second), and
it stops early after repeated consecutive failures (a wrong endpoint or missing permission would otherwise
fail the same way hundreds of times). Latency is the client's round trip per request, one attempt each (no
retries), so p50/p99 include the network, not only ``ModelLatency``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError

from .aws import SageMakerRuntimeClient
from .progress import Progress

__all__ = [
    "MAX_CONSECUTIVE_ERRORS",
    "TrafficSummary",
    "draw_request_bodies",
    "format_summary",
    "percentile",
    "send_traffic",
]

#: Stop after this many failures in a row: the endpoint is not going to start answering.
MAX_CONSECUTIVE_ERRORS = 10
#: How many distinct error messages the summary keeps.
_KEPT_ERRORS = 5


@dataclass
class TrafficSummary:
    """What happened to the requests.

    Attributes:
        requested: How many requests were asked for.
        sent: How many were sent (fewer than requested only when stopped early).
        errors: How many of them failed (an AWS error, a timeout, a connection error).
        latencies_ms: Round-trip time of each successful request, in milliseconds, in send order.
        error_messages: The first few distinct error messages.
        duration_s: Seconds from the first request to the last answer.
        stopped_early: Why it stopped before ``requested``, or ``None``.
    """

    requested: int
    sent: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    error_messages: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    stopped_early: str | None = None

    @property
    def succeeded(self) -> int:
        return self.sent - self.errors

    @property
    def p50_ms(self) -> float | None:
        return percentile(self.latencies_ms, 50)

    @property
    def p99_ms(self) -> float | None:
        return percentile(self.latencies_ms, 99)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile by the nearest-rank method (a value that was observed); ``None`` when empty.

    Nearest rank rather than interpolation: with 200 requests, p99 is the second slowest request, a latency
    that really happened.
    """
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def draw_request_bodies(count: int, *, drift: bool, seed: int | None = None) -> list[str]:
    """``count`` ``text/csv`` request bodies (one row of the 8 demo features each), normal or drifted."""
    import numpy as np  # imported here: only this command needs numpy

    from demo.generate_demo import draw_drifted_feature_rows, draw_feature_rows, format_csv_row

    rng = np.random.default_rng(seed)
    rows = draw_drifted_feature_rows(rng, count) if drift else draw_feature_rows(rng, count)
    return [format_csv_row(row) for row in rows]


def send_traffic(
    runtime: SageMakerRuntimeClient,
    *,
    endpoint_name: str,
    bodies: Sequence[str],
    rate: float | None = None,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
) -> TrafficSummary:
    """Send each body as one ``InvokeEndpoint`` request (``text/csv``), one after the other.

    Args:
        runtime: A ``sagemaker-runtime`` client.
        endpoint_name: The endpoint, from the endpoint stack's outputs.
        bodies: The request bodies, e.g. from :func:`draw_request_bodies`.
        rate: At most this many requests per second (paced from the start, so a slow answer is caught up);
            ``None``: as fast as the endpoint answers.
        progress: Where to report progress (about every tenth of the requests); ``None``: silent.
        clock, sleep: Time functions; tests pass fakes.

    Returns:
        The summary. Errors are counted, not raised: one failed request is a result, not a crash.
    """
    summary = TrafficSummary(requested=len(bodies))
    report_every = max(1, len(bodies) // 10)
    consecutive_errors = 0
    start = clock()
    for index, body in enumerate(bodies):
        if rate:
            delay = start + index / rate - clock()
            if delay > 0:
                sleep(delay)
        sent_at = clock()
        try:
            response = runtime.invoke_endpoint(
                EndpointName=endpoint_name, ContentType="text/csv", Accept="text/csv", Body=body.encode("utf-8")
            )
            response["Body"].read()  # the answer has arrived only once it has been read
        except (ClientError, BotoCoreError) as error:
            summary.errors += 1
            consecutive_errors += 1
            message = str(error)
            if message not in summary.error_messages and len(summary.error_messages) < _KEPT_ERRORS:
                summary.error_messages.append(message)
        else:
            summary.latencies_ms.append((clock() - sent_at) * 1000.0)
            consecutive_errors = 0
        summary.sent += 1
        if progress and (summary.sent % report_every == 0 or summary.sent == len(bodies)):
            progress.report(f"sent {summary.sent}/{len(bodies)}, {summary.errors} error(s)")
        if consecutive_errors >= MAX_CONSECUTIVE_ERRORS and summary.sent < len(bodies):
            summary.stopped_early = f"stopped after {consecutive_errors} consecutive errors"
            break
    summary.duration_s = clock() - start
    return summary


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def format_summary(summary: TrafficSummary, *, endpoint_name: str, drift: bool) -> str:
    """The closing lines: sent, errors, p50/p99 latency, and the first error messages."""
    kind = "drifted" if drift else "normal"
    per_second = summary.sent / summary.duration_s if summary.duration_s > 0 else 0.0
    lines = [
        f"endpoint {endpoint_name}: sent {summary.sent} of {summary.requested} {kind} requests "
        f"in {summary.duration_s:.1f} s ({per_second:.1f}/s)",
        f"ok {summary.succeeded}, errors {summary.errors}",
        f"latency (successful requests, client round trip): p50 {_ms(summary.p50_ms)}, p99 {_ms(summary.p99_ms)}",
    ]
    if summary.stopped_early:
        lines.append(summary.stopped_early)
    lines.extend(f"error: {message}" for message in summary.error_messages)
    return "\n".join(lines)
