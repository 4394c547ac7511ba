"""Event schemas: the one contract every producer and consumer shares.

Every event carries an ``event_id`` (the idempotency key the consumer stores exactly once by),
``event_type`` (the discriminator), ``schema_version``, ``occurred_at`` (UTC) and ``channel``.
Money is integer cents; customer identifiers are pseudonymous before they get here.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from services.common.timestamps import to_utc

SCHEMA_VERSION = 1
MAX_QUANTITY = 10_000
MAX_CENTS = 100_000_000  # one million currency units per line: anything above is a data error

Cents = Annotated[int, Field(ge=0, le=MAX_CENTS, strict=True)]
Quantity = Annotated[int, Field(gt=0, le=MAX_QUANTITY, strict=True)]
IDENTIFIER_PATTERN = (
    r"^[A-Za-z0-9_.:\-]+$"  # ids of SKUs, stores, customers, promotions: nothing a URL or JSON would escape
)
Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=IDENTIFIER_PATTERN)]


class Channel(StrEnum):
    """Where a sale or click happened."""

    ONLINE = "online"
    STORE = "store"
    MARKETPLACE = "marketplace"


class EventRejected(ValueError):
    """An incoming payload is not a valid event; ``reason`` says why in one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: UUID = Field(default_factory=uuid4)
    schema_version: Literal[1] = SCHEMA_VERSION
    occurred_at: datetime
    channel: Channel

    @field_validator("occurred_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return to_utc(value, "occurred_at")


class OrderLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sku: Identifier
    quantity: Quantity
    unit_price_cents: Cents
    discount_cents: Cents = 0

    @property
    def revenue_cents(self) -> int:
        return self.quantity * self.unit_price_cents - self.discount_cents


class OrderPlaced(_Event):
    """A completed sale from any channel; moves stock down and feeds the daily rollups."""

    event_type: Literal["order"] = "order"
    order_id: Identifier
    customer_id: Identifier
    store_id: Identifier
    lines: list[OrderLine] = Field(min_length=1, max_length=200)
    promotion_id: Identifier | None = None


class ClickAction(StrEnum):
    VIEW = "view"
    ADD_TO_CART = "add_to_cart"
    REMOVE_FROM_CART = "remove_from_cart"
    CHECKOUT = "checkout"
    PROMO_IMPRESSION = "promo_impression"
    PROMO_CLICK = "promo_click"


class Click(_Event):
    """One clickstream interaction; the promotion engine reads recent ones for context."""

    event_type: Literal["click"] = "click"
    session_id: Identifier
    customer_id: Identifier
    action: ClickAction
    sku: Identifier | None = None
    promotion_id: Identifier | None = None


class ReturnReceived(_Event):
    """Goods coming back: stock goes up, the sale day's rollup goes down."""

    event_type: Literal["return"] = "return"
    order_id: Identifier
    customer_id: Identifier
    store_id: Identifier
    sku: Identifier
    quantity: Quantity
    refund_cents: Cents


class Restocked(_Event):
    """A delivery from a supplier into a store's stock."""

    event_type: Literal["restock"] = "restock"
    store_id: Identifier
    sku: Identifier
    quantity: Quantity
    unit_cost_cents: Cents


class PromotionExposed(_Event):
    """A promotion decision served to a customer (treatment) or withheld (control)."""

    event_type: Literal["exposure"] = "exposure"
    customer_id: Identifier
    promotion_id: Identifier
    arm: Literal["treatment", "control"]
    sku: Identifier | None = None


class ProductUpserted(_Event):
    """Catalog entry; orders for SKUs the catalog does not know are dead-lettered."""

    event_type: Literal["product"] = "product"
    sku: Identifier
    name: str = Field(min_length=1, max_length=200)
    category: str = Field(min_length=1, max_length=100)
    sub_category: str = Field(min_length=1, max_length=100)
    price_cents: Cents
    cost_cents: Cents
    reorder_threshold: int = Field(default=10, ge=0, le=MAX_QUANTITY, strict=True)


class StoreUpserted(_Event):
    """A selling location (physical store, the web shop, a marketplace account)."""

    event_type: Literal["store"] = "store"
    store_id: Identifier
    name: str = Field(min_length=1, max_length=200)
    region: str = Field(min_length=1, max_length=100)
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


Event = Annotated[
    OrderPlaced | Click | ReturnReceived | Restocked | PromotionExposed | ProductUpserted | StoreUpserted,
    Field(discriminator="event_type"),
]
_EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(raw: bytes | str | dict) -> Event:
    """Validate a wire payload into an event, or raise ``EventRejected`` with a one-line reason."""
    try:
        data = json.loads(raw) if isinstance(raw, (bytes, str)) else raw
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EventRejected(f"not valid JSON: {exc}") from None
    except RecursionError:
        raise EventRejected("not valid JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer literal beyond Python's 4300-digit conversion limit
        raise EventRejected(f"not valid JSON: {str(exc)[:200]}") from None
    if not isinstance(data, dict):
        raise EventRejected(f"expected a JSON object, got {type(data).__name__}")
    try:
        return _EVENT_ADAPTER.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "event"
        extra = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise EventRejected(f"{field}: {first['msg']}{extra}") from None


def event_to_bytes(event: _Event) -> bytes:
    """The wire form: compact JSON, UTC ISO timestamps, UUIDs as strings."""
    return event.model_dump_json().encode()


_ZERO = timedelta(0)
_CHANNELS = frozenset(channel.value for channel in Channel)
_ARMS = frozenset(("treatment", "control"))
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)


def _is_identifier(value: str) -> bool:
    # fullmatch: with ``match`` the pattern's ``$`` also matches before a final newline, which JSON would need escaped
    return len(value) <= 64 and _IDENTIFIER.fullmatch(value) is not None


def exposure_to_bytes(
    event_id: UUID, occurred_at: datetime, channel: str, customer_id: str, promotion_id: str, arm: str, sku: str | None
) -> bytes:
    """``event_to_bytes(PromotionExposed(...))`` written directly: the promotion engine sends up to ``k`` of these per
    request, and building and validating the model was ~4 % of a request's CPU (a test checks the bytes are the
    same). Anything the fast path cannot vouch for goes through the model, which rejects what it must."""
    if (
        occurred_at.utcoffset() == _ZERO
        and channel in _CHANNELS
        and arm in _ARMS
        and _is_identifier(customer_id)
        and _is_identifier(promotion_id)
        and (sku is None or _is_identifier(sku))
    ):
        at = occurred_at.replace(tzinfo=None).isoformat()
        sku_json = "null" if sku is None else f'"{sku}"'
        return (
            f'{{"event_id":"{event_id}","schema_version":{SCHEMA_VERSION},"occurred_at":"{at}Z","channel":"{channel}",'
            f'"event_type":"exposure","customer_id":"{customer_id}","promotion_id":"{promotion_id}","arm":"{arm}","sku":{sku_json}}}'
        ).encode()
    return event_to_bytes(
        PromotionExposed(
            event_id=event_id,
            occurred_at=occurred_at,
            channel=channel,
            customer_id=customer_id,
            promotion_id=promotion_id,
            arm=arm,
            sku=sku,
        )
    )
