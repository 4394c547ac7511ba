"""Page data timings on a database filled with what ~1M orders produce (``shelfcast bench dashboard``).

The rollups are simulated in bulk with numpy (orders → lines → day × SKU × store × channel sums, and
the day and month summaries the pages read, folded from the same lines) and inserted directly; the
event collections the pages also read (orders, clicks) get only the most recent ``event_days`` days,
the window the pages default to. Each page's data functions (with the default-window lookup every
callback does first) are then timed with a cold cache over a 30-day window and over the whole range
(best of ``repeats``: the first run after a bulk insert also pays the server's JIT warm-up and
garbage collection), and warm. ``run_dashboard_bench`` does all that on a Mongo-protocol server of
its own, for ``shelfcast bench dashboard``.
"""

from __future__ import annotations

import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pymongo.database import Database
from tqdm import tqdm

from services.common import read_models
from services.common.settings import Settings
from services.common.store import connect, ensure_indexes
from services.dashboard.api_client import PromotionClient
from services.dashboard.data import DashboardData
from services.dashboard.filters import CHANNELS, Filters
from services.dashboard.reports import build_report
from services.devstack.jars import ensure_jars
from services.devstack.mongo import EmbeddedMongo

CATEGORIES = {
    "Furniture": ["Chairs", "Tables", "Bookcases"],
    "Office Supplies": ["Paper", "Binders", "Storage"],
    "Technology": ["Phones", "Accessories", "Machines"],
    "Grocery": ["Snacks", "Drinks", "Pantry"],
    "Home": ["Kitchen", "Decor", "Garden"],
}
REGIONS = {"West": (37.8, -122.4), "East": (40.7, -74.0), "Central": (41.9, -87.6), "South": (29.8, -95.4)}
DISCOUNTS = np.array([0, 0, 0, 0, 0.05, 0.1, 0.2, 0.3, 0.45])
BATCH = 10_000


def fill_database(
    db: Database,
    orders: int = 1_000_000,
    days: int = 730,
    skus: int = 200,
    stores: int = 10,
    event_days: int = 30,
    end: date | None = None,
    seed: int = 7,
) -> dict[str, int]:
    """Insert catalog, rollups for ``orders`` orders over ``days`` days, and recent events; returns document counts."""
    rng = np.random.default_rng(seed)
    end = end or datetime.now(timezone.utc).date()
    products = _products(rng, skus)
    locations = _stores(rng, stores)
    lines = _simulate_lines(rng, orders, days, skus, stores, end)
    rollups = _rollup_documents(lines, products, locations, end, days)
    summaries = _summary_documents(lines, products, locations, end, days)
    recent = lines[lines["day_index"] >= days - event_days]
    order_docs = _order_documents(recent, products, locations, end, days)
    counts = {
        read_models.PRODUCTS: _insert(db, read_models.PRODUCTS, products.to_dict("records")),
        read_models.STORES: _insert(db, read_models.STORES, locations.to_dict("records")),
        read_models.DAILY_SALES: _insert(db, read_models.DAILY_SALES, rollups),
        read_models.SALES_SUMMARY: _insert(db, read_models.SALES_SUMMARY, summaries),
        read_models.ORDERS: _insert(db, read_models.ORDERS, order_docs),
        read_models.CLICKS: _insert(db, read_models.CLICKS, _click_documents(rng, order_docs)),
        read_models.STOCK: _insert(db, read_models.STOCK, _stock_documents(rng, products, locations)),
        read_models.ALERTS: _insert(
            db, read_models.ALERTS, _alert_documents(rng, products, locations, end, event_days)
        ),
        read_models.EXPOSURES: _insert(db, read_models.EXPOSURES, _exposure_documents(rng, order_docs)),
    }
    db[read_models.CONSUMER_STATUS].replace_one(
        {"_id": "bench"},
        {"group": "bench", "lag": 0, "events_per_s": 0.0, "updated_at": datetime.now(timezone.utc)},
        upsert=True,
    )
    counts["order_lines_simulated"] = len(lines)
    return counts


