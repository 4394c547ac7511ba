"""Dashboard tests: hand-made documents in an isolated database of the session's Mongo-protocol server.

The helpers build rollup, order and click documents shaped like the consumer writes them (and
``insert_rollups`` the summaries derived from the rollups), so numbers in assertions can be checked by hand.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from itertools import count

import pytest
from dash import Dash
from pymongo.database import Database

from services.common import read_models
from services.common.read_models import (
    SUMMARY_CATEGORY_COUNTERS,
    SummaryItem,
    add_to_summary,
    discount_band,
    summary_ids,
)
from services.common.settings import Settings
from services.common.store import connect, ensure_indexes
from services.dashboard.data import DashboardData
from services.data_consumer.rollups import new_summary_document
from services.data_consumer.validation import CatalogCache

DAY = date(2026, 3, 10)
_ids = count()


@pytest.fixture
def db(isolated_settings: Settings) -> Database:
    database = connect(isolated_settings.mongo_uri, isolated_settings.mongo_db)
    ensure_indexes(database)
    return database


@pytest.fixture
def data(db: Database) -> DashboardData:
    """No caching: each assertion sees the documents inserted just before it."""
    return DashboardData(db, ttl_s=0)


def seed_catalog(db: Database) -> None:
    """Two products in two categories, two stores in two regions."""
    db[read_models.PRODUCTS].insert_many(
        [
            {
                "_id": "A1",
                "name": "Apples",
                "category": "Grocery",
                "sub_category": "Fruit",
                "price_cents": 1000,
                "cost_cents": 600,
                "reorder_threshold": 3,
            },
            {
                "_id": "B2",
                "name": "Bowls",
                "category": "Home",
                "sub_category": "Kitchen",
                "price_cents": 2500,
                "cost_cents": 1000,
                "reorder_threshold": 3,
            },
        ]
    )
    db[read_models.STORES].insert_many(
        [
            {"_id": "s1", "name": "Seattle", "region": "West", "latitude": 47.6, "longitude": -122.3},
            {"_id": "s2", "name": "Boston", "region": "East", "latitude": 42.4, "longitude": -71.1},
        ]
    )


def rollup(
    day: date,
    sku: str = "A1",
    store_id: str = "s1",
    channel: str = "online",
    units: int = 1,
    revenue: int = 1000,
    cost: int = 600,
    discount: int = 0,
    refund: int = 0,
) -> dict:
    category, sub = {"A1": ("Grocery", "Fruit"), "B2": ("Home", "Kitchen")}[sku]
    region = {"s1": "West", "s2": "East"}[store_id]
    d = day.isoformat()
    return {
        "_id": f"{d}|{sku}|{store_id}|{channel}",
        "day": d,
        "date": datetime.combine(day, time.min, tzinfo=timezone.utc),
        "sku": sku,
        "store_id": store_id,
        "channel": channel,
        "category": category,
        "sub_category": sub,
        "region": region,
        "units": units,
        "revenue_cents": revenue,
        "cost_cents": cost,
        "discount_cents": discount,
        "order_lines": 1,
        "returned_units": 0,
        "refund_cents": refund,
    }


def insert_rollups(db: Database, rows: list[dict]) -> None:
    """Store hand-made ``daily_sales`` rows and fold them into the day and month summaries the pages read, with the
    consumer's own summary functions (each row stands for one order line, so its discount band is the row's)."""
    db[read_models.DAILY_SALES].insert_many(rows)
    catalog = CatalogCache(db)
    summaries: dict[str, dict] = {}
    for row in rows:
        item = SummaryItem(
            row["sku"],
            row["category"],
            {k: row[k] for k in SUMMARY_CATEGORY_COUNTERS},
            discount_band(row["discount_cents"], row["revenue_cents"] + row["discount_cents"]),
        )
        for doc_id in summary_ids(row["day"], row["store_id"], row["channel"]):
            if doc_id not in summaries:
                summaries[doc_id] = db[read_models.SALES_SUMMARY].find_one({"_id": doc_id}) or new_summary_document(
                    doc_id, catalog
                )
            add_to_summary(summaries[doc_id], [item])
    for doc_id, doc in summaries.items():
        db[read_models.SALES_SUMMARY].replace_one({"_id": doc_id}, doc, upsert=True)


def order_doc(
    day: date, skus: list[str], channel: str = "online", store_id: str = "s1", revenue: int = 1000, minute: int = 0
) -> dict:
    n = next(_ids)
    at = datetime.combine(day, time(10, 0), tzinfo=timezone.utc) + timedelta(minutes=minute)
    return {
        "_id": f"ev-{n}",
        "order_id": f"o-{n}",
        "customer_id": "cu_x",
        "store_id": store_id,
        "channel": channel,
        "occurred_at": at,
        "day": day.isoformat(),
        "lines": [
            {
                "sku": s,
                "quantity": 1,
                "unit_price_cents": revenue // len(skus),
                "discount_cents": 0,
                "revenue_cents": revenue // len(skus),
                "cost_cents": 0,
            }
            for s in skus
        ],
        "revenue_cents": revenue,
        "cost_cents": 0,
        "discount_cents": 0,
        "units": len(skus),
        "region": {"s1": "West", "s2": "East"}[store_id],
        "promotion_id": None,
    }


def click_doc(day: date, session: str, channel: str = "online") -> dict:
    return {
        "customer_id": "cu_x",
        "session_id": session,
        "action": "view",
        "sku": "A1",
        "promotion_id": None,
        "channel": channel,
        "occurred_at": datetime.combine(day, time(9, 0), tzinfo=timezone.utc),
        "day": day.isoformat(),
    }


@pytest.fixture(scope="session")
def app_settings(live_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The one app of the session (Dash pages register callbacks per process) gets its own database and topics."""
    from services.common.bus import ensure_topics

    suffix = uuid.uuid4().hex[:8]
    settings = live_settings.model_copy(
        update={
            "mongo_db": f"dash_{suffix}",
            "consumer_group": f"dash_{suffix}",
            "topic_prefix": f"dash_{suffix}",
            "consumer_batch_size": 500,
            "consumer_poll_ms": 100,
            "consumer_metrics_port": 0,
            "data_dir": tmp_path_factory.mktemp("dashboard"),
        }
    )
    ensure_topics(settings.kafka_bootstrap, settings.topic_partitions, settings.topics.all)
    return settings


@pytest.fixture(scope="session")
def dashboard_app(app_settings: Settings) -> Iterator[Dash]:
    """Dev mode (no login), fast refresh, and both APIs pointed at a port nobody listens on."""
    from services.dashboard.app import create_app
    from services.dashboard.config import load_config
    from services.dashboard.context import EXTENSION
    from services.devstack.process import free_port

    down = f"http://127.0.0.1:{free_port()}"
    config = load_config(
        dev_mode=True,
        refresh_ms=1000,
        cache_ttl_s=0.5,
        report_interval_s=0,
        forecast_url=down,
        promotion_url=down,
        api_timeout_s=0.5,
    )
    app = create_app(app_settings, config)
    yield app
    app.server.extensions[EXTENSION].publisher.close()  # before the session's Kafka stops
