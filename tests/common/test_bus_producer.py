"""The event producer against the real broker: deliveries acknowledged, keys on kafka-python's partitions, failures
loud.
"""

from __future__ import annotations

import time

import pytest
from kafka.partitioner.default import murmur2

from services.common.bus import EventProducer, PublishError
from services.common.settings import Settings
from tests.topic_reading import read_records


def test_deliveries_are_acknowledged_and_keys_keep_kafka_pythons_partitions(isolated_settings: Settings) -> None:
    """Partitions must not move when the producer library changed: a customer's older events (kafka-python's murmur2)
    and newer ones must share a partition, or their order is lost."""
    topic = isolated_settings.topics.for_event_type("click")
    keys = [f"C{n:05d}".encode() for n in range(40)]
    with EventProducer(isolated_settings.kafka_bootstrap, isolated_settings.topics) as producer:
        deliveries = [producer.publish_raw(topic, b'{"n": %d}' % n, key=key) for n, key in enumerate(keys)]
        stored_at = [delivery.get(timeout=30) for delivery in deliveries]
    records = read_records(isolated_settings, [topic], expected=len(keys))
    assert len(records) == len(keys)
    assert {(m.topic, m.partition, m.offset) for m in stored_at} == {(r.topic, r.partition, r.offset) for r in records}
    partitions = isolated_settings.topic_partitions
    for record in records:
        assert record.partition == (murmur2(record.key) & 0x7FFFFFFF) % partitions, record.key


def test_headers_and_raw_values_arrive_unchanged(isolated_settings: Settings) -> None:
    topic = isolated_settings.topics.dead_letter
    with EventProducer(isolated_settings.kafka_bootstrap, isolated_settings.topics) as producer:
        producer.publish_raw(topic, b"\xff not json", headers=[("reason", b"bad json"), ("source", b"clicks")])
    [record] = read_records(isolated_settings, [topic], expected=1)
    assert record.value == b"\xff not json"
    assert dict(record.headers) == {"reason": b"bad json", "source": b"clicks"}


def test_a_message_the_broker_refuses_reaches_errbacks_get_and_flush(isolated_settings: Settings) -> None:
    failed: list[tuple[str, BaseException]] = []
    with EventProducer(isolated_settings.kafka_bootstrap, isolated_settings.topics) as producer:
        good = producer.publish_raw(isolated_settings.topics.for_event_type("click"), b"{}", key=b"k")
        bad = producer.publish_raw("not a valid topic name!", b"{}").add_errback(
            lambda tag, exc: failed.append((tag, exc)), "bad"
        )
        with pytest.raises(PublishError, match="not delivered"):
            producer.flush(30)
        good.get(timeout=1)  # the good one was delivered all the same
        with pytest.raises(PublishError, match="TOPIC_EXCEPTION"):
            bad.get(timeout=1)
        assert [tag for tag, _ in failed] == ["bad"]
        late: list[BaseException] = []
        bad.add_errback(late.append)  # added after the failure was known: called at once
        assert len(late) == 1
        producer.flush(5)  # a failure is reported once, not on every later flush


def test_a_message_over_the_size_limit_is_refused_at_once(isolated_settings: Settings) -> None:
    with EventProducer(isolated_settings.kafka_bootstrap, isolated_settings.topics) as producer:
        with pytest.raises(PublishError, match="size"):
            producer.publish_raw(isolated_settings.topics.for_event_type("click"), b"x" * 2_000_000)
        producer.publish_raw(isolated_settings.topics.for_event_type("click"), b"{}").get(
            timeout=30
        )  # and the producer goes on


def test_no_broker_is_an_error_at_construction_naming_the_address(live_settings: Settings) -> None:
    started = time.monotonic()
    with pytest.raises(PublishError, match="127.0.0.1:1"):
        EventProducer("127.0.0.1:1", live_settings.topics, connect_timeout_s=2)
    assert time.monotonic() - started < 30
