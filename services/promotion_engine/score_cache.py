"""Uplift scores computed ahead of requests: the model call taken off the request path.

Scoring a request's candidates is two or more XGBoost calls of ~0.5-1.5 ms each on this machine,
mostly per-call overhead — the largest part of a request. So a background thread (``Engine``)
scores every customer of the order-history snapshot and every customer with recent clicks for
every (promotion, SKU) pair of the current promotions, a few dozen customers per model call, and a
request reuses those scores when nothing they depend on has changed:

- the same model version;
- the same ``CustomerHistory`` summary (compared by value: a snapshot reload that changed nothing
  for the customer keeps their scores);
- the same recent-click activity (a new click is scored inline at once: "clicks change the answer
  within seconds" does not wait for this cache; the scorer re-scores customers whose clicks changed
  within a second, so usually their next request hits again);
- the same promotion definition (``updated_at``), SKU, price, cost and category (the cache key of
  each pair);
- at most ``ttl_s`` old (days since the last order is the one feature that moves with the clock).

Otherwise the request scores the customer's whole universe inline in one model call and stores
it (``Recommender._score_universe``), so the customer's next requests hit again. The numbers are
the same either way: the model scores each row on its own, whatever batch it is in (a test checks it).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from services.promotion_engine.features import CustomerHistory, RecentActivity

PairKey = tuple  # (promotion_id, promotion updated_at, sku, price_cents, cost_cents, category)


@dataclass(frozen=True)
class Universe:
    """Every (promotion, SKU) pair the current promotions could offer anywhere, with its static feature columns."""

    keys: tuple[PairKey, ...]
    index: dict[PairKey, int]
    static_features: np.ndarray  # one row per pair, as ``CandidateTable.static_features``
    categories: list[str]
    category_code: np.ndarray
    skus: list[str]


@dataclass(frozen=True)
class Entry:
    version: str
    history: CustomerHistory | None
    activity: RecentActivity
    at: float  # time.monotonic() when scored
    universe: Universe
    scores: np.ndarray


class ScoreCache:
    """Per customer: the latest ``Entry``; and, per (candidate table, universe), where each table row's score sits."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._entries: dict[str, Entry] = {}
        self._positions: dict[tuple[int, int], tuple[object, Universe, np.ndarray]] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def fresh(
        self,
        customer_id: str,
        version: str,
        history: CustomerHistory | None,
        activity: RecentActivity,
        universe: Universe | None = None,
    ) -> bool:
        """Whether the customer's entry is still good for this model, history and activity (and universe, if given)."""
        entry = self._entries.get(customer_id)
        return (
            entry is not None
            and entry.version == version
            and entry.history == history
            and entry.activity == activity
            and time.monotonic() - entry.at <= self.ttl_s
            and (universe is None or entry.universe is universe)
        )

    def store(self, customer_id: str, entry: Entry) -> None:
        self._entries[customer_id] = entry

    def lookup(
        self,
        customer_id: str,
        version: str,
        history: CustomerHistory | None,
        activity: RecentActivity,
        table_keys: list[PairKey],
        table: object,
        rows: np.ndarray,
        count: bool = True,
    ) -> np.ndarray | None:
        """The cached scores of ``rows`` of a candidate table, or None when any of them is missing or stale;
        ``count=False`` for the look-up right after a miss refilled the entry (the request was a miss, not a hit)."""
        found = self._find(customer_id, version, history, activity, table_keys, table, rows)
        if count:
            if found is None:
                self.misses += 1
            else:
                self.hits += 1
        return found

    def _find(
        self,
        customer_id: str,
        version: str,
        history: CustomerHistory | None,
        activity: RecentActivity,
        table_keys: list[PairKey],
        table: object,
        rows: np.ndarray,
    ) -> np.ndarray | None:
        if not self.fresh(customer_id, version, history, activity):
            return None
        entry = self._entries[customer_id]
        picked = self._positions_of(table, table_keys, entry.universe)[rows]
        if picked.size and picked.min() < 0:
            return None
        return entry.scores[picked]

    def _positions_of(self, table: object, table_keys: list[PairKey], universe: Universe) -> np.ndarray:
        key = (id(table), id(universe))
        found = self._positions.get(key)
        if found is not None and found[0] is table and found[1] is universe:
            return found[2]
        positions = np.array([universe.index.get(k, -1) for k in table_keys], dtype=np.intp)
        with self._lock:
            if len(self._positions) > 64:  # tables and universes are replaced as caches reload: keep the recent ones
                self._positions.clear()
            self._positions[key] = (table, universe, positions)
        return positions

    def forget(self, customer_id: str) -> bool:
        """Drop a customer's scores (an erased customer)."""
        return self._entries.pop(customer_id, None) is not None

    def customer_ids(self) -> list[str]:
        return list(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
