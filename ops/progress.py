"""Progress lines for anything that waits: one line per step, with the time elapsed, on stderr.

Why not a progress bar: runs end up in CI logs and terminals alike, and a line per poll reads well in both.
Why stderr: stdout carries the result (tables, summaries) and stays clean for piping.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


def format_duration(seconds: float) -> str:
    """``7s``, ``2m05s``, ``1h02m``: short enough to prefix every line."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class Progress:
    """Prints ``[label 2m05s] message`` lines, the time counted from construction.

    Args:
        label: What is being waited for, e.g. ``run-now``.
        stream: Where lines go; ``None`` means ``sys.stderr`` as it is at each call (so pytest's capture works).
        clock: Seconds from an arbitrary origin; tests pass a fake one.
    """

    def __init__(self, label: str, *, stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic):
        self._label = label
        self._stream = stream
        self._clock = clock
        self._start = clock()

    @property
    def elapsed(self) -> float:
        """Seconds since the start."""
        return self._clock() - self._start

    def report(self, message: str) -> None:
        """Print one progress line, flushed at once (the operator is watching)."""
        stream = self._stream if self._stream is not None else sys.stderr
        print(f"[{self._label} {format_duration(self.elapsed)}] {message}", file=stream, flush=True)
