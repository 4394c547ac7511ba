"""The Kafka bus: the only module that touches the Kafka clients (kafka-python for the admin and the
consumer groups, confluent-kafka for producing).

Producers are idempotent with ``acks=all`` and batch with a short linger; consumers belong to a
group, never auto-commit, and commit only after the caller's writes succeeded, so a crash replays
rather than loses.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from confluent_kafka import KafkaError as ConfluentKafkaError
from confluent_kafka import KafkaException, Message, Producer
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import CommitFailedError, KafkaError, TopicAlreadyExistsError

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
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(wanted)
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


class RecordMetadata(NamedTuple):
    """Where the broker stored a message."""

    topic: str
    partition: int
    offset: int


class Delivery:
    """The broker's answer for one message, settled by whichever thread serves the producer's reports.

    Small on purpose (one is made per message): its state is guarded by the producer's ``settled`` condition.
    """

    __slots__ = ("_producer", "_error", "_done", "_errbacks", "_stored_at")

    def __init__(self, producer: EventProducer) -> None:
        self._producer = producer
        self._stored_at: RecordMetadata | None = None
        self._error: PublishError | None = None
        self._done = False
        self._errbacks: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def add_errback(self, fn: Callable[..., Any], *args: Any) -> Delivery:
        """Call ``fn(*args, error)`` if the message is not delivered (at once if that is already known)."""
        with self._producer.settled:
            if not self._done:
                self._errbacks.append((fn, args))
            elif self._error is not None:
                fn(*args, self._error)
        return self

    def get(self, timeout: float | None = None) -> RecordMetadata:
        """Wait for the broker's acknowledgement; raise ``PublishError`` if the message was not delivered."""
        self._producer.wait_until(lambda: self._done, timeout)
        if self._error is not None:
            raise self._error
        assert self._stored_at is not None
        return self._stored_at

    def _settle(self, err: ConfluentKafkaError | None, msg: Message) -> None:
        producer = self._producer
        with producer.settled:
            self._done = True
            producer.unsettled -= 1
            if err is None:
                self._stored_at = RecordMetadata(msg.topic(), msg.partition(), msg.offset())
            else:
                self._error = PublishError(f"{err.name()}: {err.str()}")
                producer.failures.append(self._error)
                for fn, args in self._errbacks:
                    fn(*args, self._error)
            producer.settled.notify_all()