def page_loads(data: DashboardData, promotions: PromotionClient) -> dict[str, Callable[[Filters], Any]]:
    """What each page asks ``data.py`` for on one refresh (as its callbacks do)."""

    def overview(f: Filters) -> None:
        (
            data.compare_periods(f),
            data.ingestion(),
            data.alerts(f, 8),
            data.sales_by_day_channel(f),
            data.previous_sales_by_day_channel(f),
        )

    def sales(f: Filters) -> None:
        (
            data.sales_by_day_channel(f),
            data.sales_by_category(f),
            data.sales_by_store(f),
            data.discount_bands(f),
            data.sales_by_segment(f),
            data.sales_by_sku(f),
        )

    def forecasts(f: Filters) -> None:
        skus, stores = data.sales_by_sku(f)["sku"], data.sales_by_store(f)["store_id"]
        if len(skus) and len(stores):  # a tiny run may have no sale in the window
            data.sku_history(skus.iloc[0], stores.iloc[0], f.end)

    return {
        "overview": overview,
        "sales": sales,
        "inventory": lambda f: (data.stock_levels(f), data.alerts(f)),
        "promotions": lambda f: (data.exposures(f), data.promoted_orders(f)),
        "forecasts": forecasts,
        "baskets": lambda f: data.basket_rules(f),
        "reports": lambda f: build_report(data, promotions, "monthly", f),
    }


def bench_pages(
    settings: Settings, orders: int = 1_000_000, days: int = 730, repeats: int = 2, progress: bool = False
) -> dict[str, Any]:
    """Fill a fresh database next to ``settings.mongo_db`` and time every page's data functions."""
    _check(orders, days, repeats)
    db = connect(settings.mongo_uri, f"{settings.mongo_db}_bench_{uuid.uuid4().hex[:6]}")
    ensure_indexes(db)
    try:
        started = time.perf_counter()
        counts = fill_database(db, orders=orders, days=days)
        fill_s = time.perf_counter() - started
        data = DashboardData(db, ttl_s=3600)
        promotions = PromotionClient(
            "http://127.0.0.1:9", timeout_s=0.5
        )  # nothing listens: measures the page with the engine down
        last = data.latest_day()
        windows = {
            "30d": Filters(last - timedelta(days=29), last),
            "full": Filters(last - timedelta(days=days - 1), last),
        }
        pages: dict[str, dict[str, float]] = {}
        for name, page in tqdm(
            page_loads(data, promotions).items(), desc="pages", unit="page", disable=not progress, file=sys.stderr
        ):

            def load(f: Filters, page: Callable[[Filters], Any] = page) -> None:
                data.latest_day(), page(f)  # every callback turns the shell's filters into dates first

            timings = {}
            for label, f in windows.items():
                colds = []
                for _ in range(repeats):
                    data.clear_cache()
                    colds.append(_ms(partial(load, f)))
                timings[f"cold_{label}_ms"] = min(colds)
                timings[f"warm_{label}_ms"] = _ms(partial(load, f))
            pages[name] = timings
    finally:
        db.client.drop_database(db.name)
    slowest = {label: max(t[f"cold_{label}_ms"] for t in pages.values()) for label in windows}
    return {
        "orders": orders,
        "days": days,
        "documents": counts,
        "fill_seconds": round(fill_s, 1),
        "repeats": repeats,
        "slowest_cold_30d_ms": slowest["30d"],
        "slowest_cold_full_ms": slowest["full"],
        "pages": pages,
    }


def run_dashboard_bench(
    settings: Settings, orders: int, days: int = 730, repeats: int = 2, progress: bool = True
) -> dict[str, Any]:
    """``bench_pages`` on a Mongo-protocol server started for the run (memory backend) and stopped after it."""
    _check(orders, days, repeats)
    with tempfile.TemporaryDirectory(prefix="shelfcast-dashboard-bench-") as run_dir:
        server = EmbeddedMongo(ensure_jars(settings.data_dir / "jars"), Path(run_dir) / "mongo")
        server.start()
        try:
            return bench_pages(
                settings.model_copy(update={"mongo_uri": server.uri, "mongo_db": "bench"}),
                orders,
                days,
                repeats,
                progress,
            )
        finally:
            server.stop()


