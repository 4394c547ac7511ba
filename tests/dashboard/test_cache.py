"""The shared query cache: one computation per key at a time, expiry, and slow results kept longer."""

from __future__ import annotations

import threading
import time

from services.dashboard.cache import TTLCache


def test_concurrent_callers_share_one_computation() -> None:
    cache, calls = TTLCache(ttl_s=60), []

    def slow() -> int:
        calls.append(1)
        time.sleep(0.2)
        return 42

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get_or_compute("k", slow))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [42] * 4 and len(calls) == 1


def test_values_expire_but_slow_ones_live_a_multiple_of_their_cost() -> None:
    cache = TTLCache(ttl_s=0.05, cost_factor=10)
    assert cache.get_or_compute("fast", lambda: 1) == 1
    time.sleep(0.06)
    assert cache.get_or_compute("fast", lambda: 2) == 2
    cache.get_or_compute("slow", lambda: time.sleep(0.03) or "first")  # kept ~0.3 s, not 0.05 s
    time.sleep(0.1)
    assert cache.get_or_compute("slow", lambda: "second") == "first"
