"""Raw clicks are kept ``SHELFCAST_CLICK_RETENTION_DAYS``: a TTL index for a real MongoDB, and the
consumer's purge, which is what holds on mongo-java-server (it never expires TTL documents)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from pymongo.database import Database

from services.common import read_models, store
from services.common.settings import Settings, load_settings
from services.common.store import connect, ensure_indexes
from services.data_consumer.main import run_consumer
from services.data_consumer.retention import ClickRetention, purge_expired_clicks
from tests.waiting import wait_for

NOW = datetime.now(timezone.utc)


def _clicks(db: Database, ages_days: dict[str, float]) -> None:
    db[read_models.CLICKS].insert_many(
        [
            {
                "_id": name,
                "customer_id": "cu_" + "a" * 24,
                "session_id": "s",
                "action": "view",
                "sku": "A1",
                "channel": "online",
                "occurred_at": NOW - timedelta(days=age),
            }
            for name, age in ages_days.items()
        ]
    )


def _left(db: Database) -> list[str]:
    return sorted(doc["_id"] for doc in db[read_models.CLICKS].find({}, {"_id": 1}))


@pytest.fixture
def clicks_db(isolated_settings: Settings) -> Database:
    db = connect(isolated_settings.mongo_uri, isolated_settings.mongo_db)
    _clicks(db, {"old": 45, "just-over": 30.01, "just-under": 29.99, "today": 0})
    return db


def test_retention_setting_defaults_to_30_days_and_0_means_forever() -> None:
    assert Settings.model_fields["click_retention_days"].default == 30
    assert load_settings(click_retention_days=0).click_retention_days == 0
    with pytest.raises(ValueError):
        load_settings(click_retention_days=-1)


def test_purge_deletes_clicks_older_than_the_retention_and_keeps_the_rest(clicks_db: Database) -> None:
    assert purge_expired_clicks(clicks_db, 30, NOW) == 2
    assert _left(clicks_db) == ["just-under", "today"]
    assert purge_expired_clicks(clicks_db, 30, NOW) == 0


def test_the_purge_runs_first_then_at_most_once_per_interval_and_not_at_all_when_off(clicks_db: Database) -> None:
    clock = [1000.0]
    retention = ClickRetention(clicks_db, 30, every_s=600, clock=lambda: clock[0])
    assert retention.maybe_purge() == 2
    _clicks(clicks_db, {"older": 40})
    clock[0] += 599
    assert retention.maybe_purge() is None and "older" in _left(clicks_db)
    clock[0] += 1
    assert retention.maybe_purge() == 1 and _left(clicks_db) == ["just-under", "today"]
    _clicks(clicks_db, {"ancient": 400})
    assert ClickRetention(clicks_db, 0).maybe_purge() is None and "ancient" in _left(clicks_db)


def test_ttl_index_follows_the_setting(clicks_db: Database) -> None:
    ensure_indexes(clicks_db, 30)
    assert clicks_db[read_models.CLICKS].index_information()[store.CLICK_TTL_INDEX]["expireAfterSeconds"] == 30 * 86400
    ensure_indexes(clicks_db, 7)
    assert clicks_db[read_models.CLICKS].index_information()[store.CLICK_TTL_INDEX]["expireAfterSeconds"] == 7 * 86400
    ensure_indexes(clicks_db)  # a service that does not own retention leaves it alone
    assert store.CLICK_TTL_INDEX in clicks_db[read_models.CLICKS].index_information()
    ensure_indexes(clicks_db, 0)
    assert store.CLICK_TTL_INDEX not in clicks_db[read_models.CLICKS].index_information()


def test_the_running_consumer_enforces_retention_on_the_embedded_store(
    isolated_settings: Settings, clicks_db: Database
) -> None:
    settings = isolated_settings.model_copy(
        update={"consumer_metrics_port": 0, "consumer_poll_ms": 100, "click_retention_days": 30}
    )
    stop = threading.Event()
    consumer = threading.Thread(target=run_consumer, args=(settings, stop), daemon=True)
    consumer.start()
    try:
        wait_for(lambda: _left(clicks_db) == ["just-under", "today"], "the consumer's retention purge", timeout_s=120)
    finally:
        stop.set()
        consumer.join(30)
    assert clicks_db[read_models.CLICKS].index_information()[store.CLICK_TTL_INDEX]["expireAfterSeconds"] == 30 * 86400