def _check(orders: int, days: int, repeats: int) -> None:
    """Bad sizes fail before anything starts, with a one-line message for the CLI."""
    if orders < 1 or days < 1 or repeats < 1:
        raise ValueError(f"orders, days and repeats must be at least 1 (got {orders}, {days}, {repeats})")


def _ms(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return round((time.perf_counter() - started) * 1000, 1)


def _insert(db: Database, collection: str, docs: list[dict]) -> int:
    for i in range(0, len(docs), BATCH):
        db[collection].insert_many(docs[i : i + BATCH], ordered=False)
    return len(docs)


def _products(rng: np.random.Generator, n: int) -> pd.DataFrame:
    pairs = [(c, s) for c, subs in CATEGORIES.items() for s in subs]
    price = np.round(np.exp(rng.uniform(np.log(200), np.log(30_000), n))).astype(int)
    return pd.DataFrame(
        {
            "_id": [f"SKU{i:04d}" for i in range(n)],
            "name": [f"{pairs[i % len(pairs)][1]} item {i}" for i in range(n)],
            "category": [pairs[i % len(pairs)][0] for i in range(n)],
            "sub_category": [pairs[i % len(pairs)][1] for i in range(n)],
            "price_cents": price,
            "cost_cents": np.round(price * rng.uniform(0.5, 0.8, n)).astype(int),
            "reorder_threshold": 10,
        }
    )


def _stores(rng: np.random.Generator, n: int) -> pd.DataFrame:
    regions = list(REGIONS)
    region = [regions[i % len(regions)] for i in range(n)]
    return pd.DataFrame(
        {
            "_id": [f"ST{i:02d}" for i in range(n)],
            "name": [f"Store {i} ({r})" for i, r in enumerate(region)],
            "region": region,
            "latitude": [REGIONS[r][0] + rng.normal(0, 1.5) for r in region],
            "longitude": [REGIONS[r][1] + rng.normal(0, 2.0) for r in region],
        }
    )


def _simulate_lines(
    rng: np.random.Generator, orders: int, days: int, skus: int, stores: int, end: date
) -> pd.DataFrame:
    """One row per order line: order, day, SKU (Zipf-like popularity, some pairs bought together), store, channel,
    quantity, discount.
    """
    first = end - timedelta(days=days - 1)
    weekday = (np.arange(days) + first.weekday()) % 7
    day_weight = (1 + 0.3 * (weekday >= 5)) * np.linspace(0.8, 1.2, days)
    order_day = rng.choice(days, size=orders, p=day_weight / day_weight.sum())
    order_store = rng.choice(stores, size=orders, p=np.linspace(2, 1, stores) / np.linspace(2, 1, stores).sum())
    order_channel = rng.choice(len(CHANNELS), size=orders, p=[0.5, 0.35, 0.15])
    n_lines = rng.geometric(0.65, size=orders)  # lines per order, mean ~1.5
    order_index = np.repeat(np.arange(orders), n_lines)
    popularity = 1 / np.arange(1, skus + 1) ** 0.9
    sku = rng.choice(skus, size=len(order_index), p=popularity / popularity.sum())
    first_line = np.r_[True, order_index[1:] != order_index[:-1]]
    partner = ~first_line & (rng.random(len(sku)) < 0.35)
    sku[partner] = (np.roll(sku, 1)[partner] + 1) % skus
    return pd.DataFrame(
        {
            "order": order_index,
            "day_index": order_day[order_index],
            "sku": sku,
            "store": order_store[order_index],
            "channel": order_channel[order_index],
            "quantity": rng.integers(1, 4, size=len(sku)),
            "discount": rng.choice(DISCOUNTS, size=len(sku)),
        }
    ).drop_duplicates(["order", "sku"])


def _priced(lines: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    price = products["price_cents"].to_numpy()[lines["sku"]]
    cost = products["cost_cents"].to_numpy()[lines["sku"]]
    discount = np.round(lines["quantity"] * price * lines["discount"]).astype(int)
    return lines.assign(
        unit_price_cents=price,
        discount_cents=discount,
        revenue_cents=lines["quantity"] * price - discount,
        cost_cents=lines["quantity"] * cost,
    )


def _rollup_documents(
    lines: pd.DataFrame, products: pd.DataFrame, stores: pd.DataFrame, end: date, days: int
) -> list[dict]:
    priced = _priced(lines, products)
    sums = priced.groupby(["day_index", "sku", "store", "channel"], as_index=False).agg(
        units=("quantity", "sum"),
        revenue_cents=("revenue_cents", "sum"),
        cost_cents=("cost_cents", "sum"),
        discount_cents=("discount_cents", "sum"),
        order_lines=("quantity", "size"),
    )
    first = datetime.combine(end - timedelta(days=days - 1), datetime.min.time(), tzinfo=timezone.utc)
    dates = [first + timedelta(days=i) for i in range(days)]
    sku_ids, store_ids, regions = products["_id"].tolist(), stores["_id"].tolist(), stores["region"].tolist()
    categories, subs = products["category"].tolist(), products["sub_category"].tolist()
    docs = []
    for r in sums.itertuples(index=False):
        day = dates[r.day_index].strftime("%Y-%m-%d")
        product = {"category": categories[r.sku], "sub_category": subs[r.sku]}
        doc = read_models.new_rollup_document(
            day, sku_ids[r.sku], store_ids[r.store], CHANNELS[r.channel], product, regions[r.store]
        )
        docs.append(
            doc
            | {
                counter: int(getattr(r, counter))
                for counter in ("units", "revenue_cents", "cost_cents", "discount_cents", "order_lines")
            }
        )
    return docs


def _summary_documents(
    lines: pd.DataFrame, products: pd.DataFrame, stores: pd.DataFrame, end: date, days: int
) -> list[dict]:
    """Day and month summaries as the consumer's ``add_to_summary`` leaves them, folded from the same order lines."""
    priced = _priced(lines, products).rename(columns={"quantity": "units"})
    first = end - timedelta(days=days - 1)
    day_names = np.array([(first + timedelta(days=i)).strftime("%Y-%m-%d") for i in range(days)])
    list_cents = priced["units"] * products["price_cents"].to_numpy()[priced["sku"]]
    priced = priced.assign(
        category=products["category"].to_numpy()[priced["sku"]],
        sku=products["_id"].to_numpy()[priced["sku"]],
        band=[read_models.discount_band(d, g) for d, g in zip(priced["discount_cents"], list_cents)],
    )
    store_ids, regions = stores["_id"].tolist(), stores["region"].tolist()
    docs: dict[str, dict] = {}
    tables = (
        ("skus", ["sku"], read_models.SUMMARY_SKU_COUNTERS),
        ("categories", ["category"], read_models.SUMMARY_CATEGORY_COUNTERS),
        ("discounts", ["category", "band"], read_models.SUMMARY_DISCOUNT_COUNTERS),
    )
    for periods in (day_names, np.array([d[:7] for d in day_names])):
        by_period = priced.assign(period=periods[priced["day_index"]])
        for table, keys, counters in tables:
            summed = [c for c in counters if c in by_period.columns]  # returns are not simulated: their counters stay 0
            sums = by_period.groupby(["period", "store", "channel", *keys], as_index=False)[summed].sum()
            for (period, store, channel), rows in sums.groupby(["period", "store", "channel"]):
                summary = read_models.new_summary_document(period, store_ids[store], CHANNELS[channel], regions[store])
                doc = docs.setdefault(summary["_id"], summary | {"version": 1, "applied": {}})
                read_models.append_summary_rows(
                    doc,
                    table,
                    [
                        {k: (int(v) if k in summed or k == "band" else v) for k, v in row.items()}
                        for row in rows[[*keys, *summed]].to_dict("records")
                    ],
                )
    return list(docs.values())


def _order_documents(
    lines: pd.DataFrame, products: pd.DataFrame, stores: pd.DataFrame, end: date, days: int
) -> list[dict]:
    priced = _priced(lines, products)
    first = datetime.combine(end - timedelta(days=days - 1), datetime.min.time(), tzinfo=timezone.utc)
    sku_ids, store_ids, regions = products["_id"].tolist(), stores["_id"].tolist(), stores["region"].tolist()
    docs = []
    for order, group in priced.groupby("order", sort=False):
        head = group.iloc[0]
        at = first + timedelta(days=int(head["day_index"]), seconds=int(order) % 86_400)
        doc_lines = [
            {
                "sku": sku_ids[int(r.sku)],
                "quantity": int(r.quantity),
                "unit_price_cents": int(r.unit_price_cents),
                "discount_cents": int(r.discount_cents),
                "revenue_cents": int(r.revenue_cents),
                "cost_cents": int(r.cost_cents),
            }
            for r in group.itertuples(index=False)
        ]
        docs.append(
            {
                "_id": str(uuid.UUID(int=int(order) + 1)),
                "order_id": f"o{order}",
                "customer_id": f"cu_{order % 50_000:024x}",
                "store_id": store_ids[int(head["store"])],
                "channel": CHANNELS[int(head["channel"])],
                "occurred_at": at,
                "day": at.strftime("%Y-%m-%d"),
                "lines": doc_lines,
                "revenue_cents": sum(line["revenue_cents"] for line in doc_lines),
                "cost_cents": sum(line["cost_cents"] for line in doc_lines),
                "discount_cents": sum(line["discount_cents"] for line in doc_lines),
                "units": sum(line["quantity"] for line in doc_lines),
                "region": regions[int(head["store"])],
                "promotion_id": "P-SPRING" if order % 11 == 0 else None,
            }
        )
    return docs


def _click_documents(rng: np.random.Generator, orders: list[dict]) -> list[dict]:
    """About 2.5 sessions per online or marketplace order, one view each."""
    docs = []
    for o in orders:
        if o["channel"] == "store":
            continue
        for _ in range(1 + rng.poisson(1.5)):
            docs.append(
                {
                    "customer_id": o["customer_id"],
                    "session_id": uuid.uuid4().hex[:16],
                    "action": "view",
                    "sku": o["lines"][0]["sku"],
                    "promotion_id": None,
                    "channel": o["channel"],
                    "occurred_at": o["occurred_at"],
                    "day": o["day"],
                }
            )
    return docs


def _stock_documents(rng: np.random.Generator, products: pd.DataFrame, stores: pd.DataFrame) -> list[dict]:
    docs = []
    for sku in products["_id"]:
        for store_id in stores["_id"]:
            on_hand = int(max(0, rng.normal(40, 25)))
            docs.append(
                read_models.new_stock_document(
                    sku,
                    store_id,
                    10,
                    on_hand,
                    sold_units=int(rng.integers(0, 500)),
                    backordered_units=int(rng.integers(0, 5)) if on_hand == 0 else 0,
                    updated_at=datetime.now(timezone.utc),
                )
            )
    return docs


def _alert_documents(
    rng: np.random.Generator, products: pd.DataFrame, stores: pd.DataFrame, end: date, days: int
) -> list[dict]:
    kinds = ["low_stock", "out_of_stock", "backorder"]
    docs = []
    for i in range(20 * days):
        sku, store_id, kind = rng.choice(products["_id"]), rng.choice(stores["_id"]), kinds[i % 3]
        at = datetime.combine(end, datetime.min.time(), tzinfo=timezone.utc) - timedelta(
            minutes=int(rng.integers(0, days * 1440))
        )
        stock = read_models.new_stock_document(sku, store_id, 10, 0 if kind != "low_stock" else 5)
        docs.append(
            read_models.alert_document(stock, f"bench{i}", kind, f"{sku} at {store_id}: {kind.replace('_', ' ')}", at)
        )
    return docs


def _exposure_documents(rng: np.random.Generator, orders: list[dict]) -> list[dict]:
    return [
        {
            "customer_id": o["customer_id"],
            "promotion_id": "P-SPRING",
            "arm": "treatment" if rng.random() < 0.8 else "control",
            "sku": o["lines"][0]["sku"],
            "channel": o["channel"],
            "occurred_at": o["occurred_at"],
            "day": o["day"],
        }
        for o in orders[::3]
    ]
