"""The forecast API over the session's real Kafka and Mongo-protocol server (a plugin of the root conftest,
so the benchmark tests share the one trained model).

``trained_api`` (session scope) seeds a catalog, stock and 160 days of rollups into a database of its
own (SKU C's price varies, so its elasticity can be estimated), starts the app and trains once, so
read-only tests share one model; tests that change the
model state (409s, retrain, activation) build their own with ``make_api``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from services.common.bus import ensure_topics
from services.common.settings import Settings
from services.common.store import connect
from services.forecast_service.api.app import create_app
from services.forecast_service.training import TrainingConfig
from tests.forecast_service import sales_data

READ, WRITE, ADMIN = "read-key", "write-key", "admin-key"
API_KEYS = f"{READ}:read,{WRITE}:write,{ADMIN}:admin"
TRAINING = TrainingConfig(n_estimators=30, continue_estimators=10)  # fast; max_horizon stays 90
TRAIN_DAYS = 160
WAIT_S = 120.0


def headers(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


def own_settings(live_settings: Settings, data_dir: Path, topics: bool = False, **update: object) -> Settings:
    """The live servers with a database and topic prefix of this app's own (topics created if asked)."""
    suffix = uuid.uuid4().hex[:8]
    settings = live_settings.model_copy(
        update={
            "mongo_db": f"fc_{suffix}",
            "topic_prefix": f"fc_{suffix}",
            "api_keys": SecretStr(API_KEYS),
            "data_dir": data_dir,
            **update,
        }
    )
    if topics:
        ensure_topics(settings.kafka_bootstrap, 1, settings.topics.all)
    return settings


def wait_for_job(client: TestClient, timeout_s: float = WAIT_S) -> dict:
    """Poll ``/train/status`` until the job leaves 'running' (fails with the last status on timeout)."""
    deadline = time.monotonic() + timeout_s
    status: dict = {}
    while time.monotonic() < deadline:
        status = client.get("/train/status", headers=headers(READ)).json()
        if status["state"] != "running":
            return status
        time.sleep(0.1)
    raise AssertionError(f"training did not finish within {timeout_s:.0f}s: {status}")


def train(client: TestClient, endpoint: str = "/train") -> dict:
    response = client.post(endpoint, headers=headers(WRITE))
    assert response.status_code == 202, response.text
    return wait_for_job(client)


class Api:
    """A running app (TestClient) with its settings and database."""

    def __init__(self, client: TestClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self.db = connect(settings.mongo_uri, settings.mongo_db)

    def get(self, path: str, key: str | None = READ, **kwargs):
        return self.client.get(path, headers=headers(key) if key else {}, **kwargs)

    def post(self, path: str, key: str | None = WRITE, extra_headers: dict[str, str] | None = None, **kwargs):
        return self.client.post(path, headers=(headers(key) if key else {}) | (extra_headers or {}), **kwargs)


@pytest.fixture
def make_api(live_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Api]]:
    """Factory of apps, each over a fresh database and topic prefix; all closed at teardown."""
    with ExitStack() as stack:

        def make(training: TrainingConfig = TRAINING, settings_update: dict | None = None, **app_options) -> Api:
            settings = own_settings(live_settings, tmp_path_factory.mktemp("forecast"), **(settings_update or {}))
            client = stack.enter_context(TestClient(create_app(settings, training, **app_options)))
            return Api(client, settings)

        yield make


@pytest.fixture(scope="session")
def trained_api(live_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    settings = own_settings(live_settings, tmp_path_factory.mktemp("forecast"), topics=True)
    db = connect(settings.mongo_uri, settings.mongo_db)
    sales_data.seed_catalog(db)
    sales_data.seed_stock(db, {("A", "s1"): 500, ("B", "s1"): 0, ("C", "s1"): 30, ("D", "s1"): 3})
    sales_data.insert_rollups(db, sales_data.rollups(TRAIN_DAYS, price=sales_data.varied_price_of("C")))
    with TestClient(create_app(settings, TRAINING)) as client:
        api = Api(client, settings)
        status = train(client)
        assert status["state"] == "done", status
        yield api
