"""How each event is stored: one document per event, keyed by ``event_id``."""

from __future__ import annotations

from datetime import datetime, timezone

from services.common import read_models
from services.common.events import (
    Click,
    Event,
    OrderPlaced,
    ProductUpserted,
    PromotionExposed,
    Restocked,
    ReturnReceived,
    StoreUpserted,
)
from services.data_consumer.validation import CatalogCache

COLLECTION_BY_TYPE: dict[type, str] = {
    OrderPlaced: read_models.ORDERS,
    Click: read_models.CLICKS,
    ReturnReceived: read_models.RETURNS,
    Restocked: read_models.RESTOCKS,
    PromotionExposed: read_models.EXPOSURES,
}


def event_document(event: Event, catalog: CatalogCache) -> dict:
    """The stored form: the event's fields plus what queries need precomputed (totals, day)."""
    doc = event.model_dump(mode="python", exclude={"event_id"})
    doc["_id"] = str(event.event_id)
    doc["channel"] = event.channel.value
    doc["day"] = event.occurred_at.strftime("%Y-%m-%d")
    if isinstance(event, OrderPlaced):
        for line in doc["lines"]:
            line["revenue_cents"] = line["quantity"] * line["unit_price_cents"] - line["discount_cents"]
            line["cost_cents"] = line["quantity"] * catalog.product(line["sku"])["cost_cents"]  # type: ignore[index]
        doc["revenue_cents"] = sum(line["revenue_cents"] for line in doc["lines"])
        doc["cost_cents"] = sum(line["cost_cents"] for line in doc["lines"])
        doc["discount_cents"] = sum(line["discount_cents"] for line in doc["lines"])
        doc["units"] = sum(line["quantity"] for line in doc["lines"])
        doc["region"] = catalog.store(event.store_id)["region"]  # type: ignore[index]
    elif isinstance(event, Click):
        doc["action"] = event.action.value
    return doc


def catalog_document(event: ProductUpserted | StoreUpserted) -> tuple[str, dict]:
    """Catalog events are upserts (latest wins), not once-only inserts."""
    doc = event.model_dump(
        mode="python", exclude={"event_id", "schema_version", "event_type", "channel", "occurred_at"}
    )
    doc["updated_at"] = datetime.now(timezone.utc)
    if isinstance(event, ProductUpserted):
        return read_models.PRODUCTS, {"_id": event.sku, **doc}
    return read_models.STORES, {"_id": event.store_id, **doc}
