"""Small generated catalogs, stock and ``daily_sales`` rollups, written straight into MongoDB.

Rollups look like the data consumer's: one document per day × SKU × store × channel, created only
on days something sold, so the service's zero-filling and channel summing are exercised too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta, timezone

import numpy as np
from pymongo.database import Database

from services.common import read_models
from services.forecast_service.sales_history import last_complete_day

WEEKLY = np.array([0.8, 0.85, 0.9, 1.0, 1.1, 1.4, 1.25])
LAST_DAY = last_complete_day() - timedelta(days=2)  # well inside the complete days, whatever the clock says

PRODUCTS = {
    "A": {"price_cents": 1000, "cost_cents": 600, "category": "Grocery"},
    "B": {"price_cents": 500, "cost_cents": 200, "category": "Grocery"},
    "C": {"price_cents": 2500, "cost_cents": 1500, "category": "Household"},
    "D": {"price_cents": 800, "cost_cents": 700, "category": "Household"},
}
STORES = ("s1", "s2")
MEANS = {
    ("A", "s1"): 20,
    ("B", "s1"): 10,
    ("C", "s1"): 5,
    ("D", "s1"): 2,
    ("A", "s2"): 12,
    ("B", "s2"): 6,
    ("C", "s2"): 3,
    ("D", "s2"): 1.5,
}


def seed_catalog(db: Database, products: dict[str, dict] = PRODUCTS, stores: Iterable[str] = STORES) -> None:
    db[read_models.PRODUCTS].insert_many(
        [
            {"_id": sku, "sku": sku, "name": f"Product {sku}", "sub_category": "Misc", "reorder_threshold": 5, **info}
            for sku, info in products.items()
        ]
    )
    db[read_models.STORES].insert_many(
        [{"_id": s, "store_id": s, "name": f"Store {s}", "region": "West"} for s in stores]
    )


def seed_stock(db: Database, on_hand: dict[tuple[str, str], int]) -> None:
    db[read_models.STOCK].insert_many(
        [
            {"_id": f"{sku}|{s}", "sku": sku, "store_id": s, "on_hand": qty, "reorder_threshold": 5, "status": "ok"}
            for (sku, s), qty in on_hand.items()
        ]
    )


def rollups(
    days: int,
    last_day: date = LAST_DAY,
    means: dict[tuple[str, str], float] = MEANS,
    seed: int = 0,
    price: Callable[[str, int], float] | None = None,
    products: dict[str, dict] = PRODUCTS,
    weekly: np.ndarray = WEEKLY,
    elasticity: float = -2.0,
) -> list[dict]:
    """Poisson units with a weekly pattern, split over two channels.

    ``price(sku, day_index)`` (cents) varies the price; demand then responds with ``elasticity``.
    """
    rng = np.random.default_rng(seed)
    first = last_day - timedelta(days=days - 1)
    docs = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        for (sku, store_id), mean in means.items():
            unit_price = price(sku, offset) if price else products[sku]["price_cents"]
            response = (unit_price / products[sku]["price_cents"]) ** elasticity
            total = int(rng.poisson(mean * weekly[day.weekday()] * response))
            online = int(rng.binomial(total, 0.4))
            for channel, units in (("online", online), ("store", total - online)):
                if units == 0:
                    continue  # the consumer creates rollups only when something sells
                docs.append(
                    rollup(
                        day,
                        sku,
                        store_id,
                        channel,
                        units,
                        int(round(unit_price)),
                        products[sku]["cost_cents"],
                        products[sku]["category"],
                    )
                )
    return docs


def varied_price_of(sku_with_varied_price: str) -> Callable[[str, int], float]:
    """List price, except one SKU whose price steps through −20 %, 0, +20 % every 10 days."""
    steps = (0.8, 1.0, 1.2)

    def price(sku: str, day_index: int) -> float:
        factor = steps[(day_index // 10) % 3] if sku == sku_with_varied_price else 1.0
        return PRODUCTS[sku]["price_cents"] * factor

    return price


def rollup(
    day: date,
    sku: str,
    store_id: str,
    channel: str,
    units: int,
    unit_price_cents: int,
    unit_cost_cents: int,
    category: str = "Grocery",
) -> dict:
    key = day.isoformat()
    return {
        "_id": f"{key}|{sku}|{store_id}|{channel}",
        "day": key,
        "date": datetime(day.year, day.month, day.day, tzinfo=timezone.utc),
        "sku": sku,
        "store_id": store_id,
        "channel": channel,
        "category": category,
        "sub_category": "Misc",
        "region": "West",
        "units": units,
        "revenue_cents": units * unit_price_cents,
        "cost_cents": units * unit_cost_cents,
        "discount_cents": 0,
        "order_lines": units,
        "returned_units": 0,
        "refund_cents": 0,
    }


def insert_rollups(db: Database, docs: list[dict]) -> None:
    for start in range(0, len(docs), 5000):
        db[read_models.DAILY_SALES].insert_many(docs[start : start + 5000], ordered=False)
