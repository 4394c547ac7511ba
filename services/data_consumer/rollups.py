"""Sales rollups: per day × SKU × store × channel (forecasts read these), and summaries per day and
per month × store × channel (the dashboard reads these).

Category, sub-category and region are copied in so dashboard filters need no joins. The summaries
exist because the embedded Mongo-protocol server scans a whole collection for any query other than
by ``_id``: a page over 30 days then touches ~900 small summary documents, and a page over two years
~700 month documents plus the days at its ends, instead of every per-SKU rollup ever written. Both
are written through the same watermarked effects, so a redelivered message is counted once.
"""

from __future__ import annotations

from functools import partial

from services.common import read_models
from services.common.events import OrderLine, OrderPlaced, ReturnReceived
from services.common.read_models import SummaryItem, rollup_id, summary_ids
from services.data_consumer.records import Accepted
from services.data_consumer.validation import CatalogCache
from services.data_consumer.watermarks import Effect, SideDocument


def new_rollup_document(doc_id: str, catalog: CatalogCache) -> dict:
    day, sku, store_id, channel = doc_id.split("|")
    return read_models.new_rollup_document(
        day, sku, store_id, channel, catalog.product(sku), (catalog.store(store_id) or {}).get("region")
    )


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
            Effect(
                rollup_id(day, line.sku, event.store_id, channel),
                source,
                partial(_add_sale, line=line, unit_cost_cents=catalog.product(line.sku)["cost_cents"]),
            )  # type: ignore[index]
            for line in event.lines
        ]
    if isinstance(event, ReturnReceived):
        return [
            Effect(
                rollup_id(day, event.sku, event.store_id, channel),
                source,
                partial(_add_return, quantity=event.quantity, refund_cents=event.refund_cents),
            )
        ]
    return []


def new_summary_document(doc_id: str, catalog: CatalogCache) -> dict:
    period, store_id, channel = doc_id.split("|")
    return read_models.new_summary_document(period, store_id, channel, (catalog.store(store_id) or {}).get("region"))


def add_to_summary(state: dict, items: list[SummaryItem]) -> list[SideDocument]:
    read_models.add_to_summary(state, items)
    return []


def summary_effects(accepted: Accepted, catalog: CatalogCache) -> list[Effect]:
    """One effect per message on its day summary and one on its month summary (all order lines at once)."""
    event, source = accepted.event, accepted.source
    if isinstance(event, OrderPlaced):
        items = []
        for line in event.lines:
            product = catalog.product(line.sku) or {}
            counts = {
                "units": line.quantity,
                "revenue_cents": line.revenue_cents,
                "cost_cents": line.quantity * product.get("cost_cents", 0),
                "discount_cents": line.discount_cents,
            }
            items.append(
                SummaryItem(
                    line.sku,
                    product.get("category"),
                    counts,
                    read_models.discount_band(line.discount_cents, line.quantity * line.unit_price_cents),
                )
            )
    elif isinstance(event, ReturnReceived):
        product = catalog.product(event.sku) or {}
        items = [
            SummaryItem(
                event.sku,
                product.get("category"),
                {"returned_units": event.quantity, "refund_cents": event.refund_cents},
            )
        ]
    else:
        return []
    apply = partial(add_to_summary, items=items)
    return [
        Effect(doc_id, source, apply)
        for doc_id in summary_ids(event.occurred_at.strftime("%Y-%m-%d"), event.store_id, event.channel.value)
    ]
