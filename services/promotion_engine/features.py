"""Customer features: RFM and category affinity from orders, intent from the last minutes of clicks.

The same functions summarize a customer for serving (history up to now) and for training (history
up to each exposure, so no row sees its own future). Where the data lives and how fresh it is:

- **Orders** change a customer's RFM slowly; ``OrderHistory`` keeps an in-memory snapshot of
  every customer's summary, brought up to date every ``history_refresh_s`` by reading only the
  orders ingested since (by ``ingested_at``), and rebuilt from one scan of the orders of the last
  ``history_days`` every ``FULL_REBUILD_EVERY``. Measured on mongo-java-server, a per-request
  ``find({customer_id})`` over 20k orders took 8 ms p50 / 20 ms p90 (it ignores the customer index
  and scans), the whole snapshot load of 20k orders well under a second — but a full load every
  minute held the GIL long enough to show as latency spikes of the recommendation API.
- **Clicks** must change the answer within seconds. ``ClickWindow`` holds the last
  ``recent_clicks_minutes`` per customer in memory, fed from the clicks topic by
  ``click_stream.ClickStreamTail`` (a per-request scan of 50k stored clicks measured 21 ms p50 /
  91 ms p90). ``MongoRecentClicks`` is the per-request query alternative for a real MongoDB, where
  the ``customer_id`` index makes it cheap.
"""

from __future__ import annotations

import bisect
import heapq
import logging
import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Protocol

import numpy as np
from pymongo import DESCENDING
from pymongo.database import Database

from services.common import read_models
from services.promotion_engine.catalog import Catalog, Product

log = logging.getLogger(__name__)

ORDER_PROJECTION = {
    "customer_id": 1,
    "occurred_at": 1,
    "revenue_cents": 1,
    "discount_cents": 1,
    "promotion_id": 1,
    "lines": 1,
}
HISTORY_PROJECTION = ORDER_PROJECTION | {"_id": 1, "ingested_at": 1}
# Orders age out of the lookback only at a full rebuild, so between two a summary may count orders up to this
# much older than ``history_days`` (6 h over the 365-day default: 0.07 % more); orders stored without
# ``ingested_at`` (seeds written straight into MongoDB) also come in only then. One full scan per 6 h
# instead of per minute.
FULL_REBUILD_EVERY = timedelta(hours=6)
# The data consumer stamps ``ingested_at`` before its write lands, so an order can become visible after a
# later-stamped one: each incremental read goes back this far behind the watermark (an order landing later
# than that waits for the next full rebuild).
INGEST_OVERLAP = timedelta(minutes=5)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


# --- orders: RFM and category affinity -----------------------------------------------------------


@dataclass
class CustomerHistory:
    """What a customer's past orders say: recency, frequency, monetary value, deal-seeking, categories."""

    orders: int = 0
    last_order_at: datetime | None = None
    monetary_cents: int = 0
    deal_orders: int = 0
    category_spend: dict[str, int] = field(default_factory=dict)

    def add(self, order: Mapping, products: Mapping[str, Product]) -> None:
        self.orders += 1
        at = order["occurred_at"]
        if self.last_order_at is None or at > self.last_order_at:
            self.last_order_at = at
        self.monetary_cents += int(order.get("revenue_cents", 0))
        if order.get("promotion_id") or order.get("discount_cents"):
            self.deal_orders += 1
        for line in order.get("lines", ()):
            product = products.get(line.get("sku", ""))
            if product is not None:
                self.category_spend[product.category] = self.category_spend.get(product.category, 0) + int(
                    line.get("revenue_cents", 0)
                )

    def copy(self) -> CustomerHistory:
        """A copy to add orders to: a published summary is compared by value (score cache) and never changes in
        place."""
        return replace(self, category_spend=dict(self.category_spend))

    def recency_days(self, now: datetime) -> float:
        """Days since the last order; NaN when there is none (XGBoost reads NaN as missing)."""
        return (
            math.nan if self.last_order_at is None else max((now - self.last_order_at).total_seconds() / 86400.0, 0.0)
        )

    def affinity(self, category: str | None) -> float:
        """Share of the customer's spend that went to ``category`` (0 when unknown)."""
        total = sum(self.category_spend.values())
        return self.category_spend.get(category or "", 0) / total if total > 0 else 0.0

    @property
    def deal_share(self) -> float:
        """Share of orders that carried a discount or a promotion: how deal-driven the customer is."""
        return self.deal_orders / self.orders if self.orders else 0.0


