"""The web shop's order webhook: nested JSON, USD prices as decimal strings.

Shape::

    {"orderNumber": "W3F9A0C21B7E4", "placedAt": "2026-03-02T14:03:11.000Z", "currency": "USD",
     "customer": {"email": "ava.chen12@example.com"},
     "items": [{"sku": "GRO-SNK-001", "qty": 2, "price": "3.99", "discount": "0.80"}],
     "promoCode": "PR1A2B-000-1"}

``discount`` is the line's total discount (optional, default 0); ``promoCode`` is optional.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timezone
from typing import Any

from pydantic import ValidationError

from services.common.events import Channel, OrderPlaced
from services.data_generator.channels.errors import AdapterError, describe_validation_error
from services.data_generator.channels.fields import JsonFields
from services.data_generator.channels.sale import Sale
from services.data_generator.ids import stable_event_id
from services.data_generator.money import format_cents
from services.data_generator.stores import WEB_STORE_ID

CURRENCY = "USD"
_NATIVE_NAMES = {"quantity": "qty", "unit_price_cents": "price", "discount_cents": "discount"}


class OnlineShopAdapter:
    """Parses web-shop orders into ``OrderPlaced``; the customer's email is pseudonymized here."""

    channel = Channel.ONLINE

    def __init__(self, pseudonym_key: str, store_id: str = WEB_STORE_ID) -> None:
        self._key = pseudonym_key
        self._store_id = store_id
        self._fields = JsonFields("online shop order")

    def render(self, sale: Sale) -> str:
        """The payload the web shop would send for ``sale``."""
        placed = sale.occurred_at.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return json.dumps(
            {
                "orderNumber": sale.order_ref,
                "placedAt": placed,
                "currency": CURRENCY,
                "customer": {"email": sale.customer_ref},
                "items": [
                    {
                        "sku": line.sku,
                        "qty": line.quantity,
                        "price": format_cents(line.unit_price_cents),
                        "discount": format_cents(line.discount_cents),
                    }
                    for line in sale.lines
                ],
                "promoCode": sale.promotion_id,
            },
            separators=(",", ":"),
        )

    def parse(self, native: str | bytes | Mapping[str, Any]) -> list[OrderPlaced]:
        """One order payload → one ``OrderPlaced`` (a list, like every adapter, since feeds may batch)."""
        f = self._fields
        data = f.load(native)
        order_number = f.text(data, "orderNumber")
        currency = data.get("currency", CURRENCY)
        if currency != CURRENCY:
            raise f.fail(f"currency {currency!r} is not supported; the web shop sells in {CURRENCY}")
        customer = f.obj(data, "customer")
        if "@" not in f.text(customer, "email", "customer."):
            raise f.fail("customer.email is not an email address")
        lines = []
        for i, item in enumerate(f.objects(data, "items")):
            path = f"items[{i}]."
            lines.append(
                f.order_line(
                    path,
                    _NATIVE_NAMES,
                    f.text(item, "sku", path),
                    f.positive_int(item, "qty", path),
                    f.cents(item, "price", path),
                    f.cents(item, "discount", path, default="0"),
                )
            )
        try:
            return [
                OrderPlaced(
                    event_id=stable_event_id("online", order_number),
                    occurred_at=f.timestamp(data, "placedAt"),
                    channel=self.channel,
                    order_id=order_number,
                    customer_id=f.customer(customer, "email", self._key, "customer."),
                    store_id=self._store_id,
                    lines=lines,
                    promotion_id=f.optional_text(data, "promoCode"),
                )
            ]
        except ValidationError as exc:
            raise AdapterError(f.channel, describe_validation_error(exc)) from None
