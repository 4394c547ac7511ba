"""The promotion engine over the session's real Kafka broker and Mongo-protocol server.

Each test gets its own database, topics and data directory (``isolated_settings``), seeds the
collections the data consumer would have written (products, stock, orders, clicks, exposures) in
the consumer's shapes, and starts the real app with ``start_app`` (FastAPI ``TestClient``, so the
lifespan runs: Kafka producer, click-stream tail, order-history snapshot).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from pymongo.database import Database

from services.common.bus import ensure_topics
from services.common.events import PromotionExposed, parse_event
from services.common.settings import Settings
from services.common.store import connect
from services.promotion_engine.api.app import create_app
from services.promotion_engine.config import PromotionConfig
from tests.topic_reading import read_records

NOW = datetime.now(timezone.utc)
WAIT_S = 60.0


def make_config(**overrides: object) -> PromotionConfig:
    """Test defaults: nobody in the control group unless a test says so, and no caching between requests.

    Budget charges and frequency counts are written behind (the serving default) every 50 ms; tests
    of several servers sharing a budget or a cap pass ``write_behind_s=0`` (write-through).
    """
    values: dict = {
        "control_share": 0.0,
        "history_refresh_s": 0.0,
        "promotions_ttl_s": 0.0,
        "stock_ttl_s": 0.0,
        "catalog_ttl_s": 0.0,
        "write_behind_s": 0.05,
    } | overrides
    return PromotionConfig(_env_file=None, **values)  # type: ignore[call-arg]


def own_settings(live: Settings, data_dir: Path, all_topics: bool = False) -> Settings:
    """The live servers with a database, topics and data directory of the caller's own.

    The engine itself only needs the clicks and exposures topics; one partition each is created
    unless ``all_topics`` (for tests that run the data consumer too) — 0.2 s instead of 0.9 s a test.
    """
    suffix = uuid.uuid4().hex[:8]
    settings = live.model_copy(
        update={
            "mongo_db": f"pe_{suffix}",
            "topic_prefix": f"pe_{suffix}",
            "consumer_group": f"pe_{suffix}",
            "data_dir": data_dir,
            "api_keys": SecretStr(""),
        }
    )
    if all_topics:
        ensure_topics(settings.kafka_bootstrap, settings.topic_partitions, settings.topics.all)
    else:
        ensure_topics(
            settings.kafka_bootstrap,
            1,
            [settings.topics.for_event_type("click"), settings.topics.for_event_type("exposure")],
        )
    return settings


@pytest.fixture
def settings(live_settings: Settings, tmp_path: Path) -> Settings:
    return own_settings(live_settings, tmp_path)


@pytest.fixture
def db(settings: Settings) -> Database:
    return connect(settings.mongo_uri, settings.mongo_db)


class AppStarter:
    """Starts the real app (lifespan entered) and stops every app it started."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.clients: list[TestClient] = []

    def __call__(self, api_keys: str = "", **config: object) -> TestClient:
        client = TestClient(
            create_app(self.settings.model_copy(update={"api_keys": SecretStr(api_keys)}), make_config(**config))
        )
        client.__enter__()
        self.clients.append(client)
        return client

    def stop(self) -> None:
        for client in self.clients:
            client.__exit__(None, None, None)


@pytest.fixture
def start_app(settings: Settings) -> Iterator[AppStarter]:
    """``start_app(api_keys=..., **config)``: the app running with this test's settings."""
    starter = AppStarter(settings)
    yield starter
    starter.stop()


# --- seeding what the data consumer would have stored -------------------------------------------------


def add_product(
    db: Database, sku: str, category: str = "Grocery", price_cents: int = 1000, cost_cents: int = 500
) -> None:
    db.products.replace_one(
        {"_id": sku},
        {
            "_id": sku,
            "sku": sku,
            "name": f"Product {sku}",
            "category": category,
            "sub_category": "Any",
            "price_cents": price_cents,
            "cost_cents": cost_cents,
            "reorder_threshold": 10,
        },
        upsert=True,
    )


def set_stock(db: Database, sku: str, on_hand: int, threshold: int = 10, store_id: str = "web") -> None:
    db.stock.replace_one(
        {"_id": f"{sku}|{store_id}"},
        {
            "_id": f"{sku}|{store_id}",
            "sku": sku,
            "store_id": store_id,
            "on_hand": on_hand,
            "reorder_threshold": threshold,
            "status": "ok",
        },
        upsert=True,
    )


def add_order(
    db: Database,
    customer_id: str,
    sku: str,
    at: datetime,
    quantity: int = 1,
    price_cents: int = 1000,
    discount_cents: int = 0,
    cost_cents: int = 500,
    promotion_id: str | None = None,
    order_id: str | None = None,
) -> None:
    revenue = quantity * price_cents - discount_cents
    line = {
        "sku": sku,
        "quantity": quantity,
        "unit_price_cents": price_cents,
        "discount_cents": discount_cents,
        "revenue_cents": revenue,
        "cost_cents": quantity * cost_cents,
    }
    db.orders.insert_one(
        {
            "_id": order_id or f"o-{customer_id}-{sku}-{at.timestamp()}",
            "customer_id": customer_id,
            "store_id": "web",
            "channel": "online",
            "occurred_at": at,
            "lines": [line],
            "revenue_cents": revenue,
            "cost_cents": quantity * cost_cents,
            "discount_cents": discount_cents,
            "promotion_id": promotion_id,
        }
    )


def add_exposure(
    db: Database, customer_id: str, promotion_id: str, arm: str, at: datetime, sku: str | None = None
) -> None:
    db.exposures.insert_one(
        {
            "_id": f"x-{customer_id}-{promotion_id}-{at.timestamp()}",
            "customer_id": customer_id,
            "promotion_id": promotion_id,
            "arm": arm,
            "sku": sku,
            "occurred_at": at,
            "channel": "online",
        }
    )


def promotion_body(promotion_id: str, **overrides: object) -> dict:
    body = {
        "promotion_id": promotion_id,
        "name": f"Promotion {promotion_id}",
        "type": "percent_off",
        "discount_pct": 10,
        "sku": "SKU-A",
        "starts_at": (NOW - timedelta(days=1)).isoformat(),
        "ends_at": (NOW + timedelta(days=7)).isoformat(),
        "budget_cents": 1_000_000,
        "max_per_customer_per_day": 100,
        "stock_cover_threshold": 1.0,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def create_promotion(client: TestClient, promotion_id: str, **overrides: object) -> dict:
    response = client.post("/promotions", json=promotion_body(promotion_id, **overrides))
    assert response.status_code == 201, response.text
    return response.json()


def promoted(client: TestClient, customer_id: str, **params: object) -> list[str]:
    response = client.get(f"/recommendations/{customer_id}", params=params)
    assert response.status_code == 200, response.text
    return [r["promotion_id"] for r in response.json()["recommendations"]]


def read_exposures(settings: Settings, expected: int, timeout_s: float = WAIT_S) -> list[PromotionExposed]:
    """Every exposure event on the test's topic, waiting until ``expected`` arrived."""
    records = read_records(settings, [settings.topics.for_event_type("exposure")], expected, timeout_s)
    return [parse_event(record.value) for record in records]