def summarize_orders(orders: Iterable[Mapping], products: Mapping[str, Product]) -> CustomerHistory:
    history = CustomerHistory()
    for order in orders:
        history.add(order, products)
    return history


class OrderHistory:
    """Every customer's ``CustomerHistory`` and every SKU's popularity, as of the last refresh.

    ``refresh`` rebuilds everything from one scan at the first call, every ``FULL_REBUILD_EVERY``
    and after an erasure; otherwise it reads only the orders ingested since the last refresh and
    publishes new ``CustomerHistory`` objects for the customers they touch (the others stay the very
    same objects), swapping the dict whole. One thread refreshes; any thread reads.
    """

    def __init__(self, db: Database, catalog: Catalog, lookback_days: int) -> None:
        self._db = db
        self._catalog = catalog
        self._lookback = timedelta(days=lookback_days)
        self._customers: dict[str, CustomerHistory] = {}
        self._popularity: dict[str, float] = {}
        self.loaded_at: datetime | None = None
        self.load_seconds: float = 0.0
        self._forgotten: dict[str, float] = {}  # erased customer -> when (monotonic); see ``forget``
        self._forget_lock = threading.Lock()
        self._units: defaultdict[str, int] = defaultdict(int)  # units sold per SKU: what popularity is computed from
        self._rebuilt_at: datetime | None = None  # ``now`` of the last full rebuild
        self._watermark = EPOCH  # the latest ``ingested_at`` read
        self._recent: dict[
            object, datetime
        ] = {}  # ``_id`` -> ``ingested_at`` of the orders read within INGEST_OVERLAP of the watermark

    def refresh(self, now: datetime | None = None) -> None:
        """Bring the snapshot up to date and swap it in whole (readers never see half of it); ``loaded_at``
        changes only when the snapshot did, so nothing downstream is rebuilt for a refresh that found nothing."""
        started = time.perf_counter()
        began = time.monotonic()
        now = now or datetime.now(timezone.utc)
        full = self._rebuilt_at is None or now - self._rebuilt_at >= FULL_REBUILD_EVERY or bool(self._forgotten)
        products = self._catalog.products
        applied = self._rebuild(now, products, began) if full else self._catch_up(now, products)
        self.load_seconds = time.perf_counter() - started
        log.info(
            "order history: %s applied %d orders in %.3fs (%d customers from the last %d days)",
            "full rebuild" if full else "incremental refresh",
            applied,
            self.load_seconds,
            len(self._customers),
            self._lookback.days,
        )

    def _rebuild(self, now: datetime, products: Mapping[str, Product], began: float) -> int:
        """Summarize every order of the lookback afresh: where orders age out, and orders without ``ingested_at`` come
        in.
        """
        latest = self._db[read_models.ORDERS].find_one(
            {"ingested_at": {"$exists": True}}, {"ingested_at": 1}, sort=[("ingested_at", DESCENDING)]
        )
        self._watermark = latest["ingested_at"] if latest else EPOCH  # so the scan keeps only the ``_id``s near it
        self._recent = {}
        self._units = defaultdict(int)
        customers: dict[str, CustomerHistory] = defaultdict(CustomerHistory)
        applied = 0
        for order in self._db[read_models.ORDERS].find(
            {"occurred_at": {"$gte": now - self._lookback}}, HISTORY_PROJECTION
        ):
            self._mark_read(order)
            customers[order["customer_id"]].add(order, products)
            self._count_units(order)
            applied += 1
        self._drop_old_recent()
        self._publish_popularity()
        with self._forget_lock:
            for customer_id in self._forgotten:
                customers.pop(customer_id, None)
            self._customers = dict(customers)
            self._forgotten = {c: at for c, at in self._forgotten.items() if at >= began}  # later scans saw the erasure
        self._rebuilt_at = self.loaded_at = now
        return applied

    def _catch_up(self, now: datetime, products: Mapping[str, Product]) -> int:
        """Add the orders ingested since the last refresh, each once, to copies of the summaries they change.

        Queries ``ingested_at`` alone, so MongoDB answers from its index (the lookback is checked here)."""
        oldest = now - self._lookback
        changed: dict[str, CustomerHistory] = {}
        applied = 0
        for order in self._db[read_models.ORDERS].find(
            {"ingested_at": {"$gt": self._watermark - INGEST_OVERLAP}}, HISTORY_PROJECTION
        ):
            if not self._mark_read(order) or order["occurred_at"] < oldest:
                continue
            customer_id = order["customer_id"]
            if customer_id not in changed:
                published = self._customers.get(customer_id)
                changed[customer_id] = published.copy() if published else CustomerHistory()
            changed[customer_id].add(order, products)
            self._count_units(order)
            applied += 1
        self._drop_old_recent()
        if not applied:
            return 0
        self._publish_popularity()
        with self._forget_lock:
            customers = self._customers | changed
            for customer_id in self._forgotten:  # erased while this read ran
                customers.pop(customer_id, None)
            self._customers = customers
        self.loaded_at = now
        return applied

    def _mark_read(self, order: Mapping) -> bool:
        """Whether ``order`` is read for the first time; keeps its ``_id`` while within INGEST_OVERLAP of the
        watermark."""
        order_id, at = order["_id"], order.get("ingested_at")
        if order_id in self._recent:
            return False
        if at is not None and at > self._watermark - INGEST_OVERLAP:
            self._recent[order_id] = at
            self._watermark = max(self._watermark, at)
        return True

    def _drop_old_recent(self) -> None:
        """Forget the ``_id``s the next read (from the watermark minus the overlap) can no longer return."""
        oldest = self._watermark - INGEST_OVERLAP
        self._recent = {order_id: at for order_id, at in self._recent.items() if at > oldest}

    def _count_units(self, order: Mapping) -> None:
        for line in order.get("lines", ()):
            self._units[line.get("sku", "")] += int(line.get("quantity", 0))

    def _publish_popularity(self) -> None:
        best = max(self._units.values(), default=0)
        self._popularity = {sku: n / best for sku, n in self._units.items()} if best else {}

    def customer(self, customer_id: str) -> CustomerHistory | None:
        return self._customers.get(customer_id)

    def forget(self, customer_id: str) -> bool:
        """Drop an erased customer's summary, also from a refresh already reading (call after the orders are
        anonymized).

        The next refresh is a full rebuild: the anonymized orders kept their ``ingested_at``, so only a full
        scan files them under their tombstone, and only a scan begun after the erasure lets it be forgotten."""
        with self._forget_lock:
            self._forgotten[customer_id] = time.monotonic()
            return self._customers.pop(customer_id, None) is not None

    def customer_ids(self) -> list[str]:
        """Every customer of the snapshot (whose scores the engine computes ahead of requests)."""
        return list(self._customers)

    def popularity(self, sku: str) -> float:
        """Units sold relative to the best seller over the lookback: 1.0 = the best seller, 0 = unsold."""
        return self._popularity.get(sku, 0.0)

    @property
    def customers(self) -> int:
        return len(self._customers)


