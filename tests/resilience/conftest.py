"""Fault injection against the real servers: consumer processes, committed offsets, a catalog to sell from."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kafka import KafkaAdminClient, TopicPartition

from services.benchmarks.ingest import consumer_env
from services.common.bus import EventProducer
from services.common.settings import Settings
from tests.consumer_fixtures import db, producer, settings  # noqa: F401 (fixtures, used by name)
from tests.factories import product, restock, shop_store

SKUS = ("A1", "B2", "C3")
INITIAL_STOCK = 10_000  # the schema caps a restock at 10,000; enough for every test here


def start_consumer(
    settings: Settings, log_path: Path, mongo_uri: str | None = None, kafka_bootstrap: str | None = None
) -> subprocess.Popen:
    """``python -m services.data_consumer`` as a real process (so a crash shows as an exit code); stderr to
    ``log_path``.
    """
    overrides = {
        "mongo_uri": mongo_uri or settings.mongo_uri,
        "kafka_bootstrap": kafka_bootstrap or settings.kafka_bootstrap,
    }
    env = consumer_env(settings.model_copy(update=overrides))
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
