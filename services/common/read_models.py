"""Every stored document's collection, id and fields, in one place.

The data consumer writes these documents, the APIs and the dashboard read them, and the benchmark
seeders build them with the same functions, so a change to how something is stored starts and ends
here. Indexes and the client live in ``store.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

# Events, one document each, keyed by event_id (written by the data consumer).
ORDERS = "orders"
CLICKS = "clicks"
RETURNS = "returns"
RESTOCKS = "restocks"
EXPOSURES = "exposures"
# The catalog: latest version of each product and store.
PRODUCTS = "products"
STORES = "stores"
# What the consumer derives: stock per SKU × store, its ledger, sales rollups, alerts, its own status.
STOCK = "stock"
STOCK_LEDGER = "stock_ledger"
DAILY_SALES = "daily_sales"  # per day × SKU × store × channel (forecasts read these)
SALES_SUMMARY = "sales_summary"  # per day and per month × store × channel (the dashboard reads these)
ALERTS = "alerts"
CONSUMER_STATUS = "consumer_status"  # one document per consumer process: rate, lag, last batch
PRIVACY_AUDIT = "privacy_audit"
SERVICE_STATUS = "service_status"  # one document per service `shelfcast up` supervises: state, pid, restarts
# The promotion engine's own state.
PROMOTIONS = "promotions"
PROMOTION_TRAINING = "promotion_training"  # one document, the training slot and status
PROMOTION_FREQUENCY = "promotion_frequency"  # serve counters, a document per customer and day
PROMOTION_FREQUENCY_JOURNAL = "promotion_frequency_journal"  # recent serves, many customers a document
# Trained models of both services (see model_registry.py).
MODEL_VERSIONS = "model_versions"
ACTIVE_MODELS = "active_models"

ROLLUP_COUNTERS = (
    "units",
    "revenue_cents",
    "cost_cents",
    "discount_cents",
    "order_lines",
    "returned_units",
    "refund_cents",
)
SUMMARY_SKU_COUNTERS = ("units", "revenue_cents", "cost_cents", "returned_units")
SUMMARY_CATEGORY_COUNTERS = ("units", "revenue_cents", "cost_cents", "discount_cents", "returned_units", "refund_cents")
SUMMARY_DISCOUNT_COUNTERS = ("revenue_cents", "cost_cents")
DISCOUNT_BAND_LABELS = ("no discount", "0–10%", "10–20%", "20–30%", "30–40%", "40%+")
"""Band 0: no discount; band k ≥ 1: discount of (k − 1)·10 % up to k·10 % of the list price; the last band takes
anything
above.
"""


def stock_id(sku: str, store_id: str) -> str:
    """Stock documents are keyed by SKU and store so updates need no lookup."""
    return f"{sku}|{store_id}"


def rollup_id(day: str, sku: str, store_id: str, channel: str) -> str:
    return f"{day}|{sku}|{store_id}|{channel}"


def summary_ids(day: str, store_id: str, channel: str) -> tuple[str, str]:
    """The day summary and the month summary that an event on ``day`` (YYYY-MM-DD) adds to."""
    return f"{day}|{store_id}|{channel}", f"{day[:7]}|{store_id}|{channel}"


def discount_band(discount_cents: int, list_cents: int) -> int:
    """Which band an order line's discount falls in, as a share of its list price (quantity × unit price)."""
    if discount_cents <= 0:
        return 0
    return min(discount_cents * 10 // max(list_cents, 1) + 1, len(DISCOUNT_BAND_LABELS) - 1)


def stock_status(on_hand: int, threshold: int) -> str:
    if on_hand <= 0:
        return "out"
    return "low" if on_hand <= threshold else "ok"


def new_stock_document(sku: str, store_id: str, reorder_threshold: int, on_hand: int = 0, **counters: Any) -> dict:
    """A stock position; ``counters`` (sold, received, returned, backordered units, updated_at) default to none yet."""
    return {
        "_id": stock_id(sku, store_id),
        "sku": sku,
        "store_id": store_id,
        "on_hand": on_hand,
        "sold_units": 0,
        "received_units": 0,
        "returned_units": 0,
        "backordered_units": 0,
        "reorder_threshold": reorder_threshold,
        "status": stock_status(on_hand, reorder_threshold),
        "updated_at": None,
    } | counters


def new_rollup_document(
    day: str, sku: str, store_id: str, channel: str, product: dict | None, region: str | None
) -> dict:
    """A zeroed daily rollup; category, sub-category and region are copied in so readers need no joins."""
    product = product or {}
    return {
        "_id": rollup_id(day, sku, store_id, channel),
        "day": day,
        "date": datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=timezone.utc),
        "sku": sku,
        "store_id": store_id,
        "channel": channel,
        "category": product.get("category"),
        "sub_category": product.get("sub_category"),
        "region": region,
        **{counter: 0 for counter in ROLLUP_COUNTERS},
    }