# --- clicks: what the customer is doing right now ---------------------------------------------------


@dataclass(frozen=True)
class ClickRecord:
    occurred_at: datetime
    action: str
    sku: str | None
    event_id: str = ""


@dataclass(frozen=True)
class RecentActivity:
    """Intent read from recent clicks: SKUs looked at, SKUs sitting in a cart with no checkout since."""

    clicks: int = 0
    viewed: frozenset[str] = frozenset()
    in_cart: frozenset[str] = frozenset()


NO_ACTIVITY = RecentActivity()


def summarize_clicks(clicks: Iterable[ClickRecord]) -> RecentActivity:
    """Replay clicks in time order: add_to_cart puts a SKU in the cart, remove_from_cart takes it
    out, checkout empties it; whatever is left was added and not bought — an abandoned cart."""
    ordered = sorted(clicks, key=lambda c: c.occurred_at)
    viewed: set[str] = set()
    cart: set[str] = set()
    for click in ordered:
        if click.action == "checkout":
            cart.clear()
        elif click.sku is None:
            continue
        elif click.action == "add_to_cart":
            cart.add(click.sku)
        elif click.action == "remove_from_cart":
            cart.discard(click.sku)
        elif click.action in ("view", "promo_click"):
            viewed.add(click.sku)
    return RecentActivity(len(ordered), frozenset(viewed), frozenset(cart)) if ordered else NO_ACTIVITY


