"""Turning raw Kafka records into accepted events or dead-letter reasons.

Schema checks come from the event models; what a schema cannot know (is this SKU in the catalog,
this store known) is checked here against a catalog cache that refreshes from MongoDB on a miss.
"""

from __future__ import annotations

from pymongo.database import Database

from services.common import read_models
from services.common.events import (
    Event,
    EventRejected,
    OrderPlaced,
    ProductUpserted,
    Restocked,
    ReturnReceived,
    StoreUpserted,
    parse_event,
)


class CatalogCache:
    """Known SKUs and stores (with what rollups denormalize), refreshed from MongoDB when asked about an unknown one."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.products: dict[str, dict] = {}
        self.stores: dict[str, dict] = {}

    def learn(self, event: ProductUpserted | StoreUpserted) -> None:
        if isinstance(event, ProductUpserted):
            self.products[event.sku] = {
                "category": event.category,
                "sub_category": event.sub_category,
                "reorder_threshold": event.reorder_threshold,
                "cost_cents": event.cost_cents,
            }
        else:
            self.stores[event.store_id] = {"region": event.region}

    def product(self, sku: str) -> dict | None:
        if sku not in self.products:
            doc = self._db[read_models.PRODUCTS].find_one({"_id": sku})
            if doc is None:
                return None
            self.products[sku] = {k: doc[k] for k in ("category", "sub_category", "reorder_threshold", "cost_cents")}
        return self.products[sku]

    def store(self, store_id: str) -> dict | None:
        if store_id not in self.stores:
            doc = self._db[read_models.STORES].find_one({"_id": store_id})
            if doc is None:
                return None
            self.stores[store_id] = {"region": doc["region"]}
        return self.stores[store_id]


def parse_record(value: bytes | None) -> Event:
    """Schema validation of one record's value; raises ``EventRejected``."""
    if value is None:
        raise EventRejected("empty message (tombstone)")
    return parse_event(value)


def check_references(event: Event, catalog: CatalogCache) -> None:
    """Refuse stock-moving events that name a SKU or store the catalog does not know."""
    if isinstance(event, OrderPlaced):
        skus = [line.sku for line in event.lines]
    elif isinstance(event, (ReturnReceived, Restocked)):
        skus = [event.sku]
    else:
        return
    for sku in skus:
        if catalog.product(sku) is None:
            raise EventRejected(f"unknown sku '{sku}' (not in the catalog)")
    if catalog.store(event.store_id) is None:
        raise EventRejected(f"unknown store_id '{event.store_id}'")
