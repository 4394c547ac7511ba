"""The marketplace's order feed: snake_case JSON batches, amounts in EUR.

Shape::

    {"feed_currency": "EUR", "orders": [
      {"mp_order_id": "M5C0FFEE0042", "buyer_token": "MB9F2C…", "purchase_ts_ms": 1772460191000,
       "promotion_ref": null,
       "order_lines": [{"seller_sku": "ELE-HPH-003", "units": 1, "unit_price": "45.16", "promo_discount": "0.00"}]}]}

EUR amounts become US cents at the fixed rate ``EUR_USD`` (US dollars per euro), rounded half to
even on the final cent. The rate is fixed, not live, so that a replayed feed converts identically.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from pydantic import ValidationError

from services.common.events import Channel, OrderPlaced
from services.data_generator.channels.errors import AdapterError, describe_validation_error
from services.data_generator.channels.fields import JsonFields
from services.data_generator.channels.sale import Sale
from services.data_generator.ids import stable_event_id
from services.data_generator.money import CENT, to_cents
from services.data_generator.stores import MARKETPLACE_STORE_ID

CURRENCY = "EUR"
EUR_USD = Decimal("1.0850")
_NATIVE_NAMES = {
    "sku": "seller_sku",
    "quantity": "units",
    "unit_price_cents": "unit_price",
    "discount_cents": "promo_discount",
}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MAX_TS_MS = 32_503_680_000_000  # year 3000: anything later is a unit mix-up (µs or ns)


def eur_to_usd_cents(eur: Decimal) -> int:
    return to_cents(eur * EUR_USD)


def usd_cents_to_eur(cents: int) -> Decimal:
    """The EUR price the marketplace listing shows for a US-cent price, to the euro cent."""
    return (Decimal(cents) / 100 / EUR_USD).quantize(CENT, rounding=ROUND_HALF_EVEN)


class MarketplaceAdapter:
    """Parses marketplace order feeds into ``OrderPlaced`` events in US cents; buyer tokens are pseudonymized."""

    channel = Channel.MARKETPLACE

    def __init__(self, pseudonym_key: str, store_id: str = MARKETPLACE_STORE_ID) -> None:
        self._key = pseudonym_key
        self._store_id = store_id
        self._fields = JsonFields("marketplace feed")

    def render(self, sale: Sale) -> str:
        """A one-order feed document for ``sale``, with its prices listed in EUR."""
        ms = (sale.occurred_at - _EPOCH) // timedelta(milliseconds=1)
        return json.dumps(
            {
                "feed_currency": CURRENCY,
                "orders": [
                    {
                        "mp_order_id": sale.order_ref,
                        "buyer_token": sale.customer_ref,
                        "purchase_ts_ms": ms,
                        "promotion_ref": sale.promotion_id,
                        "order_lines": [
                            {
                                "seller_sku": line.sku,
                                "units": line.quantity,
                                "unit_price": str(usd_cents_to_eur(line.unit_price_cents)),
                                "promo_discount": str(usd_cents_to_eur(line.discount_cents)),
                            }
                            for line in sale.lines
                        ],
                    }
                ],
            },
            separators=(",", ":"),
        )

    def parse(self, native: str | bytes | Mapping[str, Any]) -> list[OrderPlaced]:
        """A feed document → one ``OrderPlaced`` per order in it; one bad order rejects the document."""
        f = self._fields
        data = f.load(native)
        currency = f.text(data, "feed_currency")
        if currency != CURRENCY:
            raise f.fail(f"feed_currency {currency!r} is not supported; this marketplace settles in {CURRENCY}")
        return [self._order(order, f"orders[{i}].") for i, order in enumerate(f.objects(data, "orders"))]

    def _order(self, order: Mapping[str, Any], path: str) -> OrderPlaced:
        f = self._fields
        order_id = f.text(order, "mp_order_id", path)
        ms = f.value(order, "purchase_ts_ms", path)
        if isinstance(ms, bool) or not isinstance(ms, int) or not 0 <= ms < _MAX_TS_MS:
            raise f.fail(f"{path}purchase_ts_ms must be epoch milliseconds, got {ms!r}")
        lines = []
        for i, item in enumerate(f.objects(order, "order_lines", path)):
            line_path = f"{path}order_lines[{i}]."
            lines.append(
                f.order_line(
                    line_path,
                    _NATIVE_NAMES,
                    f.text(item, "seller_sku", line_path),
                    f.positive_int(item, "units", line_path),
                    eur_to_usd_cents(f.amount(item, "unit_price", line_path)),
                    eur_to_usd_cents(f.amount(item, "promo_discount", line_path, default="0")),
                )
            )
        try:
            return OrderPlaced(
                event_id=stable_event_id("marketplace", order_id),
                occurred_at=_EPOCH + timedelta(milliseconds=ms),
                channel=self.channel,
                order_id=order_id,
                customer_id=f.customer(order, "buyer_token", self._key, path),
                store_id=self._store_id,
                lines=lines,
                promotion_id=f.optional_text(order, "promotion_ref", path),
            )
        except ValidationError as exc:
            raise AdapterError(f.channel, f"{path}{describe_validation_error(exc)}") from None
