"""Typed access to JSON payload fields that reports the path of whatever is missing or wrong."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from services.common.events import OrderLine
from services.data_generator.channels.errors import AdapterError
from services.data_generator.money import parse_amount, to_cents
from services.data_generator.pseudonyms import customer_pseudonym


class JsonFields:
    """Reads one channel's JSON; every failure is an ``AdapterError`` naming the channel and the field path."""

    def __init__(self, channel: str) -> None:
        self.channel = channel

    def fail(self, message: str) -> AdapterError:
        return AdapterError(self.channel, message)

    def load(self, native: str | bytes | Mapping[str, Any]) -> Mapping[str, Any]:
        """A JSON object; numbers with a fraction are read as exact Decimals, never floats."""
        if isinstance(native, Mapping):
            return native
        try:
            data = json.loads(native, parse_float=Decimal)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise self.fail(f"not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise self.fail(f"expected a JSON object, got {type(data).__name__}")
        return data

    def value(self, data: Mapping[str, Any], key: str, path: str) -> Any:
        if key not in data or data[key] is None:
            raise self.fail(f"{path}{key} is missing")
        return data[key]

    def obj(self, data: Mapping[str, Any], key: str, path: str = "") -> Mapping[str, Any]:
        value = self.value(data, key, path)
        if not isinstance(value, Mapping):
            raise self.fail(f"{path}{key} must be an object, got {type(value).__name__}")
        return value

    def objects(self, data: Mapping[str, Any], key: str, path: str = "") -> list[Mapping[str, Any]]:
        """A non-empty list of objects (order items, feed orders)."""
        value = self.value(data, key, path)
        if not isinstance(value, list) or not value:
            raise self.fail(f"{path}{key} must be a non-empty list")
        for i, item in enumerate(value):
            if not isinstance(item, Mapping):
                raise self.fail(f"{path}{key}[{i}] must be an object, got {type(item).__name__}")
        return value

    def text(self, data: Mapping[str, Any], key: str, path: str = "") -> str:
        value = self.value(data, key, path)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{path}{key} must be a non-empty string")
        return value.strip()

    def optional_text(self, data: Mapping[str, Any], key: str, path: str = "") -> str | None:
        return self.text(data, key, path) if data.get(key) not in (None, "") else None

    def positive_int(self, data: Mapping[str, Any], key: str, path: str = "") -> int:
        value = self.value(data, key, path)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise self.fail(f"{path}{key} must be a positive whole number, got {value!r}")
        return value

    def amount(self, data: Mapping[str, Any], key: str, path: str = "", default: str | None = None) -> Decimal:
        """A non-negative decimal amount in the payload's currency units."""
        raw = data.get(key, default) if default is not None else self.value(data, key, path)
        try:
            amount = parse_amount(raw)
        except ValueError as exc:
            raise self.fail(f"{path}{key}: {exc}") from None
        if amount < 0:
            raise self.fail(f"{path}{key} must not be negative, got {raw}")
        return amount

    def cents(self, data: Mapping[str, Any], key: str, path: str = "", default: str | None = None) -> int:
        return to_cents(self.amount(data, key, path, default))

    def customer(self, data: Mapping[str, Any], key: str, pseudonym_key: str, path: str = "") -> str:
        """The pseudonym of the customer identifier in ``key``; the raw value goes no further."""
        try:
            return customer_pseudonym(self.text(data, key, path), pseudonym_key)
        except ValueError as exc:
            raise self.fail(f"{path}{key}: {exc}") from None

    def timestamp(self, data: Mapping[str, Any], key: str, path: str = "") -> datetime:
        """An ISO-8601 time with a UTC offset; naive local times are refused as ambiguous."""
        raw = self.text(data, key, path)
        try:
            at = datetime.fromisoformat(raw)
        except ValueError:
            raise self.fail(f"{path}{key} {raw!r} is not an ISO-8601 timestamp") from None
        if at.tzinfo is None:
            raise self.fail(f"{path}{key} {raw!r} has no UTC offset")
        return at

    def order_line(
        self, path: str, native_names: Mapping[str, str], sku: str, quantity: int, unit_cents: int, discount_cents: int
    ) -> OrderLine:
        """An ``OrderLine``, with schema violations reported under the payload's own field names."""
        if discount_cents > quantity * unit_cents:
            raise self.fail(f"{path.rstrip('.')}: discount exceeds the line total before discount")
        try:
            return OrderLine(sku=sku, quantity=quantity, unit_price_cents=unit_cents, discount_cents=discount_cents)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = native_names.get(str(first["loc"][0]), str(first["loc"][0])) if first["loc"] else "line"
            raise self.fail(f"{path}{field}: {first['msg']}") from None
