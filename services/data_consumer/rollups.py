"""Sales rollups: per day × SKU × store × channel (forecasts read these), and summaries per day and
per month × store × channel (the dashboard reads these).

Category, sub-category and region are copied in so dashboard filters need no joins. The summaries
exist because the embedded Mongo-protocol server scans a whole collection for any query other than
by ``_id``: a page over 30 days then touches ~900 small summary documents, and a page over two years
~700 month documents plus the days at its ends, instead of every per-SKU rollup ever written. Both
are written through the same watermarked effects, so a redelivered message is counted once.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial

from services.common.events import OrderLine, OrderPlaced, ReturnReceived
from services.data_consumer.records import Accepted
from services.data_consumer.validation import CatalogCache
from services.data_consumer.watermarks import Effect, SideDocument

COUNTERS = ("units", "revenue_cents", "cost_cents", "discount_cents", "order_lines", "returned_units", "refund_cents")
SUMMARY_SKU_COUNTERS = ("units", "revenue_cents", "cost_cents", "returned_units")
SUMMARY_CATEGORY_COUNTERS = ("units", "revenue_cents", "cost_cents", "discount_cents", "returned_units", "refund_cents")
DISCOUNT_BAND_COUNT = 6
"""Band 0: no discount; band k ≥ 1: discount of (k − 1)·10 % up to k·10 % of the list price; band 5 also takes anything above."""


def rollup_id(day: str, sku: str, store_id: str, channel: str) -> str:
    return f"{day}|{sku}|{store_id}|{channel}"


def new_rollup_document(doc_id: str, catalog: CatalogCache) -> dict:
    day, sku, store_id, channel = doc_id.split("|")
    product = catalog.product(sku) or {}
    location = catalog.store(store_id) or {}
    return {
        "_id": doc_id, "day": day, "date": datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=timezone.utc), "sku": sku,
        "store_id": store_id, "channel": channel, "category": product.get("category"), "sub_category": product.get("sub_category"),
        "region": location.get("region"), **{counter: 0 for counter in COUNTERS},
    }


def _add_sale(state: dict, line: OrderLine, unit_cost_cents: int) -> list[SideDocument]:
    state["units"] += line.quantity
    state["revenue_cents"] += line.revenue_cents
    state["cost_cents"] += line.quantity * unit_cost_cents
    state["discount_cents"] += line.discount_cents
    state["order_lines"] += 1
    return []


def _add_return(state: dict, quantity: int, refund_cents: int) -> list[SideDocument]:
    state["returned_units"] += quantity
    state["refund_cents"] += refund_cents
    return []


def rollup_effects(accepted: Accepted, catalog: CatalogCache) -> list[Effect]:
    event, source = accepted.event, accepted.source
    day = event.occurred_at.strftime("%Y-%m-%d")
    channel = event.channel.value
    if isinstance(event, OrderPlaced):
        return [
            Effect(rollup_id(day, line.sku, event.store_id, channel), source, partial(_add_sale, line=line, unit_cost_cents=catalog.product(line.sku)["cost_cents"]))  # type: ignore[index]
            for line in event.lines
        ]
    if isinstance(event, ReturnReceived):
        return [Effect(rollup_id(day, event.sku, event.store_id, channel), source, partial(_add_return, quantity=event.quantity, refund_cents=event.refund_cents))]
    return []


def summary_ids(day: str, store_id: str, channel: str) -> tuple[str, str]:
    """The day summary and the month summary that an event on ``day`` (YYYY-MM-DD) adds to."""
    return f"{day}|{store_id}|{channel}", f"{day[:7]}|{store_id}|{channel}"


def discount_band(discount_cents: int, list_cents: int) -> int:
    """Which band an order line's discount falls in, as a share of its list price (quantity × unit price)."""
    if discount_cents <= 0:
        return 0
    return min(discount_cents * 10 // max(list_cents, 1) + 1, DISCOUNT_BAND_COUNT - 1)


def new_summary_document(doc_id: str, catalog: CatalogCache) -> dict:
    """Entries are tables of equal-length columns (one row per SKU, category or category × band), not maps keyed by
    SKU or category (those may contain dots) nor one sub-document per row (several times the server's memory)."""
    period, store_id, channel = doc_id.split("|")
    location = catalog.store(store_id) or {}
    return {"_id": doc_id, "grain": "day" if len(period) == 10 else "month", "period": period, "store_id": store_id, "channel": channel,
            "region": location.get("region"), "skus": {c: [] for c in ("sku", *SUMMARY_SKU_COUNTERS)},
            "categories": {c: [] for c in ("category", *SUMMARY_CATEGORY_COUNTERS)},
            "discounts": {c: [] for c in ("category", "band", "revenue_cents", "cost_cents")}}


@dataclass(frozen=True)
class SummaryItem:
    """What one order line or return adds to a summary; ``band`` is None for returns (no sale price)."""

    sku: str
    category: str | None
    counts: dict[str, int]
    band: int | None = None


def add_to_summary(state: dict, items: list[SummaryItem]) -> list[SideDocument]:
    """Fold items into the SKU, category and discount-band rows of one summary document."""
    for item in items:
        _add_row(state["skus"], {"sku": item.sku}, item.counts)
        _add_row(state["categories"], {"category": item.category}, item.counts)
        if item.band is not None:
            _add_row(state["discounts"], {"category": item.category, "band": item.band}, item.counts)
    return []


def _add_row(table: dict[str, list], key: dict, counts: dict[str, int]) -> None:
    """Add ``counts`` to the row whose key columns equal ``key`` (appended, zeroed, when there is none); other counts are not this table's."""
    first = next(iter(key))
    index = next((i for i, value in enumerate(table[first]) if value == key[first] and all(table[k][i] == v for k, v in key.items())), None)
    if index is None:
        for column, values in table.items():
            values.append(key.get(column, 0))
        index = len(table[first]) - 1
    for column, value in counts.items():
        if column in table and column not in key:
            table[column][index] += value


def summary_effects(accepted: Accepted, catalog: CatalogCache) -> list[Effect]:
    """One effect per message on its day summary and one on its month summary (all order lines at once)."""
    event, source = accepted.event, accepted.source
    if isinstance(event, OrderPlaced):
        items = []
        for line in event.lines:
            product = catalog.product(line.sku) or {}
            counts = {"units": line.quantity, "revenue_cents": line.revenue_cents, "cost_cents": line.quantity * product.get("cost_cents", 0),
                      "discount_cents": line.discount_cents}
            items.append(SummaryItem(line.sku, product.get("category"), counts, discount_band(line.discount_cents, line.quantity * line.unit_price_cents)))
    elif isinstance(event, ReturnReceived):
        product = catalog.product(event.sku) or {}
        items = [SummaryItem(event.sku, product.get("category"), {"returned_units": event.quantity, "refund_cents": event.refund_cents})]
    else:
        return []
    apply = partial(add_to_summary, items=items)
    return [Effect(doc_id, source, apply) for doc_id in summary_ids(event.occurred_at.strftime("%Y-%m-%d"), event.store_id, event.channel.value)]
