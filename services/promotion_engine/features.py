"""Customer features: RFM and category affinity from orders, intent from the last minutes of clicks.

The same functions summarize a customer for serving (history up to now) and for training (history
up to each exposure, so no row sees its own future). Where the data lives and how fresh it is:

- **Orders** change a customer's RFM slowly; ``OrderHistory`` keeps an in-memory snapshot of
  every customer's summary, reloaded every ``history_refresh_s`` (one scan of the orders of the
  last ``history_days``). Measured on mongo-java-server, a per-request ``find({customer_id})``
  over 20k orders took 8 ms p50 / 20 ms p90 (it ignores the customer index and scans), the whole
  snapshot load of 20k orders well under a second.
- **Clicks** must change the answer within seconds. ``ClickWindow`` holds the last
  ``recent_clicks_minutes`` per customer in memory, fed from the clicks topic by
  ``click_stream.ClickStreamTail`` (a per-request scan of 50k stored clicks measured 21 ms p50 /
  91 ms p90). ``MongoRecentClicks`` is the per-request query alternative for a real MongoDB, where
  the ``customer_id`` index makes it cheap.
"""
from __future__ import annotations

import bisect
import logging
import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Protocol

import numpy as np
from pymongo.database import Database

from services.common import store
from services.promotion_engine.catalog import Catalog, Product

log = logging.getLogger(__name__)

ORDER_PROJECTION = {"customer_id": 1, "occurred_at": 1, "revenue_cents": 1, "discount_cents": 1, "promotion_id": 1, "lines": 1}


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
                self.category_spend[product.category] = self.category_spend.get(product.category, 0) + int(line.get("revenue_cents", 0))

    def recency_days(self, now: datetime) -> float:
        """Days since the last order; NaN when there is none (XGBoost reads NaN as missing)."""
        return math.nan if self.last_order_at is None else max((now - self.last_order_at).total_seconds() / 86400.0, 0.0)

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
    """Every customer's ``CustomerHistory`` and every SKU's popularity, as of the last (re)load."""

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

    def refresh(self, now: datetime | None = None) -> None:
        """Rebuild the snapshot from MongoDB and swap it in whole (readers never see half of it)."""
        started = time.perf_counter()
        began = time.monotonic()
        now = now or datetime.now(timezone.utc)
        products = self._catalog.products
        customers: dict[str, CustomerHistory] = defaultdict(CustomerHistory)
        units: dict[str, int] = defaultdict(int)
        for order in self._db[store.ORDERS].find({"occurred_at": {"$gte": now - self._lookback}}, ORDER_PROJECTION):
            customers[order["customer_id"]].add(order, products)
            for line in order.get("lines", ()):
                units[line.get("sku", "")] += int(line.get("quantity", 0))
        best = max(units.values(), default=0)
        self._popularity = {sku: n / best for sku, n in units.items()} if best else {}
        with self._forget_lock:
            for customer_id in self._forgotten:
                customers.pop(customer_id, None)
            self._customers = dict(customers)
            self._forgotten = {c: at for c, at in self._forgotten.items() if at >= began}  # later scans saw the erasure
        self.loaded_at = now
        self.load_seconds = time.perf_counter() - started
        log.info("order history: %d customers from the last %d days loaded in %.2fs", len(self._customers), self._lookback.days, self.load_seconds)

    def customer(self, customer_id: str) -> CustomerHistory | None:
        return self._customers.get(customer_id)

    def forget(self, customer_id: str) -> bool:
        """Drop an erased customer's summary, also from a reload already scanning (call after the orders are anonymized)."""
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
            self.added += 1
        return True

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
        return dropped

    def forget(self, customer_id: str, now: datetime | None = None) -> int:
        """Drop an erased customer's clicks; clicks of theirs up to ``now`` are refused if the tail re-reads them."""
        with self._lock:
            self._erased[customer_id] = now or datetime.now(timezone.utc)
            return len(self._clicks.pop(customer_id, ()))

    def __len__(self) -> int:
        with self._lock:
            return sum(len(d) for d in self._clicks.values())


def click_record(doc: Mapping) -> ClickRecord:
    """A stored click document (or an event dumped to a dict) as a ``ClickRecord``."""
    action = doc["action"]
    return ClickRecord(doc["occurred_at"], getattr(action, "value", action), doc.get("sku"), str(doc.get("_id") or doc.get("event_id") or ""))


class MongoRecentClicks:
    """Per-request query of the stored clicks: fine on MongoDB with the ``customer_id`` index."""

    def __init__(self, db: Database, minutes: int) -> None:
        self._collection = db[store.CLICKS]
        self.window = timedelta(minutes=minutes)

    def activity(self, customer_id: str, now: datetime) -> RecentActivity:
        docs = self._collection.find({"customer_id": customer_id, "occurred_at": {"$gte": now - self.window}},
                                     {"action": 1, "sku": 1, "occurred_at": 1})
        return summarize_clicks(click_record(doc) for doc in docs)

    def forget(self, customer_id: str) -> int:
        """Nothing is held in memory: erasure deletes the stored clicks this reads."""
        return 0


# --- the feature table the uplift model reads --------------------------------------------------------

CUSTOMER_COLUMNS = ("recency_days", "frequency", "monetary_cents", "avg_order_cents", "deal_share", "recent_clicks")
CANDIDATE_COLUMNS = ("category_affinity", "viewed_sku", "sku_in_cart", "discount_frac", "is_bogo", "is_amount_off",
                     "is_category_scope", "price_cents", "margin_rate")
FEATURE_COLUMNS: tuple[str, ...] = CUSTOMER_COLUMNS + CANDIDATE_COLUMNS


def customer_vector(history: CustomerHistory | None, activity: RecentActivity, now: datetime) -> list[float]:
    """The customer half of a feature row (``CUSTOMER_COLUMNS``)."""
    h = history or CustomerHistory()
    return [h.recency_days(now), float(h.orders), float(h.monetary_cents), h.monetary_cents / h.orders if h.orders else 0.0,
            h.deal_share, float(activity.clicks)]


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
    return [h.affinity(facts.category), float(facts.sku in activity.viewed), float(facts.sku in activity.in_cart), facts.discount_frac,
            math.nan if kind is None else float(kind == "bogo"), math.nan if kind is None else float(kind == "amount_off"),
            float(facts.category_scope), price, margin_rate]


def feature_matrix(customer: Sequence[float], candidates: Sequence[CandidateFacts], history: CustomerHistory | None,
                   activity: RecentActivity) -> np.ndarray:
    """One row per candidate: the customer's columns repeated, then each candidate's."""
    rows = [list(customer) + candidate_vector(c, history, activity) for c in candidates]
    return np.asarray(rows, dtype=np.float64).reshape(len(candidates), len(FEATURE_COLUMNS))


def history_before(orders: Sequence[Mapping], times: Sequence[datetime], at: datetime, lookback: timedelta,
                   products: Mapping[str, Product]) -> CustomerHistory:
    """History from ``orders`` (sorted by time, ``times`` their timestamps) in ``[at - lookback, at)``: training rows."""
    lo = bisect.bisect_left(times, at - lookback)
    hi = bisect.bisect_left(times, at)
    return summarize_orders(orders[lo:hi], products)