class EventProducer:
    """Publishes events to the topic their type belongs to.

    confluent-kafka (librdkafka) rather than kafka-python: a send costs ~5 µs of CPU instead of ~30 µs and
    its network threads do not hold the GIL (README, Kafka client). Keys are hashed with murmur2, as the
    Java client and kafka-python do, so a key keeps its partition.
    """

    def __init__(
        self,
        bootstrap: str,
        topics: Topics,
        client_id: str = "shelfcast-producer",
        linger_ms: int = 5,
        connect_timeout_s: float = 10.0,
        max_block_s: float = 60.0,
    ) -> None:
        self.topics = topics
        self.settled = threading.Condition()  # guards the deliveries' state, ``unsettled`` and ``failures``
        self.unsettled = 0
        self.failures: list[PublishError] = []
        self._bootstrap = bootstrap
        self._max_block_s = max_block_s
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "client.id": client_id,
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": linger_ms,
                "batch.size": 256 * 1024,
                "delivery.timeout.ms": 120_000,
                "partitioner": "murmur2_random",
                "logger": logging.getLogger(f"{__name__}.librdkafka"),  # its logs through ours, not raw to stderr
            }
        )
        try:
            self._producer.list_topics(
                timeout=connect_timeout_s
            )  # fail here, as kafka-python did, not on the first send
        except KafkaException as exc:
            raise PublishError(f"no Kafka broker answered at {bootstrap}: {exc.args[0].str()}") from None
        self._closed = threading.Event()
        self._poller = threading.Thread(target=self._serve_reports, name=f"{client_id}-deliveries", daemon=True)
        self._poller.start()

    def publish(self, event: _Event) -> Delivery:
        topic = self.topics.for_event_type(event.event_type)  # type: ignore[attr-defined]
        return self.publish_raw(topic, event_to_bytes(event), key=partition_key(event))

    def publish_raw(
        self, topic: str, value: bytes, key: bytes | None = None, headers: list[tuple[str, bytes]] | None = None
    ) -> Delivery:
        """For replays, dead letters and tests that must send bytes no model would produce.

        Raises ``PublishError`` for what the producer refuses outright (a message over the size limit, a send
        queue still full after ``max_block_s``); a later failure reaches the delivery's errbacks and ``flush``.
        """
        delivery = Delivery(self)
        with self.settled:
            self.unsettled += 1
        deadline = time.monotonic() + self._max_block_s
        while True:
            try:
                self._producer.produce(topic, value, key, headers=headers, on_delivery=delivery._settle)
                return delivery
            except BufferError:  # the local queue is full: wait for the broker to take some, as kafka-python blocked
                if time.monotonic() < deadline:
                    time.sleep(0.01)
                    continue
                error = PublishError(
                    f"the send queue stayed full for {self._max_block_s:.0f}s (is the broker at {self._bootstrap} up?)"
                )
            except KafkaException as exc:
                error = PublishError(f"Kafka refused a message for {topic}: {exc.args[0].str()}")
            with self.settled:
                self.unsettled -= 1
            raise error

    def _serve_reports(self) -> None:
        """Run delivery callbacks and forward librdkafka's logs until closed."""
        while not self._closed.is_set():
            self._producer.poll(0.1)

    def wait_until(self, done: Callable[[], bool], timeout: float | None) -> None:
        """Block until ``done()`` (checked under ``settled``); ``PublishError`` after ``timeout`` seconds."""
        with self.settled:
            if not self.settled.wait_for(done, timeout):
                raise PublishError(f"no acknowledgement from Kafka within {timeout}s")

    def flush(self, timeout: float | None = None) -> None:
        """Wait for every send; raise ``PublishError`` if any was not delivered, so nothing is lost silently."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self._producer.flush(-1 if timeout is None else timeout)  # sends now what lingers
        # a report the poll thread took off the queue may still be on its way to its callback
        self.wait_until(
            lambda: self.unsettled <= 0, None if deadline is None else max(0.0, deadline - time.monotonic())
        )
        with self.settled:
            failures, self.failures = self.failures, []
        if failures:
            raise PublishError(f"{len(failures)} message(s) not delivered, first: {failures[0]!r}")

    def close(self) -> None:
        """Send what is queued (for at most 30 s) and stop the report thread."""
        if left := self._producer.flush(30):
            log.warning("closing the producer with %d message(s) not acknowledged by Kafka", left)
        self._closed.set()
        self._poller.join()

    def __enter__(self) -> EventProducer:
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            self.flush()
        finally:
            self.close()


class EventConsumer:
    """A member of a consumer group that hands out batches and commits only when told.

    ``first``: a topic the group must have committed up to its end (as it was when this member
    started) before records of the other topics are handed out. Kafka orders records only within a
    partition, so without it a sale polled before the catalog event of its SKU is refused as
    ``unknown sku``; with it, a (re)started group reads the catalog first. Held-back partitions are
    paused and sought back to their first unreturned record, so nothing is skipped or committed early.
    """

    def __init__(
        self,
        bootstrap: str,
        group_id: str,
        topics: Iterable[str],
        max_records: int,
        client_id: str = "shelfcast-consumer",
        first: str | None = None,
    ) -> None:
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


__all__ = [
    "ConsumerRecord",
    "Delivery",
    "RecordMetadata",
    "EventConsumer",
    "EventProducer",
    "PublishError",
    "TopicPartition",
    "ensure_topics",
    "partition_key",
]
