"""The Kafka bus: the only module that touches kafka-python.

Producers are idempotent with ``acks=all`` and batch with a short linger; consumers belong to a
group, never auto-commit, and commit only after the caller's writes succeeded, so a crash replays
rather than loses.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import CommitFailedError, KafkaError, TopicAlreadyExistsError
from kafka.producer.future import FutureRecordMetadata

from services.common.events import _Event, event_to_bytes
from services.common.topics import Topics

log = logging.getLogger(__name__)


def ensure_topics(bootstrap: str, partitions: int, topics: Iterable[str]) -> None:
    """Create the platform's topics if missing; partitions bound how far a consumer group scales out."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="shelfcast-admin")
    wanted: list[NewTopic] = []
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
    if wanted:
        _wait_until_served(bootstrap, [t.name for t in wanted])


def _wait_until_served(bootstrap: str, topics: list[str], timeout_s: float = 60.0) -> None:
    """Block until every partition of freshly created topics answers offset requests.

    ``create_topics`` returns before the broker leads the new partitions; a consumer that resets its
    offsets in that window gets NotLeaderForPartition and kafka-python waits for a metadata refresh
    (tens of seconds) before retrying.
    """
    probe = KafkaConsumer(bootstrap_servers=bootstrap, client_id="shelfcast-topic-probe", request_timeout_ms=5000)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                partitions = [TopicPartition(t, p) for t in topics for p in (probe.partitions_for_topic(t) or ())]
                if partitions and len({tp.topic for tp in partitions}) == len(topics):
                    probe.end_offsets(partitions)
                    return
            except KafkaError as exc:
                log.debug("new topics not served yet: %s", exc)
            if time.monotonic() > deadline:
                raise KafkaError(f"topics {topics} were created but not served within {timeout_s:.0f}s")
            probe._client.cluster.request_update()
            time.sleep(0.2)
    finally:
        probe.close()


class PublishError(KafkaError):
    """Messages could not be delivered after the producer's retries."""


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
        self._failures: list[BaseException] = []
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
        return self.publish_raw(topic, event_to_bytes(event), key=partition_key(event))

    def publish_raw(self, topic: str, value: bytes, key: bytes | None = None, headers: list[tuple[str, bytes]] | None = None) -> FutureRecordMetadata:
        """For replays, dead letters and tests that must send bytes no model would produce."""
        future = self._producer.send(topic, key=key, value=value, headers=headers or [])
        return future.add_errback(self._record_failure)

    def _record_failure(self, exc: BaseException) -> None:
        self._failures.append(exc)

    def flush(self, timeout: float | None = None) -> None:
        """Wait for every send; raise ``PublishError`` if any was not delivered, so nothing is lost silently."""
        self._producer.flush(timeout)
        if self._failures:
            failures, self._failures = self._failures, []
            raise PublishError(f"{len(failures)} message(s) not delivered, first: {failures[0]!r}")

    def close(self) -> None:
        self._producer.close()

    def __enter__(self) -> "EventProducer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.flush()
        self.close()


class EventConsumer:
    """A member of a consumer group that hands out batches and commits only when told.

    ``first``: a topic the group must have committed up to its end (as it was when this member
    started) before records of the other topics are handed out. Kafka orders records only within a
    partition, so without it a sale polled before the catalog event of its SKU is refused as
    ``unknown sku``; with it, a (re)started group reads the catalog first. Held-back partitions are
    paused and sought back to their first unreturned record, so nothing is skipped or committed early.
    """

    def __init__(self, bootstrap: str, group_id: str, topics: Iterable[str], max_records: int, client_id: str = "shelfcast-consumer",
                 first: str | None = None) -> None:
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
            session_timeout_ms=10_000,
            heartbeat_interval_ms=1_000,
            max_poll_interval_ms=120_000,
        )
        self._first = first
        self._first_ends: dict[TopicPartition, int] | None = None

    def poll_batch(self, timeout_ms: int) -> list[ConsumerRecord]:
        """One poll's records across all assigned partitions, in offset order per partition."""
        polled = self._consumer.poll(timeout_ms=timeout_ms)
        records = [record for records in polled.values() for record in records]
        if self._first is None:
            return records
        if self._first_caught_up():
            self._first = None
            self._consumer.resume(*self._consumer.paused())
            return records
        return self._hold_back(records)

    def _first_caught_up(self) -> bool:
        """Whether the group's committed offsets on ``first`` reached its end offsets as first seen."""
        partitions = [TopicPartition(self._first, p) for p in self._consumer.partitions_for_topic(self._first) or ()]
        if not partitions:
            return False  # metadata not loaded yet: ask again on the next poll
        if self._first_ends is None:
            self._first_ends = self._consumer.end_offsets(partitions)
            log.info("reading %s up to %s before the other topics", self._first, sum(self._first_ends.values()))
        return all((self._consumer.committed(tp) or 0) >= self._first_ends[tp] for tp in partitions)

    def _hold_back(self, records: list[ConsumerRecord]) -> list[ConsumerRecord]:
        """Only ``first``'s records; the others' partitions are paused and sought back to be read later."""
        held: dict[TopicPartition, int] = {}
        for record in records:
            if record.topic != self._first:
                tp = TopicPartition(record.topic, record.partition)
                held[tp] = min(held.get(tp, record.offset), record.offset)
        for tp, offset in held.items():
            self._consumer.seek(tp, offset)
        others = [tp for tp in self._consumer.assignment() if tp.topic != self._first]
        if others:
            self._consumer.pause(*others)
        return [record for record in records if record.topic == self._first]

    def commit(self) -> bool:
        """Commit the positions of everything returned so far (call only after the writes succeeded).

        False when the group moved on without this member (e.g. a broker restarted slower than the
        session timeout): the partitions' next owner, possibly this member after the rejoin that the
        next poll does, re-reads from the last commit, which the consumer's idempotent writes absorb.
        Crashing instead would only make a supervisor restart it into the same rejoin.
        """
        try:
            self._consumer.commit()
            return True
        except CommitFailedError as exc:
            log.warning("offset commit refused, rejoining the group (the batch will be re-read): %s", exc)
            return False

    def lag(self) -> int:
        """Messages not yet consumed across the assigned partitions."""
        assigned = list(self._consumer.assignment())
        if not assigned:
            return 0
        ends = self._consumer.end_offsets(assigned)
        return sum(max(0, ends[tp] - self._consumer.position(tp)) for tp in assigned)

    def close(self) -> None:
        self._consumer.close(autocommit=False)


__all__ = ["ConsumerRecord", "EventConsumer", "EventProducer", "PublishError", "TopicPartition", "ensure_topics", "partition_key"]
