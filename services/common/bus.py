"""The Kafka bus: the only module that touches kafka-python.

Producers are idempotent with ``acks=all`` and batch with a short linger; consumers belong to a
group, never auto-commit, and commit only after the caller's writes succeeded, so a crash replays
rather than loses.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import TopicAlreadyExistsError
from kafka.producer.future import FutureRecordMetadata

from services.common.events import _Event, event_to_bytes
from services.common.topics import Topics

log = logging.getLogger(__name__)


def ensure_topics(bootstrap: str, partitions: int, topics: Iterable[str]) -> None:
    """Create the platform's topics if missing; partitions bound how far a consumer group scales out."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="shelfcast-admin")
    try:
        existing = set(admin.list_topics())
        wanted = [NewTopic(t, partitions, 1) for t in topics if t not in existing]
        if wanted:
            try:
                admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()


def partition_key(event: _Event) -> bytes:
    """Customer events are keyed by customer (their order is kept), stock events by SKU."""
    for field in ("customer_id", "sku", "store_id"):
        value = getattr(event, field, None)
        if value:
            return str(value).encode()
    return str(event.event_id).encode()


class EventProducer:
    """Publishes events to the topic their type belongs to."""

    def __init__(self, bootstrap: str, topics: Topics, client_id: str = "shelfcast-producer", linger_ms: int = 5) -> None:
        self.topics = topics
        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            client_id=client_id,
            acks="all",
            enable_idempotence=True,
            linger_ms=linger_ms,
            batch_size=256 * 1024,
            retries=2**31 - 1,
            delivery_timeout_ms=120_000,
        )

    def publish(self, event: _Event) -> FutureRecordMetadata:
        topic = self.topics.for_event_type(event.event_type)  # type: ignore[attr-defined]
        return self._producer.send(topic, key=partition_key(event), value=event_to_bytes(event))

    def publish_raw(self, topic: str, value: bytes, key: bytes | None = None, headers: list[tuple[str, bytes]] | None = None) -> FutureRecordMetadata:
        """For replays, dead letters and tests that must send bytes no model would produce."""
        return self._producer.send(topic, key=key, value=value, headers=headers or [])

    def flush(self, timeout: float | None = None) -> None:
        self._producer.flush(timeout)

    def close(self) -> None:
        self._producer.close()

    def __enter__(self) -> "EventProducer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.flush()
        self.close()


class EventConsumer:
    """A member of a consumer group that hands out batches and commits only when told."""

    def __init__(self, bootstrap: str, group_id: str, topics: Iterable[str], max_records: int, client_id: str = "shelfcast-consumer") -> None:
        self._consumer = KafkaConsumer(
            *topics,
            bootstrap_servers=bootstrap,
            group_id=group_id,
            client_id=client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=max_records,
            fetch_max_bytes=16 * 1024 * 1024,
            receive_message_max_bytes=32 * 1024 * 1024,  # the 1 MB default is below one fetch across 36 partitions
        )

    def poll_batch(self, timeout_ms: int) -> list[ConsumerRecord]:
        """One poll's records across all assigned partitions, in offset order per partition."""
        polled = self._consumer.poll(timeout_ms=timeout_ms)
        return [record for records in polled.values() for record in records]

    def commit(self) -> None:
        """Commit the positions of everything returned so far (call only after the writes succeeded)."""
        self._consumer.commit()

    def lag(self) -> int:
        """Messages not yet consumed across the assigned partitions."""
        assigned = list(self._consumer.assignment())
        if not assigned:
            return 0
        ends = self._consumer.end_offsets(assigned)
        return sum(max(0, ends[tp] - self._consumer.position(tp)) for tp in assigned)

    def close(self) -> None:
        self._consumer.close(autocommit=False)


__all__ = ["ConsumerRecord", "EventConsumer", "EventProducer", "TopicPartition", "ensure_topics", "partition_key"]
