"""Waiting for something a real server does in the background, without asserting on speed."""

from __future__ import annotations

import time
from collections.abc import Callable

from pymongo.errors import PyMongoError

WAIT_S = 120.0


def wait_for(
    condition: Callable[[], bool], what: str, timeout_s: float = WAIT_S, state: Callable[[], object] = lambda: ""
) -> None:
    """Poll until true; a timeout fails the test with what was awaited and ``state()``.

    The embedded Mongo-protocol server occasionally answers one read under heavy load with a transient
    ``Unknown error: null``; a poll that fails that way is retried, and the last error is reported on timeout.
    """
    deadline = time.monotonic() + timeout_s
    last_error: PyMongoError | None = None
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except PyMongoError as error:
            last_error = error
        time.sleep(0.1)
    cause = f" (last store error: {last_error})" if last_error else ""
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what} {state()}{cause}")
