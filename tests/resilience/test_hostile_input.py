"""Thousands of malformed records interleaved with valid orders: every bad one dead-lettered with a
reason and its original bytes, every good one stored once with exact stock, the consumer never down."""

from __future__ import annotations

import json
import random
import time
from collections import Counter

import pytest
from kafka import KafkaConsumer, TopicPartition

from services.common import read_models
from services.common.events import EventRejected, event_to_bytes, parse_event
from tests.factories import order
from tests.resilience.conftest import INITIAL_STOCK, SKUS, publish_catalog, start_consumer, stop_consumer
from tests.resilience.hostile import malformed
from tests.waiting import wait_for

VALID_PER_PHASE = 2000
MALFORMED = 3000


def _valid_orders(rng: random.Random, first_minute: int, count: int) -> tuple[list[bytes], Counter]:
    sold: Counter = Counter()
    values = []
    for i in range(count):
        sku, quantity = rng.choice(SKUS), rng.randint(1, 3)
        sold[sku] += quantity
        values.append(event_to_bytes(order(sku, quantity, customer=f"cu_{i % 89}", minutes=first_minute + i)))
    return values, sold


def _dead_letter_count(settings) -> int:
    reader = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    try:
        partitions = [
            TopicPartition(settings.topics.dead_letter, p)
            for p in reader.partitions_for_topic(settings.topics.dead_letter)
        ]
        return sum(reader.end_offsets(partitions).values())
    finally:
        reader.close()


def _read_dead_letters(settings) -> dict[tuple[str, int, int], tuple[str, bytes]]:
    """Each dead letter by where it came from: (source topic, partition, offset) -> (reason, value)."""
    reader = KafkaConsumer(
        settings.topics.dead_letter,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        consumer_timeout_ms=5000,
        fetch_max_bytes=16 * 1024 * 1024,
        receive_message_max_bytes=32 * 1024 * 1024,
    )
    letters = {}
    try:
        for record in reader:
            headers = {k: v.decode() for k, v in record.headers}
            source = (headers["source_topic"], int(headers["source_partition"]), int(headers["source_offset"]))
            assert source not in letters, f"dead-lettered twice: {source}"
            letters[source] = (headers["reason"], record.value)
    finally:
        reader.close()
    return letters


def _timed_drain(producer, records: list[tuple[str, bytes | None]], done) -> float:
    """Publish ``(topic, value)`` records and return seconds until ``done()``: consumer throughput, as a figure only."""
    started = time.monotonic()
    for topic, value in records:
        producer.publish_raw(topic, value)
    producer.flush()
    wait_for(done, "the phase to be consumed", timeout_s=240)
    return time.monotonic() - started


