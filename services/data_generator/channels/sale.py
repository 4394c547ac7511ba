"""A sale as the simulator decides it, before any channel formats it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class SaleLine:
    sku: str
    quantity: int
    unit_price_cents: int  # US cents
    discount_cents: int = 0


@dataclass(frozen=True)
class Sale:
    order_ref: str  # the channel's own order / receipt number
    customer_ref: str  # the raw identifier the channel knows the customer by
    store_id: str
    occurred_at: datetime  # aware; rendered in the channel's own clock convention
    utc_offset_minutes: int  # the selling location's local offset (POS receipts print local time)
    lines: tuple[SaleLine, ...]
    promotion_id: str | None = None
