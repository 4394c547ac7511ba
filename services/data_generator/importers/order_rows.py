"""A plain order-lines CSV for data from any system: one row per line, grouped by ``order_id``.

Columns: ``order_id,date,customer_id,store_id,sku,quantity,unit_price,discount`` and optionally
``channel`` (online | store | marketplace; default online). ``date`` is ``YYYY-MM-DD`` (taken as
noon UTC) or an ISO-8601 time with a UTC offset; ``unit_price`` and ``discount`` (the line's total
discount, may be empty) are decimal amounts in the shop's currency. Only orders are produced: the
SKUs and stores must already be in the catalog, or the consumer dead-letters the orders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timezone
from pathlib import Path

from services.common.events import Channel, Event, OrderLine, OrderPlaced
from services.data_generator.ids import stable_event_id
from services.data_generator.importers.csv_file import (
    Problems,
    identifier,
    non_negative_amount,
    optional_non_negative_amount,
    positive_int,
    read_rows,
)
from services.data_generator.money import to_cents
from services.data_generator.pseudonyms import customer_pseudonym

COLUMNS = ("order_id", "date", "customer_id", "store_id", "sku", "quantity", "unit_price", "discount")
MAX_LINES_PER_ORDER = 200
_NOON_UTC = time(12, 0, tzinfo=timezone.utc)


@dataclass
class _Order:
    first_line: int
    header: tuple[datetime, str, str, Channel]
    lines: list[OrderLine] = field(default_factory=list)


def load_order_rows(path: Path, pseudonym_key: str) -> list[Event]:
    """One ``OrderPlaced`` per order id, by time; raises ``CsvImportError`` if any row is wrong."""
    problems = Problems(path)
    orders: dict[str, _Order] = {}
    for row in read_rows(path, COLUMNS):
        before = len(problems.items)
        order_id = problems.cell(row, "order_id", identifier)
        occurred_at = problems.cell(row, "date", _timestamp)
        customer = problems.cell(row, "customer_id", lambda text: customer_pseudonym(text, pseudonym_key))
        store_id = problems.cell(row, "store_id", identifier)
        channel = problems.cell(row, "channel", _channel) if "channel" in row.values else Channel.ONLINE
        sku = problems.cell(row, "sku", identifier)
        quantity = problems.cell(row, "quantity", positive_int)
        unit = problems.cell(row, "unit_price", non_negative_amount)
        discount = problems.cell(row, "discount", optional_non_negative_amount)
        if len(problems.items) > before:
            continue
        unit_cents, discount_cents = to_cents(unit), to_cents(discount)
        if discount_cents > quantity * unit_cents:
            problems.add(row.line, "discount", "exceeds quantity × unit_price")
            continue
        try:
            line = OrderLine(sku=sku, quantity=quantity, unit_price_cents=unit_cents, discount_cents=discount_cents)
        except ValueError:
            problems.add(row.line, "unit_price", f"{unit} is out of range")
            continue
        header = (occurred_at, customer, store_id, channel)
        order = orders.setdefault(order_id, _Order(row.line, header))
        if order.header != header:
            problems.add(
                row.line,
                None,
                f"date, customer_id, store_id or channel differs from line {order.first_line} of the same order_id",
            )
        elif len(order.lines) == MAX_LINES_PER_ORDER:
            problems.add(row.line, "order_id", f"order has more than {MAX_LINES_PER_ORDER} lines")
        else:
            order.lines.append(line)
    problems.raise_if_any()
    return [
        OrderPlaced(
            event_id=stable_event_id("orders-csv", order_id),
            occurred_at=o.header[0],
            channel=o.header[3],
            order_id=order_id,
            customer_id=o.header[1],
            store_id=o.header[2],
            lines=o.lines,
        )
        for order_id, o in sorted(orders.items(), key=lambda item: (item[1].header[0], item[0]))
    ]


def _timestamp(text: str) -> datetime:
    value = text.strip()
    try:
        if len(value) == 10:
            return datetime.combine(datetime.strptime(value, "%Y-%m-%d").date(), _NOON_UTC)
        at = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD) or an ISO-8601 time") from None
    if at.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset")
    return at.astimezone(timezone.utc)


def _channel(text: str) -> Channel:
    try:
        return Channel(text.strip())
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not one of {', '.join(c.value for c in Channel)}") from None
