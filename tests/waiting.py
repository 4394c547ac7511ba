"""Waiting for something a real server does in the background, without asserting on speed."""

from __future__ import annotations

import time
from collections.abc import Callable

WAIT_S = 120.0


def wait_for(
    condition: Callable[[], bool], what: str, timeout_s: float = WAIT_S, state: Callable[[], object] = lambda: ""
) -> None:
    """Poll until true; a timeout fails the test with what was awaited and ``state()``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what} {state()}")
