"""Consumers killed with SIGKILL and restarted, and several consumers sharing one group."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

from services.common import read_models
from services.common.settings import Settings
from tests.factories import order, product, restock, shop_store
from tests.waiting import wait_for

SKUS = ("A1", "B2", "C3")
INITIAL_STOCK = 10_000


def _consumer_process(settings: Settings) -> subprocess.Popen:
    env = os.environ | {
        "SHELFCAST_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "SHELFCAST_MONGO_URI": settings.mongo_uri,
        "SHELFCAST_MONGO_DB": settings.mongo_db,
        "SHELFCAST_TOPIC_PREFIX": settings.topic_prefix,
        "SHELFCAST_CONSUMER_GROUP": settings.consumer_group,
        "SHELFCAST_CONSUMER_BATCH_SIZE": "200",
        "SHELFCAST_CONSUMER_METRICS_PORT": "0",
        "SHELFCAST_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen([sys.executable, "-m", "services.data_consumer"], env=env)


def _publish_catalog(producer) -> None:
    producer.publish(shop_store())
    for sku in SKUS:
        producer.publish(product(sku))
        producer.publish(restock(sku, INITIAL_STOCK))
    producer.flush()


def _publish_stream(producer, count: int, seed: int) -> dict[str, int]:
    """``count`` orders (some sent twice); returns units sold per SKU."""
    rng = random.Random(seed)
    sold = dict.fromkeys(SKUS, 0)
    for i in range(count):
        sku, quantity = rng.choice(SKUS), rng.randint(1, 3)
        event = order(sku, quantity, customer=f"cu_{i % 97}", minutes=10 + i)
        sold[sku] += quantity
        producer.publish(event)
        if i % 10 == 0:
            producer.publish(event)  # the same event delivered twice
    producer.flush()
    return sold


def _units_sold(db) -> int:
    return sum(doc["sold_units"] for doc in db[read_models.STOCK].find({}, {"sold_units": 1}))


def _progress(db) -> dict:
    return {
        c: db[c].count_documents({})
        for c in (
            read_models.ORDERS,
            read_models.STOCK,
            read_models.STOCK_LEDGER,
            read_models.PRODUCTS,
            "consumer_status",
        )
    }


def _assert_exact(db, count: int, sold: dict[str, int]) -> None:
    assert db[read_models.ORDERS].count_documents({}) == count
    for sku in SKUS:
        stock = db[read_models.STOCK].find_one({"_id": f"{sku}|s1"})
        assert (stock["on_hand"], stock["sold_units"]) == (INITIAL_STOCK - sold[sku], sold[sku]), sku
        rolled = sum(doc["units"] for doc in db[read_models.DAILY_SALES].find({"sku": sku}))
        assert rolled == sold[sku], sku
    assert db[read_models.STOCK_LEDGER].count_documents({"kind": "sale"}) == count


def test_consumer_killed_repeatedly_mid_stream_stores_every_event_once_and_stock_exact(settings, db, producer):
    count = 6000
    kills = 0
    process = _consumer_process(settings)
    try:
        # The catalog must be in before the orders that name it: topics are not ordered among each other.
        _publish_catalog(producer)
        wait_for(lambda: db[read_models.STOCK].count_documents({}) == len(SKUS), "the catalog and stock")
        sold = _publish_stream(producer, count, seed=7)
        for target in (800, 2000, 3500):
            wait_for(
                lambda target=target: db[read_models.ORDERS].count_documents({}) >= target,
                f"{target} orders stored",
                state=lambda process=process: (_progress(db), f"consumer exit code {process.poll()}"),
            )
            process.send_signal(signal.SIGKILL)
            process.wait()
            kills += 1
            process = _consumer_process(settings)
        wait_for(
            lambda: _units_sold(db) >= sum(sold.values()),
            "the whole stream",
            timeout_s=180,
            state=lambda: _progress(db),
        )
        time.sleep(1)  # an in-flight batch applying something twice would show in the exact checks below
    finally:
        process.terminate()
        process.wait(30)
    assert kills == 3
    _assert_exact(db, count, sold)


def test_two_consumers_in_one_group_split_partitions_and_store_once(settings, db, producer):
    count = 3000
    processes = [_consumer_process(settings), _consumer_process(settings)]
    try:
        # Topics are not ordered among each other: with the catalog on one member's partitions and
        # orders on the other's, orders could overtake it and be dead-lettered as unknown SKUs.
        _publish_catalog(producer)
        wait_for(lambda: db[read_models.STOCK].count_documents({}) == len(SKUS), "the catalog and stock")
        sold = _publish_stream(producer, count, seed=11)
        wait_for(
            lambda: _units_sold(db) >= sum(sold.values()),
            "the whole stream",
            timeout_s=180,
            state=lambda: _progress(db),
        )
        wait_for(
            lambda: db["consumer_status"].count_documents({"group": settings.consumer_group}) == 2,
            "both members reporting",
        )
        time.sleep(1)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)
    _assert_exact(db, count, sold)