def new_summary_document(period: str, store_id: str, channel: str, region: str | None) -> dict:
    """An empty day (``period`` YYYY-MM-DD) or month (YYYY-MM) summary.

    Entries are tables of equal-length columns (one row per SKU, category or category × band), not
    maps keyed by SKU or category (those may contain dots) nor one sub-document per row (several
    times the server's memory).
    """
    return {
        "_id": f"{period}|{store_id}|{channel}",
        "grain": "day" if len(period) == 10 else "month",
        "period": period,
        "store_id": store_id,
        "channel": channel,
        "region": region,
        "skus": {c: [] for c in ("sku", *SUMMARY_SKU_COUNTERS)},
        "categories": {c: [] for c in ("category", *SUMMARY_CATEGORY_COUNTERS)},
        "discounts": {c: [] for c in ("category", "band", *SUMMARY_DISCOUNT_COUNTERS)},
    }


@dataclass(frozen=True)
class SummaryItem:
    """What one order line or return adds to a summary; ``band`` is None for returns (no sale price)."""

    sku: str
    category: str | None
    counts: dict[str, int]
    band: int | None = None


def add_to_summary(summary: dict, items: list[SummaryItem]) -> None:
    """Fold items into the SKU, category and discount-band rows of one summary document."""
    for item in items:
        _add_row(summary["skus"], {"sku": item.sku}, item.counts)
        _add_row(summary["categories"], {"category": item.category}, item.counts)
        if item.band is not None:
            _add_row(summary["discounts"], {"category": item.category, "band": item.band}, item.counts)


def append_summary_rows(summary: dict, table: str, rows: list[dict]) -> None:
    """Append pre-summed rows (unique keys, as a bulk seeder computes them) to one table of a summary; absent counters
    are
    0.
    """
    columns = summary[table]
    for row in rows:
        for column, values in columns.items():
            values.append(row.get(column, 0))


def _add_row(table: dict[str, list], key: dict, counts: dict[str, int]) -> None:
    """Add ``counts`` to the row whose key columns equal ``key`` (appended, zeroed, when there is none)."""
    first = next(iter(key))
    index = next(
        (
            i
            for i, value in enumerate(table[first])
            if value == key[first] and all(table[k][i] == v for k, v in key.items())
        ),
        None,
    )
    if index is None:
        for column, values in table.items():
            values.append(key.get(column, 0))
        index = len(table[first]) - 1
    for column, value in counts.items():
        if column in table and column not in key:
            table[column][index] += value


def ledger_entry(stock: dict, event_id: str, line: int, kind: str, requested: int, moved: int, at: datetime) -> dict:
    """One stock move, keyed by the event and its line so a replay rewrites the same entry."""
    return {
        "_id": f"{event_id}:{line}",
        "sku": stock["sku"],
        "store_id": stock["store_id"],
        "event_id": event_id,
        "kind": kind,
        "requested": requested,
        "moved": moved,
        "on_hand_after": stock["on_hand"],
        "occurred_at": at,
    }


def service_status_document(
    host: str,
    service: str,
    state: str,
    pid: int | None,
    restarts: int,
    last_exit_code: int | None,
    since: datetime,
    at: datetime,
) -> dict:
    """A supervised service as its supervisor sees it; ``state`` is up, restarting, failed or stopped.

    Keyed by host and service so supervisors on several machines can share one database; ``updated_at``
    is the supervisor's heartbeat, so a reader can tell a live report from one left by a stopped stack.
    """
    return {
        "_id": f"{host}/{service}",
        "host": host,
        "service": service,
        "state": state,
        "pid": pid,
        "restarts": restarts,
        "last_exit_code": last_exit_code,
        "since": since,
        "updated_at": at,
    }


def alert_document(stock: dict, event_id: str, kind: str, message: str, at: datetime) -> dict:
    """A stock alert (``low_stock``, ``out_of_stock``, ``backorder``), one per event and position."""
    return {
        "_id": f"{kind}:{event_id}:{stock['sku']}:{stock['store_id']}",
        "kind": kind,
        "sku": stock["sku"],
        "store_id": stock["store_id"],
        "on_hand": stock["on_hand"],
        "threshold": stock["reorder_threshold"],
        "event_id": event_id,
        "message": message,
        "created_at": at,
    }
