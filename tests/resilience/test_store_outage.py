"""The store cut off for 30 s mid-stream: the consumer pauses and retries the same batch without
committing, logs the outage once, does not crash, and drains the backlog exactly once afterwards."""

from __future__ import annotations

import json
import random
import time

from pymongo.uri_parser import parse_uri

from services.common import read_models
from tests.factories import order
from tests.resilience.conftest import (
    INITIAL_STOCK,
    SKUS,
    committed_offsets,
    publish_catalog,
    start_consumer,
    stop_consumer,
)
from tests.resilience.proxy import TcpProxy
from tests.waiting import wait_for

OUTAGE_S = 30.0
BEFORE, DURING = 1500, 1500
OUTAGE_STARTED = "not written"  # the consumer's one warning per outage
OUTAGE_ENDED = "batch written after"


def _publish_orders(producer, rng: random.Random, first: int, count: int, sold: dict[str, int]) -> None:
    for i in range(first, first + count):
        sku, quantity = rng.choice(SKUS), rng.randint(1, 3)
        sold[sku] += quantity
        producer.publish(order(sku, quantity, customer=f"cu_{i % 97}", minutes=10 + i))
    producer.flush()


def test_store_unavailable_30s_consumer_retries_without_committing_and_drains_exactly_once(
    settings, db, producer, tmp_path, artifacts_dir
):
    rng = random.Random(30)
    sold = dict.fromkeys(SKUS, 0)
    proxy = TcpProxy(parse_uri(settings.mongo_uri)["nodelist"][0][1]).start()
    log = tmp_path / "consumer.log"
    process = start_consumer(settings, log, mongo_uri=f"mongodb://127.0.0.1:{proxy.port}/?directConnection=true")
    try:
        publish_catalog(producer)
        wait_for(lambda: db[read_models.STOCK].count_documents({}) == len(SKUS), "the catalog and stock")
        _publish_orders(producer, rng, 0, BEFORE, sold)
        wait_for(lambda: db[read_models.ORDERS].count_documents({}) >= BEFORE // 3, "the stream to be under way")

        proxy.cut()
        cut_at = time.monotonic()
        _publish_orders(producer, rng, BEFORE, DURING, sold)
        wait_for(lambda: OUTAGE_STARTED in log.read_text(), "the consumer to notice the outage", timeout_s=60)
        offsets_at_failure = committed_offsets(settings.kafka_bootstrap, settings.consumer_group)
        stored_at_failure = db[read_models.ORDERS].count_documents({})
        time.sleep(max(0.0, cut_at + OUTAGE_S - time.monotonic()))
        offsets_before_restore = committed_offsets(settings.kafka_bootstrap, settings.consumer_group)
        stored_before_restore = db[read_models.ORDERS].count_documents({})
        alive_through_outage = process.poll() is None
        proxy.restore()
        restored_at = time.monotonic()

        wait_for(
            lambda: db[read_models.ORDERS].count_documents({}) == BEFORE + DURING,
            "the backlog to drain",
            timeout_s=180,
            state=lambda: (db[read_models.ORDERS].count_documents({}), process.poll()),
        )
        wait_for(
            lambda: sum(d["sold_units"] for d in db[read_models.STOCK].find()) == sum(sold.values()),
            "every sale applied to stock",
        )
        drain_s = time.monotonic() - restored_at
        time.sleep(1)  # a batch applied twice would show in the exact checks below
        assert process.poll() is None, "the consumer exited after the outage"
    finally:
        exit_code = stop_consumer(process)
        proxy.close()

    assert alive_through_outage
    assert offsets_before_restore == offsets_at_failure, "offsets were committed while the store was down"
    assert stored_before_restore == stored_at_failure < BEFORE + DURING
    assert exit_code == 0
    text = log.read_text()
    assert text.count(OUTAGE_STARTED) == 1 and text.count(OUTAGE_ENDED) == 1, text[-2000:]
    assert "Traceback" not in text
    retries = int(text.split(OUTAGE_ENDED)[1].split()[0])
    assert retries < OUTAGE_S, "retries should back off, not spin"

    assert db[read_models.ORDERS].count_documents({}) == BEFORE + DURING
    for sku in SKUS:
        stock = db[read_models.STOCK].find_one({"_id": f"{sku}|s1"})
        assert (stock["on_hand"], stock["sold_units"]) == (INITIAL_STOCK - sold[sku], sold[sku]), sku
        assert sum(d["units"] for d in db[read_models.DAILY_SALES].find({"sku": sku})) == sold[sku]
    assert db[read_models.STOCK_LEDGER].count_documents({"kind": "sale"}) == BEFORE + DURING

    figures = {
        "events": BEFORE + DURING,
        "outage_s": OUTAGE_S,
        "connections_reset": proxy.connections_cut,
        "retries": retries,
        "stored_when_cut": stored_at_failure,
        "drain_s_after_restore": round(drain_s, 1),
        "lost": 0,
        "duplicated": 0,
    }
    (artifacts_dir / "resilience_store_outage.json").write_text(json.dumps(figures, indent=1))
    print(json.dumps(figures))
