"""The one error type the commands raise for problems the operator can fix."""

from __future__ import annotations


class OpsError(Exception):
    """A problem the operator can fix (stack not deployed, missing file, bad argument).

    ``python -m ops`` prints the message as one line, with no traceback, and exits with ``exit_code``: the
    message says what to do, a traceback would only bury it.
    """

    def __init__(self, message: str, *, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
