"""The Superstore sales export: one row per order line, orders identified by ``Order ID``.

Mapping: rows grouped by Order ID become one ``OrderPlaced`` (dated noon UTC on the Order Date —
the export has dates only, and noon UTC is that same calendar day in every US time zone); each
Region becomes a store ``superstore-<region>``; each Product ID a ``ProductUpserted`` whose price
and unit cost are the medians over its rows. ``Sales`` is after discount, so a line's list unit
price is ``Sales / (1 - Discount) / Quantity`` and its discount the difference to ``Sales``;
unit cost is ``(Sales - Profit) / Quantity``. Customer IDs are pseudonymized, names dropped.
Superstore ships its orders, so every event is on the online channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from pathlib import Path
from statistics import median_low

from services.common.events import Channel, Event, OrderLine, OrderPlaced, ProductUpserted, StoreUpserted
from services.data_generator.ids import stable_event_id
from services.data_generator.importers.csv_file import (
    Problems,
    Row,
    fraction,
    identifier,
    non_negative_amount,
    positive_int,
    read_rows,
    required_text,
    us_date,
)
from services.data_generator.money import parse_amount, to_cents
from services.data_generator.pseudonyms import customer_pseudonym

COLUMNS = (
    "Order ID",
    "Order Date",
    "Customer ID",
    "Region",
    "Product ID",
    "Category",
    "Sub-Category",
    "Product Name",
    "Sales",
    "Quantity",
    "Discount",
    "Profit",
)
REGION_COORDINATES = {  # a large city in each of the export's four regions
    "West": (37.7749, -122.4194),
    "East": (40.7128, -74.0060),
    "Central": (41.8781, -87.6298),
    "South": (33.7490, -84.3880),
}
MAX_LINES_PER_ORDER = 200
_NOON_UTC = time(12, 0, tzinfo=timezone.utc)


@dataclass
class _Order:
    first_line: int
    day: date
    customer: str
    region: str
    lines: list[OrderLine] = field(default_factory=list)


@dataclass
class _Product:
    name: str
    category: str
    sub_category: str
    unit_prices: list[int] = field(default_factory=list)
    unit_costs: list[int] = field(default_factory=list)


def load_superstore(path: Path, pseudonym_key: str) -> list[Event]:
    """Stores, then products, then orders by date; raises ``CsvImportError`` if any row is wrong."""
    problems = Problems(path)
    orders: dict[str, _Order] = {}
    products: dict[str, _Product] = {}
    for row in read_rows(path, COLUMNS):
        _add_row(row, orders, products, problems, pseudonym_key)
    problems.raise_if_any()
    first_day = datetime.combine(min(o.day for o in orders.values()), _NOON_UTC)
    regions = dict.fromkeys(o.region for o in orders.values())
    stores: list[Event] = [
        StoreUpserted(
            event_id=stable_event_id("superstore", "store", region),
            occurred_at=first_day,
            channel=Channel.ONLINE,
            store_id=_store_id(region),
            name=f"Superstore {region}",
            region=region,
            latitude=REGION_COORDINATES[region][0],
            longitude=REGION_COORDINATES[region][1],
        )
        for region in regions
    ]
    catalog: list[Event] = []
    for sku, p in products.items():
        price, cost = median_low(p.unit_prices), median_low(p.unit_costs)
        catalog.append(
            ProductUpserted(
                event_id=stable_event_id(
                    "superstore", "product", sku, p.name, p.category, p.sub_category, str(price), str(cost)
                ),
                occurred_at=first_day,
                channel=Channel.ONLINE,
                sku=sku,
                name=p.name,
                category=p.category,
                sub_category=p.sub_category,
                price_cents=price,
                cost_cents=cost,
            )
        )
    placed: list[Event] = [
        OrderPlaced(
            event_id=stable_event_id("superstore", "order", order_id),
            occurred_at=datetime.combine(o.day, _NOON_UTC),
            channel=Channel.ONLINE,
            order_id=order_id,
            customer_id=o.customer,
            store_id=_store_id(o.region),
            lines=o.lines,
        )
        for order_id, o in sorted(orders.items(), key=lambda item: (item[1].day, item[0]))
    ]
    return stores + catalog + placed


def _store_id(region: str) -> str:
    return f"superstore-{region.lower()}"


def _region(text: str) -> str:
    if text.strip() not in REGION_COORDINATES:
        raise ValueError(f"{text.strip()!r} is not one of the export's regions ({', '.join(REGION_COORDINATES)})")
    return text.strip()


def _add_row(row: Row, orders: dict[str, _Order], products: dict[str, _Product], problems: Problems, key: str) -> None:
    """Validate one row and fold it into its order and product; problems are recorded, not raised."""
    before = len(problems.items)
    order_id = problems.cell(row, "Order ID", identifier)
    day = problems.cell(row, "Order Date", us_date)
    customer = problems.cell(row, "Customer ID", lambda text: customer_pseudonym(text, key))
    region = problems.cell(row, "Region", _region)
    sku = problems.cell(row, "Product ID", identifier)
    name = problems.cell(row, "Product Name", lambda text: required_text(text)[:200])
    category = problems.cell(row, "Category", required_text)
    sub_category = problems.cell(row, "Sub-Category", required_text)
    sales = problems.cell(row, "Sales", non_negative_amount)
    quantity = problems.cell(row, "Quantity", positive_int)
    discount = problems.cell(row, "Discount", fraction)
    profit = problems.cell(row, "Profit", parse_amount)
    if len(problems.items) > before:
        return
    sales_cents = to_cents(sales)
    unit_price = to_cents(sales / (1 - discount) / quantity)
    unit_cost = to_cents((sales - profit) / quantity)
    if unit_cost < 0:
        problems.add(row.line, "Profit", "exceeds Sales, which would make the unit cost negative")
        return
    try:
        line = OrderLine(
            sku=sku,
            quantity=quantity,
            unit_price_cents=unit_price,
            discount_cents=max(0, quantity * unit_price - sales_cents),
        )
    except ValueError:
        problems.add(row.line, "Sales", f"unit price {sales / (1 - discount) / quantity:.2f} is out of range")
        return
    order = orders.setdefault(order_id, _Order(row.line, day, customer, region))
    for column, mine, theirs in (
        ("Order Date", day, order.day),
        ("Customer ID", customer, order.customer),
        ("Region", region, order.region),
    ):
        if mine != theirs:
            problems.add(row.line, column, f"differs from line {order.first_line} of the same Order ID")
            return
    if len(order.lines) == MAX_LINES_PER_ORDER:
        problems.add(row.line, "Order ID", f"order has more than {MAX_LINES_PER_ORDER} lines")
        return
    order.lines.append(line)
    product = products.setdefault(sku, _Product(name, category, sub_category))
    product.unit_prices.append(unit_price)
    product.unit_costs.append(unit_cost)
