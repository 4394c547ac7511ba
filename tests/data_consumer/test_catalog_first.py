"""A (re)started consumer group reads the catalog topic to its end before sales, restocks and returns.

Kafka orders records only within a partition: without this, a sale polled before the catalog event
of its SKU is dead-lettered as ``unknown sku``.
"""

from __future__ import annotations

import threading

from services.common import read_models
from services.common.bus import EventConsumer
from services.data_consumer.main import run_consumer
from tests.factories import order, product, restock, shop_store
from tests.topic_reading import read_records
from tests.waiting import wait_for

SKUS = [f"K{i:02d}" for i in range(40)]


def _publish_sales_then_catalog(producer) -> None:
    for sku in SKUS:  # stock and sales first, on other topics than the catalog that defines their SKUs
        producer.publish(restock(sku, 10))
        producer.publish(order(sku, 2))
    producer.flush()
    producer.publish(shop_store())
    for sku in SKUS:
        producer.publish(product(sku))
    producer.flush()


def test_no_other_topic_is_handed_out_until_the_catalog_is_committed_and_nothing_is_skipped(settings, producer):
    _publish_sales_then_catalog(producer)
    catalog = settings.topics.for_event_type("product")
    consumer = EventConsumer(
        settings.kafka_bootstrap, settings.consumer_group, settings.topics.ingest, 15, first=catalog
    )
    catalog_seen: list = []
    others_seen: list = []
    try:
        for _ in range(200):
            batch = consumer.poll_batch(200)
            if len(catalog_seen) < len(SKUS) + 1:
                assert all(record.topic == catalog for record in batch), (
                    "a sale was handed out before the catalog was committed"
                )
            catalog_seen += [r for r in batch if r.topic == catalog]
            others_seen += [r for r in batch if r.topic != catalog]
            consumer.commit()
            if len(others_seen) >= 2 * len(SKUS):
                break
    finally:
        consumer.close()
    assert len(catalog_seen) == len(SKUS) + 1
    assert sorted((r.topic, r.partition, r.offset) for r in others_seen) == sorted(
        {(r.topic, r.partition, r.offset) for r in others_seen}
    )
    assert len(others_seen) == 2 * len(SKUS)  # every held-back record handed out later, once


def test_events_published_before_their_catalog_are_applied_not_dead_lettered(settings, db, producer):
    _publish_sales_then_catalog(producer)
    stop = threading.Event()
    consumer = threading.Thread(
        target=run_consumer, args=(settings.model_copy(update={"consumer_batch_size": 20}), stop), daemon=True
    )
    consumer.start()
    try:  # a sale may still meet its SKU before the restock (two topics): then it is a backorder, never a dead letter
        wait_for(
            lambda: (
                sum(d["sold_units"] + d["backordered_units"] for d in db[read_models.STOCK].find()) == 2 * len(SKUS)
                and db[read_models.STOCK].count_documents({"received_units": 10}) == len(SKUS)
            ),  # restocks are on a topic of their own
            "every SKU's sale and restock applied",
            state=lambda: {
                "stock": db[read_models.STOCK].count_documents({}),
                "orders": db[read_models.ORDERS].count_documents({}),
            },
        )
    finally:
        stop.set()
        consumer.join(30)
    assert db[read_models.ORDERS].count_documents({}) == len(SKUS)
    assert db[read_models.STOCK].count_documents({"received_units": 10}) == len(SKUS)
    assert read_records(settings, [settings.topics.dead_letter], expected=1, timeout_s=3) == []
