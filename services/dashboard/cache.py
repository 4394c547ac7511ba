"""A small time-to-live cache for query results shared by every callback of the process.

Live pages refresh every few seconds and several callbacks need the same aggregate at once; a
per-key lock makes concurrent callers wait for one computation instead of repeating the query.
A value that was slow to compute is kept ``cost_factor`` times as long as it took, so a query over a
long window cannot keep the database busy back to back at every refresh.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class TTLCache:
    """Values expire ``ttl_s`` seconds (or a per-call ``ttl_s``) after they were computed; at most ``max_entries`` are
    kept.
    """

    def __init__(self, ttl_s: float, max_entries: int = 512, cost_factor: float = 3.0) -> None:
        self.ttl_s = ttl_s
        self.cost_factor = cost_factor
        self.max_entries = max_entries
        self._values: dict[Hashable, tuple[float, Any]] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()

    def get_or_compute(self, key: Hashable, compute: Callable[[], T], ttl_s: float | None = None) -> T:
        hit = self._fresh(key)
        if hit is not None:
            return hit[1]
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            hit = self._fresh(key)
            if hit is not None:
                return hit[1]
            started = time.monotonic()
            value = compute()
            now = time.monotonic()
            keep = max(self.ttl_s if ttl_s is None else ttl_s, self.cost_factor * (now - started))
            with self._guard:
                if len(self._values) >= self.max_entries:
                    self._evict()
                self._values[key] = (now + keep, value)
            return value

    def clear(self) -> None:
        with self._guard:
            self._values.clear()

    def _fresh(self, key: Hashable) -> tuple[float, Any] | None:
        hit = self._values.get(key)
        if hit is not None and time.monotonic() < hit[0]:
            return hit
        return None

    def _evict(self) -> None:
        """Drop expired entries, or the half closest to expiry when everything is still fresh."""
        now = time.monotonic()
        expired = [k for k, (expires, _) in self._values.items() if now >= expires]
        victims = expired or sorted(self._values, key=lambda k: self._values[k][0])[: len(self._values) // 2]
        for key in victims:
            self._values.pop(key, None)
            self._locks.pop(key, None)
