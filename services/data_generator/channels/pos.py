"""Store tills' receipt export: pipe-separated text, local time with the store's UTC offset.

Format (one receipt; fields may not contain ``|``)::

    H|<receipt no>|<store id>|<local time YYYY-MM-DD HH:MM:SS>|<UTC offset ±HH:MM>|<loyalty card>|<promotion id>
    L|<sku>|<quantity>|<unit price>|<line discount>
    …one L line per item…
    T|<number of L lines>|<receipt total>

Amounts are USD with two decimals. The loyalty card and promotion id may be empty; a receipt
without a card belongs to the walk-in customer ``ANONYMOUS_CUSTOMER``. The trailer's count and
total must match the items, which catches truncated or hand-edited exports.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from pydantic import ValidationError

from services.common.events import Channel, OrderLine, OrderPlaced
from services.data_generator.channels.errors import AdapterError, describe_validation_error
from services.data_generator.channels.sale import Sale
from services.data_generator.ids import stable_event_id
from services.data_generator.money import format_cents, parse_amount, to_cents
from services.data_generator.pseudonyms import customer_pseudonym

ANONYMOUS_CUSTOMER = "anonymous"
_HEADER = "H|receipt|store|local time|utc offset|loyalty card|promotion"
_ITEM = "L|sku|quantity|unit price|discount"
_TRAILER = "T|line count|total"
_OFFSET = re.compile(r"([+-])([0-9]{2}):([0-9]{2})")
_DIGITS = re.compile(r"[0-9]+")
_CHANNEL_NAME = "POS receipt"


class PosAdapter:
    """Parses till receipts into ``OrderPlaced``; loyalty card numbers are pseudonymized here."""

    channel = Channel.STORE

    def __init__(self, pseudonym_key: str) -> None:
        self._key = pseudonym_key

    def render(self, sale: Sale) -> str:
        """The receipt a till in ``sale.store_id`` would print, in the store's local time."""
        offset = timezone(timedelta(minutes=sale.utc_offset_minutes))
        local = sale.occurred_at.astimezone(offset)
        sign, minutes = ("-" if sale.utc_offset_minutes < 0 else "+"), abs(sale.utc_offset_minutes)
        zone = f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
        stamp = f"{local:%Y-%m-%d %H:%M:%S}|{zone}"
        rows = [f"H|{sale.order_ref}|{sale.store_id}|{stamp}|{sale.customer_ref}|{sale.promotion_id or ''}"]
        rows += [
            f"L|{line.sku}|{line.quantity}|{format_cents(line.unit_price_cents)}|{format_cents(line.discount_cents)}"
            for line in sale.lines
        ]
        total = sum(ln.quantity * ln.unit_price_cents - ln.discount_cents for ln in sale.lines)
        rows.append(f"T|{len(sale.lines)}|{format_cents(total)}")
        return "\n".join(rows) + "\n"

    def parse(self, native: str | bytes) -> list[OrderPlaced]:
        """One receipt → one ``OrderPlaced``."""
        try:
            text = native.decode() if isinstance(native, bytes) else native
        except UnicodeDecodeError:
            raise AdapterError(_CHANNEL_NAME, "not UTF-8 text") from None
        rows = [row.split("|") for row in text.strip().splitlines()]
        if len(rows) < 3:
            raise AdapterError(_CHANNEL_NAME, "expected a header, at least one item and a trailer line")
        receipt, store_id, occurred_at, card, promotion = self._header(rows[0])
        lines = [self._item(fields, number) for number, fields in enumerate(rows[1:-1], start=2)]
        self._check_trailer(rows[-1], len(rows), lines)
        try:
            customer = customer_pseudonym(card, self._key) if card else ANONYMOUS_CUSTOMER
        except ValueError as exc:
            raise AdapterError(_CHANNEL_NAME, f"line 1: loyalty card: {exc}") from None
        try:
            return [
                OrderPlaced(
                    event_id=stable_event_id("store", store_id, receipt),
                    occurred_at=occurred_at,
                    channel=self.channel,
                    order_id=receipt,
                    customer_id=customer,
                    store_id=store_id,
                    lines=lines,
                    promotion_id=promotion or None,
                )
            ]
        except ValidationError as exc:
            raise AdapterError(_CHANNEL_NAME, f"line 1: {describe_validation_error(exc)}") from None

    @staticmethod
    def _header(fields: list[str]) -> tuple[str, str, datetime, str, str]:
        if len(fields) != 7 or fields[0] != "H":
            raise AdapterError(_CHANNEL_NAME, f"line 1: expected the header '{_HEADER}' ({len(fields)} fields found)")
        _, receipt, store_id, local, offset, card, promotion = (field.strip() for field in fields)
        if not receipt or not store_id:
            raise AdapterError(_CHANNEL_NAME, "line 1: receipt number and store id are required")
        match = _OFFSET.fullmatch(offset)
        if not match:
            raise AdapterError(_CHANNEL_NAME, f"line 1: UTC offset {offset!r} is not in the form ±HH:MM")
        sign = -1 if match[1] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(match[2]), minutes=int(match[3])))
        try:
            occurred_at = datetime.strptime(local, "%Y-%m-%d %H:%M:%S").replace(tzinfo=tz)
        except ValueError:
            raise AdapterError(
                _CHANNEL_NAME, f"line 1: local time {local!r} is not in the form YYYY-MM-DD HH:MM:SS"
            ) from None
        return receipt, store_id, occurred_at, card, promotion

    @staticmethod
    def _item(fields: list[str], number: int) -> OrderLine:
        if len(fields) != 5 or fields[0] != "L":
            raise AdapterError(_CHANNEL_NAME, f"line {number}: expected an item '{_ITEM}' ({len(fields)} fields found)")
        _, sku, quantity, price, discount = (field.strip() for field in fields)
        if not _DIGITS.fullmatch(quantity) or int(quantity) == 0:
            raise AdapterError(
                _CHANNEL_NAME, f"line {number}: quantity must be a positive whole number, got {quantity!r}"
            )
        try:
            unit, off = to_cents(parse_amount(price)), to_cents(parse_amount(discount))
        except ValueError as exc:
            raise AdapterError(_CHANNEL_NAME, f"line {number}: {exc}") from None
        if unit < 0 or off < 0 or off > int(quantity) * unit:
            raise AdapterError(
                _CHANNEL_NAME,
                f"line {number}: price and discount must be non-negative, the discount at most the line total",
            )
        try:
            return OrderLine(sku=sku, quantity=int(quantity), unit_price_cents=unit, discount_cents=off)
        except ValidationError as exc:
            raise AdapterError(_CHANNEL_NAME, f"line {number}: {describe_validation_error(exc)}") from None

    @staticmethod
    def _check_trailer(fields: list[str], number: int, lines: list[OrderLine]) -> None:
        if len(fields) != 3 or fields[0] != "T":
            raise AdapterError(
                _CHANNEL_NAME, f"line {number}: expected the trailer '{_TRAILER}' ({len(fields)} fields found)"
            )
        count, total = fields[1].strip(), fields[2].strip()
        if count != str(len(lines)):
            raise AdapterError(
                _CHANNEL_NAME, f"line {number}: trailer says {count} items, the receipt has {len(lines)}"
            )
        try:
            stated = to_cents(parse_amount(total))
        except ValueError as exc:
            raise AdapterError(_CHANNEL_NAME, f"line {number}: total: {exc}") from None
        actual = sum(line.revenue_cents for line in lines)
        if stated != actual:
            raise AdapterError(
                _CHANNEL_NAME, f"line {number}: total {total} does not match the items ({format_cents(actual)})"
            )
