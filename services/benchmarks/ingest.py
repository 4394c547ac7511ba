"""The ingest benchmark: N events through Kafka until visible in MongoDB with stock updated.

Runs on its own embedded stack with real consumer processes, so the figure is end to end:
producer → broker → consumer group → validation → exactly-once writes → stock and rollups. The
``raw`` variant consumes and bulk-inserts with no logic at all: the ceiling of this machine.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from tqdm import tqdm

from services.common import read_models
from services.common.bus import EventConsumer, EventProducer
from services.common.events import OrderLine, OrderPlaced, ProductUpserted, Restocked, StoreUpserted, event_to_bytes
from services.common.settings import Settings
from services.common.store import connect
from services.devstack import EmbeddedStack
from services.devstack.service import service_env

SKUS = [f"B{i:04d}" for i in range(200)]
STORES = [f"bs{i:02d}" for i in range(10)]
START_STOCK = 10_000


def _catalog(now: datetime) -> list:
    events: list = [
        StoreUpserted(occurred_at=now, channel="store", store_id=s, name=s, region="Bench", latitude=0, longitude=0)
        for s in STORES
    ]
    events += [
        ProductUpserted(
            occurred_at=now,
            channel="online",
            sku=sku,
            name=sku,
            category="Bench",
            sub_category="Bench",
            price_cents=1000,
            cost_cents=500,
            reorder_threshold=5,
        )
        for sku in SKUS
    ]
    return events


def _stock(now: datetime) -> list:
    return [
        Restocked(occurred_at=now, channel="store", store_id=s, sku=sku, quantity=START_STOCK, unit_cost_cents=500)
        for sku in SKUS
        for s in STORES
    ]


def consumer_env(settings: Settings) -> dict[str, str]:
    """Environment of a ``python -m services.data_consumer`` child on ``settings``' stack, quiet and without a metrics
    port.
    """
    return service_env(
        settings,
        SHELFCAST_CONSUMER_GROUP=settings.consumer_group,
        SHELFCAST_CONSUMER_BATCH_SIZE=str(settings.consumer_batch_size),
        SHELFCAST_CONSUMER_METRICS_PORT="0",
        SHELFCAST_LOG_LEVEL="WARNING",
    )


def _produce(producer: EventProducer, settings: Settings, events: int, rate: float | None, progress: bool) -> float:
    """Send ``events`` single-unit orders at ``rate``/s (None: as fast as possible); returns seconds spent."""
    topic = settings.topics.for_event_type("order")
    started = time.monotonic()
    for i in tqdm(range(events), desc="produce", unit="ev", disable=not progress, file=sys.stderr):
        if rate:
            delay = started + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        event = OrderPlaced(
            occurred_at=datetime.now(timezone.utc),
            channel="online",
            order_id=f"bo{i}",
            customer_id=f"cu_{i % 5000}",
            store_id=STORES[i % len(STORES)],
            lines=[OrderLine(sku=SKUS[(i * 7) % len(SKUS)], quantity=1, unit_price_cents=1000)],
        )
        producer.publish_raw(topic, event_to_bytes(event), key=event.customer_id.encode())
    producer.flush()
    return time.monotonic() - started


def _wait_visible(db, events: int, timeout_s: float) -> None:
    """Until every sale moved stock (sold + backordered units == events: each order is one unit)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        totals = next(
            db[read_models.STOCK].aggregate(
                [{"$group": {"_id": None, "sold": {"$sum": "$sold_units"}, "back": {"$sum": "$backordered_units"}}}]
            ),
            None,
        )
        if totals and totals["sold"] + totals["back"] >= events:
            return
        time.sleep(0.05)


def _latencies_ms(db) -> np.ndarray:
    docs = db[read_models.ORDERS].find({}, {"occurred_at": 1, "ingested_at": 1})
    return np.array([(d["ingested_at"] - d["occurred_at"]).total_seconds() * 1000 for d in docs])


def bench_ingest(
    settings: Settings,
    events: int,
    rate: float | None = None,
    consumers: int = 1,
    timeout_s: float = 600,
    progress: bool = True,
) -> dict:
    """End-to-end figures; also the raw consume+insert ceiling on the same stack."""
    with (
        tempfile.TemporaryDirectory(prefix="shelfcast-bench-") as run_dir,
        EmbeddedStack(settings, Path(run_dir)) as live,
    ):
        live = live.model_copy(update={"topic_prefix": "bench", "mongo_db": "bench", "consumer_group": "bench"})
        from services.common.bus import ensure_topics
        from services.common.store import ensure_indexes

        ensure_topics(live.kafka_bootstrap, live.topic_partitions, live.topics.all)
        db = connect(live.mongo_uri, live.mongo_db)
        ensure_indexes(db)
        now = datetime.now(timezone.utc)
        with EventProducer(live.kafka_bootstrap, live.topics) as producer:
            for event in _catalog(now):
                producer.publish(event)
            producer.flush()
            for event in _stock(now):
                producer.publish(event)
            producer.flush()
            processes = [
                subprocess.Popen([sys.executable, "-m", "services.data_consumer"], env=consumer_env(live))
                for _ in range(consumers)
            ]
            try:
                _wait_until(lambda: db[read_models.STOCK].count_documents({}) == len(SKUS) * len(STORES), 120)
                started = time.monotonic()
                produce_s = _produce(producer, live, events, rate, progress)
                _wait_visible(db, events, timeout_s)
                seconds = time.monotonic() - started
            finally:
                for process in processes:
                    process.terminate()
                for process in processes:
                    process.wait(30)
        stored = db[read_models.ORDERS].count_documents({})
        totals = next(
            db[read_models.STOCK].aggregate(
                [{"$group": {"_id": None, "sold": {"$sum": "$sold_units"}, "back": {"$sum": "$backordered_units"}}}]
            )
        )
        latencies = _latencies_ms(db)
        raw = _raw_ceiling(live, events)
    return {
        "events": events,
        "seconds": round(seconds, 3),
        "events_per_s": round(events / seconds, 1),
        "produce_seconds": round(produce_s, 3),
        "target_rate": rate,
        "consumers": consumers,
        "p50_ms": round(float(np.percentile(latencies, 50)), 1) if len(latencies) else None,
        "p99_ms": round(float(np.percentile(latencies, 99)), 1) if len(latencies) else None,
        "lost": events - stored,
        "duplicated": max(0, totals["sold"] + totals["back"] - events),
        "raw_ceiling_events_per_s": raw,
    }


def _wait_until(condition, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the benchmark's catalog and stock did not arrive")
        time.sleep(0.1)


def _raw_ceiling(settings: Settings, events: int) -> float:
    """Re-read the same order topic with a fresh group and just bulk-insert the bytes: no parsing, no logic."""
    consumer = EventConsumer(
        settings.kafka_bootstrap, "bench-raw", [settings.topics.for_event_type("order")], settings.consumer_batch_size
    )
    db = connect(settings.mongo_uri, "bench_raw")
    seen, started = 0, None
    try:
        while seen < events:
            records = consumer.poll_batch(500)
            if not records:
                continue
            started = started or time.monotonic()
            db["raw"].insert_many([{"v": r.value} for r in records], ordered=False)
            consumer.commit()
            seen += len(records)
    finally:
        consumer.close()
    return round(seen / (time.monotonic() - started), 1)