class RecentClicks(Protocol):
    def activity(self, customer_id: str, now: datetime) -> RecentActivity: ...

    def forget(self, customer_id: str) -> int: ...

    def customer_ids(self) -> list[str]: ...

    def changed(self, now: datetime) -> set[str]: ...


class ClickWindow:
    """The last ``minutes`` of clicks per customer, in memory; fed by a stream tail and a backfill.

    ``add`` ignores an event id it already holds, so the backfill from MongoDB and the tail of the
    topic may overlap freely.
    """

    def __init__(self, minutes: int) -> None:
        self.window = timedelta(minutes=minutes)
        self._clicks: dict[str, deque[ClickRecord]] = defaultdict(deque)
        self._seen: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self._erased: dict[str, datetime] = {}  # customer -> erased at: older clicks re-read from the topic stay out
        self._expiries: list[tuple[datetime, str]] = []  # heap: when a held click leaves the window, whose
        self._touched: set[str] = set()  # customers with a click added since the last ``changed``
        self.added = 0

    def add(self, customer_id: str, click: ClickRecord, now: datetime | None = None) -> bool:
        now = now or datetime.now(timezone.utc)
        if click.occurred_at < now - self.window:
            return False
        erased_at = self._erased.get(customer_id)
        if erased_at is not None and click.occurred_at <= erased_at:
            return False
        with self._lock:
            if click.event_id and click.event_id in self._seen:
                return False
            if click.event_id:
                self._seen[click.event_id] = click.occurred_at
            self._clicks[customer_id].append(click)
            heapq.heappush(self._expiries, (click.occurred_at + self.window, customer_id))
            self._touched.add(customer_id)
            self.added += 1
        return True

    def changed(self, now: datetime) -> set[str]:
        """Customers whose recent activity changed since the last call: a click came in, or one left the window.

        For the scorer thread: it re-scores them within a poll, instead of their next request missing the
        score cache and paying the model call on the event loop. Erased customers are left out (unless
        they clicked again since).
        """
        with self._lock:
            changed, self._touched = self._touched, set()
            while self._expiries and self._expiries[0][0] < now:
                changed.add(heapq.heappop(self._expiries)[1])
            return {
                customer_id for customer_id in changed if customer_id in self._clicks or customer_id not in self._erased
            }

    def activity(self, customer_id: str, now: datetime) -> RecentActivity:
        cutoff = now - self.window
        with self._lock:
            clicks = [c for c in self._clicks.get(customer_id, ()) if c.occurred_at >= cutoff]
        return summarize_clicks(clicks)

    def prune(self, now: datetime | None = None) -> int:
        """Forget clicks older than the window; returns how many were dropped."""
        cutoff = (now or datetime.now(timezone.utc)) - self.window
        dropped = 0
        with self._lock:
            for customer_id in list(self._clicks):
                kept = deque(c for c in self._clicks[customer_id] if c.occurred_at >= cutoff)
                dropped += len(self._clicks[customer_id]) - len(kept)
                if kept:
                    self._clicks[customer_id] = kept
                else:
                    del self._clicks[customer_id]
            self._seen = {event_id: at for event_id, at in self._seen.items() if at >= cutoff}
            self._erased = {customer_id: at for customer_id, at in self._erased.items() if at >= cutoff}
            # what ``changed`` would report stays bounded when nobody asks (no scorer:
            # SHELFCAST_PROMOTION_SCORE_TTL_S=0)
            while self._expiries and self._expiries[0][0] < cutoff:  # left the window over a window ago
                heapq.heappop(self._expiries)
            self._touched &= self._clicks.keys()
        return dropped

    def forget(self, customer_id: str, now: datetime | None = None) -> int:
        """Drop an erased customer's clicks; clicks of theirs up to ``now`` are refused if the tail re-reads them."""
        with self._lock:
            self._erased[customer_id] = now or datetime.now(timezone.utc)
            return len(self._clicks.pop(customer_id, ()))

    def customer_ids(self) -> list[str]:
        """Customers with clicks held (their scores are computed ahead too: many have no orders yet)."""
        with self._lock:
            return list(self._clicks)

    def __len__(self) -> int:
        with self._lock:
            return sum(len(d) for d in self._clicks.values())


