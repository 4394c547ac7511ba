"""``POST /add-data``: sale records → ``OrderPlaced`` events on Kafka, the normal ingestion path.

The API never writes sales to MongoDB itself; the data consumer validates, deduplicates and rolls
them up like any channel's sale. Records are checked here first so a caller gets a 422 naming the
record and field instead of a silent dead letter: schema (pydantic), then SKUs and stores against
the catalog. A record's ``order_id``, when given, fixes its event id (UUIDv5), so a retried request
is stored once; without it every call produces new events.
"""

from __future__ import annotations

import datetime as dt
import uuid
from datetime import datetime, time, timezone
from decimal import Decimal
from typing import Annotated

from kafka.errors import KafkaError
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pymongo.database import Database

from services.common import read_models
from services.common.bus import EventProducer
from services.common.events import MAX_QUANTITY, Channel, Identifier, OrderLine, OrderPlaced
from services.common.privacy import pseudonymize
from services.common.timestamps import to_utc
from services.forecast_service.errors import PublishFailedError, RecordsRejectedError
from services.forecast_service.sales_history import known_ids, today_utc

MAX_RECORDS = 10_000
ACK_TIMEOUT_S = 30.0
_EVENT_NAMESPACE = uuid.UUID("6f1c1f0e-5a63-4d8e-9a43-3c7f4f0b2d11")
_MAX_REPORTED_ERRORS = 100


class SaleRecord(BaseModel):
    """One sale: a SKU sold in a store on a day at a unit price (currency units, 2 decimals)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"date": "2026-03-02", "store_id": "s1", "sku": "SKU-0001", "quantity": 3, "unit_price": 4.99}]
        },
    )

    date: dt.date | dt.datetime = Field(
        description="sale day (YYYY-MM-DD, booked at 12:00 UTC) or an ISO timestamp with offset"
    )
    store_id: Identifier
    sku: Identifier
    quantity: Annotated[int, Field(gt=0, le=MAX_QUANTITY)]
    unit_price: Annotated[Decimal, Field(ge=0, le=1_000_000, decimal_places=2)]
    channel: Channel = Channel.STORE
    order_id: Identifier | None = Field(
        default=None, description="makes retries idempotent: same order_id → same event"
    )

    @field_validator("date")
    @classmethod
    def _not_in_future(cls, value: dt.date | dt.datetime) -> dt.date | dt.datetime:
        day = to_utc(value, "date").date() if isinstance(value, datetime) else value
        if day > today_utc():
            raise ValueError(f"{day.isoformat()} is in the future")
        return value

    def occurred_at(self) -> datetime:
        if isinstance(self.date, datetime):
            return self.date.astimezone(timezone.utc)
        return datetime.combine(self.date, time(12, 0), tzinfo=timezone.utc)


def check_references(db: Database, records: list[SaleRecord]) -> None:
    """RecordsRejectedError with one FastAPI-style entry per unknown SKU or store."""
    skus = known_ids(db, read_models.PRODUCTS, (r.sku for r in records))
    stores = known_ids(db, read_models.STORES, (r.store_id for r in records))
    errors: list[dict] = []
    for index, record in enumerate(records):
        if record.sku not in skus:
            errors.append(
                {
                    "loc": ["body", index, "sku"],
                    "msg": f"unknown sku '{record.sku}' (not in the catalog)",
                    "type": "unknown_sku",
                    "input": record.sku,
                }
            )
        if record.store_id not in stores:
            errors.append(
                {
                    "loc": ["body", index, "store_id"],
                    "msg": f"unknown store_id '{record.store_id}'",
                    "type": "unknown_store",
                    "input": record.store_id,
                }
            )
    if errors:
        shown = errors[:_MAX_REPORTED_ERRORS]
        if len(errors) > len(shown):
            shown.append({"loc": ["body"], "msg": f"... and {len(errors) - len(shown)} more", "type": "truncated"})
        raise RecordsRejectedError(shown)


def to_event(record: SaleRecord, customer_id: str) -> OrderPlaced:
    cents = int((record.unit_price * 100).to_integral_value())
    order_id = record.order_id or f"api-{uuid.uuid4().hex[:20]}"
    event_id = uuid.uuid5(_EVENT_NAMESPACE, f"add-data:{record.order_id}") if record.order_id else uuid.uuid4()
    return OrderPlaced(
        event_id=event_id,
        occurred_at=record.occurred_at(),
        channel=record.channel,
        order_id=order_id,
        customer_id=customer_id,
        store_id=record.store_id,
        lines=[OrderLine(sku=record.sku, quantity=record.quantity, unit_price_cents=cents)],
    )


def api_customer(pseudonym_key: str) -> str:
    """Sales entered through the API carry one pseudonymous customer, never a raw identifier."""
    return pseudonymize("forecast-api:add-data", pseudonym_key)


def publish_sales(producer: EventProducer, records: list[SaleRecord], customer_id: str) -> list[str]:
    """Publish every record and wait for Kafka's acknowledgement; returns the event ids in order."""
    events = [to_event(record, customer_id) for record in records]
    try:
        futures = [producer.publish(event) for event in events]
        producer.flush(ACK_TIMEOUT_S)
        for future in futures:
            future.get(timeout=ACK_TIMEOUT_S)
    except KafkaError as exc:
        raise PublishFailedError(
            f"Kafka did not acknowledge the sales ({type(exc).__name__}: {exc}); retry with order_ids to avoid "
            "duplicates"
        ) from exc
    return [str(event.event_id) for event in events]
