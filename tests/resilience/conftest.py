"""Fault injection against the real servers: consumer processes, committed offsets, a catalog to sell from."""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, TopicPartition

from services.common.bus import EventProducer
from services.common.settings import Settings
from services.common.store import connect
from tests.factories import product, restock, shop_store

SKUS = ("A1", "B2", "C3")
INITIAL_STOCK = 10_000  # the schema caps a restock at 10,000; enough for every test here


@pytest.fixture
def settings(isolated_settings: Settings) -> Settings:
    return isolated_settings.model_copy(update={"consumer_batch_size": 500, "consumer_poll_ms": 100, "consumer_metrics_port": 0})


@pytest.fixture
def db(settings: Settings):
    return connect(settings.mongo_uri, settings.mongo_db)


@pytest.fixture
def producer(settings: Settings) -> Iterator[EventProducer]:
    with EventProducer(settings.kafka_bootstrap, settings.topics) as p:
        yield p


def start_consumer(settings: Settings, log_path: Path, mongo_uri: str | None = None, kafka_bootstrap: str | None = None) -> subprocess.Popen:
    """``python -m services.data_consumer`` as a real process (so a crash shows as an exit code); stderr to ``log_path``."""
    env = os.environ | {
        "SHELFCAST_KAFKA_BOOTSTRAP": kafka_bootstrap or settings.kafka_bootstrap, "SHELFCAST_MONGO_URI": mongo_uri or settings.mongo_uri,
        "SHELFCAST_MONGO_DB": settings.mongo_db, "SHELFCAST_TOPIC_PREFIX": settings.topic_prefix,
        "SHELFCAST_CONSUMER_GROUP": settings.consumer_group, "SHELFCAST_CONSUMER_BATCH_SIZE": str(settings.consumer_batch_size),
        "SHELFCAST_CONSUMER_METRICS_PORT": "0", "SHELFCAST_LOG_LEVEL": "WARNING",
    }
    with log_path.open("ab") as log:
        return subprocess.Popen([sys.executable, "-m", "services.data_consumer"], env=env, stderr=log, stdout=log)


def stop_consumer(process: subprocess.Popen) -> int:
    """SIGTERM and wait; returns the exit code (0 when it shut down cleanly)."""
    if process.poll() is None:
        process.terminate()
    return process.wait(30)


def publish_catalog(producer: EventProducer) -> None:
    """Store s1, the SKUs and their stock (more than the tests sell, so no sale is cut short and units are exact)."""
    producer.publish(shop_store())
    for sku in SKUS:
        producer.publish(product(sku))
        producer.publish(restock(sku, INITIAL_STOCK))
    producer.flush()


def committed_offsets(bootstrap: str, group: str) -> dict[TopicPartition, int]:
    """The group's committed offsets as Kafka has them (what a restarted consumer would resume from)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="resilience-offsets")
    try:
        return {tp: meta.offset for tp, meta in admin.list_consumer_group_offsets(group).items()}
    finally:
        admin.close()