def click_record(doc: Mapping) -> ClickRecord:
    """A stored click document (or an event dumped to a dict) as a ``ClickRecord``."""
    action = doc["action"]
    return ClickRecord(
        doc["occurred_at"],
        getattr(action, "value", action),
        doc.get("sku"),
        str(doc.get("_id") or doc.get("event_id") or ""),
    )


class MongoRecentClicks:
    """Per-request query of the stored clicks: fine on MongoDB with the ``customer_id`` index."""

    def __init__(self, db: Database, minutes: int) -> None:
        self._collection = db[read_models.CLICKS]
        self.window = timedelta(minutes=minutes)

    def activity(self, customer_id: str, now: datetime) -> RecentActivity:
        docs = self._collection.find(
            {"customer_id": customer_id, "occurred_at": {"$gte": now - self.window}},
            {"action": 1, "sku": 1, "occurred_at": 1},
        )
        return summarize_clicks(click_record(doc) for doc in docs)

    def forget(self, customer_id: str) -> int:
        """Nothing is held in memory: erasure deletes the stored clicks this reads."""
        return 0

    def customer_ids(self) -> list[str]:
        """None known ahead: clicks are read per request."""
        return []

    def changed(self, now: datetime) -> set[str]:
        """Nothing is scored ahead with per-request clicks."""
        return set()


# --- the feature table the uplift model reads --------------------------------------------------------

CUSTOMER_COLUMNS = ("recency_days", "frequency", "monetary_cents", "avg_order_cents", "deal_share", "recent_clicks")
CANDIDATE_COLUMNS = (
    "category_affinity",
    "viewed_sku",
    "sku_in_cart",
    "discount_frac",
    "is_bogo",
    "is_amount_off",
    "is_category_scope",
    "price_cents",
    "margin_rate",
)
FEATURE_COLUMNS: tuple[str, ...] = CUSTOMER_COLUMNS + CANDIDATE_COLUMNS


def customer_vector(history: CustomerHistory | None, activity: RecentActivity, now: datetime) -> list[float]:
    """The customer half of a feature row (``CUSTOMER_COLUMNS``)."""
    h = history or CustomerHistory()
    return [
        h.recency_days(now),
        float(h.orders),
        float(h.monetary_cents),
        h.monetary_cents / h.orders if h.orders else 0.0,
        h.deal_share,
        float(activity.clicks),
    ]


@dataclass(frozen=True)
class CandidateFacts:
    """The promotion-and-SKU half of a feature row (``CANDIDATE_COLUMNS``), before the customer is known."""

    category: str | None
    sku: str | None
    discount_frac: float
    promotion_type: str | None
    category_scope: bool
    price_cents: float
    cost_cents: float


def candidate_vector(facts: CandidateFacts, history: CustomerHistory | None, activity: RecentActivity) -> list[float]:
    h = history or CustomerHistory()
    price = facts.price_cents
    margin_rate = (price - facts.cost_cents) / price if price and not math.isnan(price) and price > 0 else math.nan
    kind = facts.promotion_type
    return [
        h.affinity(facts.category),
        float(facts.sku in activity.viewed),
        float(facts.sku in activity.in_cart),
        facts.discount_frac,
        math.nan if kind is None else float(kind == "bogo"),
        math.nan if kind is None else float(kind == "amount_off"),
        float(facts.category_scope),
        price,
        margin_rate,
    ]


def feature_matrix(
    customer: Sequence[float],
    candidates: Sequence[CandidateFacts],
    history: CustomerHistory | None,
    activity: RecentActivity,
) -> np.ndarray:
    """One row per candidate: the customer's columns repeated, then each candidate's."""
    rows = [list(customer) + candidate_vector(c, history, activity) for c in candidates]
    return np.asarray(rows, dtype=np.float64).reshape(len(candidates), len(FEATURE_COLUMNS))


def history_before(
    orders: Sequence[Mapping],
    times: Sequence[datetime],
    at: datetime,
    lookback: timedelta,
    products: Mapping[str, Product],
) -> CustomerHistory:
    """History from ``orders`` (sorted by time, ``times`` their timestamps) in ``[at - lookback, at)``: training
    rows."""
    lo = bisect.bisect_left(times, at - lookback)
    hi = bisect.bisect_left(times, at)
    return summarize_orders(orders[lo:hi], products)
