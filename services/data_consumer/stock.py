"""Stock moves: sales take stock down (never below zero), returns and restocks put it back.

A sale larger than what is on hand sells what there is; the shortfall is recorded as a backorder
and raises an alert. Every move is written to the stock ledger with the stock level after it.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from services.common import read_models
from services.common.events import OrderPlaced, Restocked, ReturnReceived
from services.data_consumer.records import Accepted
from services.data_consumer.validation import CatalogCache
from services.data_consumer.watermarks import Effect, SideDocument


def new_stock_document(doc_id: str, catalog: CatalogCache) -> dict:
    sku, store_id = doc_id.split("|", 1)
    return read_models.new_stock_document(sku, store_id, catalog.product(sku)["reorder_threshold"])  # type: ignore[index]


def _ledger(state: dict, event_id: str, line: int, kind: str, requested: int, moved: int, at: datetime) -> SideDocument:
    return read_models.STOCK_LEDGER, read_models.ledger_entry(state, event_id, line, kind, requested, moved, at)


def _alert(state: dict, event_id: str, kind: str, message: str, at: datetime) -> SideDocument:
    return read_models.ALERTS, read_models.alert_document(state, event_id, kind, message, at)


def apply_sale(state: dict, event_id: str, line: int, quantity: int, at: datetime) -> list[SideDocument]:
    """Sell ``quantity``; stock stops at zero and the rest becomes a backorder with an alert."""
    before = state["on_hand"]
    taken = min(before, quantity)
    shortfall = quantity - taken
    state["on_hand"] = before - taken
    state["sold_units"] += taken
    state["backordered_units"] += shortfall
    state["status"] = read_models.stock_status(state["on_hand"], state["reorder_threshold"])
    state["updated_at"] = at
    side = [_ledger(state, event_id, line, "sale", -quantity, -taken, at)]
    if shortfall:
        side.append(
            _alert(
                state,
                event_id,
                "backorder",
                f"{state['sku']} at {state['store_id']}: oversold by {shortfall}, recorded as backorder",
                at,
            )
        )
    if before > 0 and state["on_hand"] == 0:
        side.append(
            _alert(state, event_id, "out_of_stock", f"{state['sku']} at {state['store_id']} is out of stock", at)
        )
    elif before > state["reorder_threshold"] >= state["on_hand"] > 0:
        side.append(
            _alert(
                state,
                event_id,
                "low_stock",
                f"{state['sku']} at {state['store_id']} is low: {state['on_hand']} left",
                at,
            )
        )
    return side


def apply_receipt(state: dict, event_id: str, kind: str, quantity: int, at: datetime) -> list[SideDocument]:
    """A restock or a return puts ``quantity`` back on hand."""
    state["on_hand"] += quantity
    state["received_units" if kind == "restock" else "returned_units"] += quantity
    state["status"] = read_models.stock_status(state["on_hand"], state["reorder_threshold"])
    state["updated_at"] = at
    return [_ledger(state, event_id, 0, kind, quantity, quantity, at)]


def stock_effects(accepted: Accepted) -> list[Effect]:
    """The stock documents an event changes, and how."""
    event, source = accepted.event, accepted.source
    event_id = str(event.event_id)
    if isinstance(event, OrderPlaced):
        return [
            Effect(
                read_models.stock_id(line.sku, event.store_id),
                source,
                partial(apply_sale, event_id=event_id, line=index, quantity=line.quantity, at=event.occurred_at),
            )
            for index, line in enumerate(event.lines)
        ]
    if isinstance(event, (Restocked, ReturnReceived)):
        return [
            Effect(
                read_models.stock_id(event.sku, event.store_id),
                source,
                partial(
                    apply_receipt,
                    event_id=event_id,
                    kind=event.event_type,
                    quantity=event.quantity,
                    at=event.occurred_at,
                ),
            )
        ]
    return []
