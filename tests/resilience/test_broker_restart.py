"""The Kafka broker restarted mid-stream (same port, same log dir), cleanly or after SIGKILL: the producer retries
through it,
the consumer resumes, every event is stored once and stock is exact.

Uses a broker of its own: restarting the session's broker would disturb every other test.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator

import pytest

from services.common import read_models
from services.common.bus import EventProducer, ensure_topics
from services.common.settings import Settings
from services.devstack.jars import ensure_jars
from services.devstack.kafka import EmbeddedKafka
from tests.factories import order
from tests.resilience.conftest import (
    INITIAL_STOCK,
    SKUS,
    committed_offsets,
    publish_catalog,
    start_consumer,
    stop_consumer,
)
from tests.waiting import wait_for

EVENTS = 3000
RATE = 250.0  # events/s, so the stream is still running while the broker is down


@pytest.fixture
def broker(live_settings: Settings, tmp_path) -> Iterator[EmbeddedKafka]:
    kafka = EmbeddedKafka(
        ensure_jars(live_settings.data_dir / "jars"), tmp_path / "kafka", live_settings.topic_partitions
    )
    kafka.start()
    try:
        yield kafka
    finally:
        kafka.stop()


def _stream(
    producer: EventProducer, rng: random.Random, sold: dict[str, int], published: list[int], errors: list[BaseException]
) -> None:
    """Paced orders, then a flush that raises if any send was not acknowledged."""
    started = time.monotonic()
    try:
        for i in range(EVENTS):
            time.sleep(max(0.0, started + i / RATE - time.monotonic()))
            sku, quantity = rng.choice(SKUS), rng.randint(1, 3)
            producer.publish(order(sku, quantity, customer=f"cu_{i % 97}", minutes=10 + i))
            sold[sku] += quantity
            published[0] = i + 1
        producer.flush()
    except BaseException as exc:  # re-raised by the test
        errors.append(exc)


@pytest.mark.parametrize("kill", [False, True], ids=["clean-restart", "sigkill"])
def test_broker_restart_mid_stream_loses_nothing(kill, broker, isolated_settings, db, tmp_path, artifacts_dir):
    settings = isolated_settings.model_copy(update={"kafka_bootstrap": broker.bootstrap, "consumer_batch_size": 500})
    ensure_topics(settings.kafka_bootstrap, settings.topic_partitions, settings.topics.all)
    log = tmp_path / "consumer.log"
    process = start_consumer(settings, log)
    sold = dict.fromkeys(SKUS, 0)
    published, errors = [0], []
    producer = EventProducer(settings.kafka_bootstrap, settings.topics)
    try:
        publish_catalog(producer)
        wait_for(lambda: db[read_models.STOCK].count_documents({}) == len(SKUS), "the catalog and stock")
        stream = threading.Thread(
            target=_stream, args=(producer, random.Random(4), sold, published, errors), daemon=True
        )
        stream.start()
        wait_for(lambda: db[read_models.ORDERS].count_documents({}) >= EVENTS // 6, "the stream to be under way")
        stopped_at_event = published[0]
        started = time.monotonic()
        broker.restart(kill=kill)
        down_s = time.monotonic() - started
        resumed_at_event = published[0]
        stream.join(300)
        assert not stream.is_alive() and not errors, errors
        wait_for(
            lambda: db[read_models.ORDERS].count_documents({}) == EVENTS,
            "every order stored",
            timeout_s=180,
            state=lambda: (db[read_models.ORDERS].count_documents({}), process.poll()),
        )
        wait_for(
            lambda: sum(d["sold_units"] for d in db[read_models.STOCK].find()) == sum(sold.values()),
            "every sale applied to stock",
        )
        time.sleep(1)
        assert process.poll() is None, "the consumer exited"
        offsets = committed_offsets(settings.kafka_bootstrap, settings.consumer_group)
    finally:
        producer.close()
        exit_code = stop_consumer(process)

    assert (
        exit_code == 0
        # alive through the restart (checked above) and shut down cleanly; kafka-python itself logs tracebacks of reset
        # sockets
    )
    assert sum(o for tp, o in offsets.items() if tp.topic == settings.topics.for_event_type("order")) == EVENTS
    assert db[read_models.ORDERS].count_documents({}) == EVENTS
    for sku in SKUS:
        stock = db[read_models.STOCK].find_one({"_id": f"{sku}|s1"})
        assert (stock["on_hand"], stock["sold_units"]) == (INITIAL_STOCK - sold[sku], sold[sku]), sku
    assert db[read_models.STOCK_LEDGER].count_documents({"kind": "sale"}) == EVENTS

    figures = {
        "broker_stop": "SIGKILL" if kill else "clean",
        "events": EVENTS,
        "rate": RATE,
        "broker_restart_s": round(down_s, 1),
        "published_before_restart": stopped_at_event,
        "published_while_down": resumed_at_event - stopped_at_event,
        "lost": 0,
        "duplicated": 0,
    }
    (artifacts_dir / f"resilience_broker_restart_{'kill' if kill else 'clean'}.json").write_text(
        json.dumps(figures, indent=1)
    )
    print(json.dumps(figures))
