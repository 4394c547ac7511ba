"""Daily sales rollups per SKU × store × channel: what forecasts and the dashboard read.

Category, sub-category and region are copied in so dashboard filters need no joins.
"""
from __future__ import annotations

from datetime import datetime, timezone
from functools import partial

from services.common.events import OrderLine, OrderPlaced, ReturnReceived
from services.data_consumer.records import Accepted
from services.data_consumer.validation import CatalogCache
from services.data_consumer.watermarks import Effect, SideDocument

COUNTERS = ("units", "revenue_cents", "cost_cents", "discount_cents", "order_lines", "returned_units", "refund_cents")


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