def test_malformed_records_are_dead_lettered_and_valid_ones_stored_once(
    settings, db, producer, tmp_path, artifacts_dir
):
    rng = random.Random(6)
    log = tmp_path / "consumer.log"
    process = start_consumer(settings, log)
    try:
        publish_catalog(producer)
        wait_for(lambda: db[read_models.STOCK].count_documents({}) == len(SKUS), "the catalog and stock")
        orders_topic = settings.topics.for_event_type("order")

        clean, sold = _valid_orders(rng, 10, VALID_PER_PHASE)
        clean_s = _timed_drain(
            producer,
            [(orders_topic, v) for v in clean],
            lambda: db[read_models.ORDERS].count_documents({}) == VALID_PER_PHASE,
        )

        valid, sold_hostile = _valid_orders(rng, 10 + VALID_PER_PHASE, VALID_PER_PHASE)
        sold.update(sold_hostile)
        bad = malformed(rng, MALFORMED)
        mixed = [("valid", orders_topic, v) for v in valid]
        mixed += [
            (kind, orders_topic if kind.startswith("unknown_") else rng.choice(settings.topics.ingest), v)
            for kind, v in bad
        ]
        rng.shuffle(mixed)
        started = time.monotonic()
        futures = [
            (kind, value, producer.publish_raw(topic, value, key=f"k{i}".encode()))
            for i, (kind, topic, value) in enumerate(mixed)
        ]  # a tombstone needs a key
        producer.flush()
        wait_for(
            lambda: (
                db[read_models.ORDERS].count_documents({}) == 2 * VALID_PER_PHASE
                and _dead_letter_count(settings) >= MALFORMED
            ),
            "valid orders stored and malformed ones dead-lettered",
            timeout_s=240,
            state=lambda: (db[read_models.ORDERS].count_documents({}), _dead_letter_count(settings), process.poll()),
        )
        hostile_s = time.monotonic() - started
        assert process.poll() is None, "the consumer died on hostile input"
    finally:
        exit_code = stop_consumer(process)
    assert exit_code == 0
    assert "Traceback" not in log.read_text(errors="replace")

    expected = {}
    for kind, value, future in futures:
        if kind != "valid":
            meta = future.get(timeout=0)
            expected[(meta.topic, meta.partition, meta.offset)] = (kind, value)
    letters = _read_dead_letters(settings)
    assert set(letters) == set(expected), (
        f"not dead-lettered: {Counter(expected[s][0] for s in set(expected) - set(letters))}"
    )
    reasons: dict[str, Counter] = {}
    for source, (kind, value) in expected.items():
        reason, forwarded = letters[source]
        assert reason.strip(), f"{kind}: empty reason"
        assert forwarded == (value or b""), f"{kind}: the original bytes were not forwarded"
        reasons.setdefault(kind, Counter())[reason.split("'")[0].split(":")[0].strip()] += 1
    assert all(letters[s][0].startswith("unknown sku") for s, (kind, _) in expected.items() if kind == "unknown_sku")
    assert all(
        letters[s][0].startswith("unknown store_id") for s, (kind, _) in expected.items() if kind == "unknown_store"
    )

    assert db[read_models.ORDERS].count_documents({}) == 2 * VALID_PER_PHASE
    for sku in SKUS:
        stock = db[read_models.STOCK].find_one({"_id": f"{sku}|s1"})
        assert (stock["on_hand"], stock["sold_units"]) == (INITIAL_STOCK - sold[sku], sold[sku]), sku
    assert db[read_models.STOCK_LEDGER].count_documents({"kind": "sale"}) == 2 * VALID_PER_PHASE

    figures = {
        "malformed": len(expected),
        "valid": 2 * VALID_PER_PHASE,
        "dead_lettered": len(letters),
        "lost": 0,
        "duplicated": 0,
        "by_kind": dict(Counter(kind for kind, _ in expected.values())),
        "clean_records_per_s": round(VALID_PER_PHASE / clean_s, 1),
        "hostile_records_per_s": round(len(mixed) / hostile_s, 1),
        "hostile_valid_per_s": round(VALID_PER_PHASE / hostile_s, 1),
        "reasons": {k: dict(v.most_common(3)) for k, v in reasons.items()},
    }
    (artifacts_dir / "resilience_fuzz.json").write_text(json.dumps(figures, indent=1))
    print(json.dumps(figures))


@pytest.mark.parametrize(
    "payload",
    [
        b'{"event_type": "order", "quantity": '
        + b"9" * 5000
        + b"}",  # int() beyond Python's 4300-digit limit: ValueError
        b"[" * 100_000 + b"]" * 100_000,  # RecursionError in json
        b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
        b'{"event_type": "restock", "occurred_at": "0001-01-01T00:00:00+14:00", "channel": "store", "store_id": "s1", '
        b'"sku": "A1", "quantity": 1, "unit_cost_cents": 1}',
        b'{"event_type": "restock", "occurred_at": "9999-12-31T23:59:59-14:00", "channel": "store", "store_id": "s1", '
        b'"sku": "A1", "quantity": 1, "unit_cost_cents": 1}',
    ],
    ids=["5000-digit-int", "deep-array", "deep-object", "year-1-at-plus-14", "year-9999-at-minus-14"],
)
def test_payloads_that_used_to_crash_the_parser_are_rejected_with_a_reason(payload):
    """These raised ValueError/RecursionError/OverflowError out of parse_event: a consumer crash loop on one record."""
    with pytest.raises(EventRejected) as rejected:
        parse_event(payload)
    assert rejected.value.reason
