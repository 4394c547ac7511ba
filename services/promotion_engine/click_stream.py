"""Tail of the clicks topic into a ``ClickWindow``: how a click changes the next answer within a second.

Every engine process reads the whole topic itself (no consumer group, no commits: it keeps no
state worth resuming). At start it seeks each partition to the first record of the last
``window`` minutes, then loads the same window of clicks already stored in MongoDB (covering
clicks that reached the database some other way); the window drops duplicates by event id.

This is the one place in the engine that uses kafka-python directly: ``services/common/bus.py``
has only group consumers that start at the earliest offset. (Candidate for an ``EventTail`` there.)
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from pymongo.database import Database
from pymongo.errors import PyMongoError

from services.common import read_models
from services.common.events import Click, EventRejected, parse_event
from services.promotion_engine.features import ClickRecord, ClickWindow, click_record

log = logging.getLogger(__name__)
PRUNE_EVERY_S = 30.0


class ClickStreamTail:
    """A daemon thread feeding ``window`` from ``topic`` (and once from MongoDB) until ``stop()``."""

    def __init__(
        self, bootstrap: str, topic: str, window: ClickWindow, db: Database | None, poll_ms: int = 500
    ) -> None:
        self._bootstrap = bootstrap
        self._topic = topic
        self._window = window
        self._db = db
        self._poll_ms = poll_ms
        self._stop = threading.Event()
        self.ready = threading.Event()
        self.consumed = 0
        self.rejected = 0
        self.last_poll_at: float | None = None
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="click-stream-tail", daemon=True)

    def start(self) -> ClickStreamTail:
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)

    @property
    def healthy(self) -> bool:
        """Ready and polled within the last few seconds."""
        return self.ready.is_set() and self.last_poll_at is not None and time.monotonic() - self.last_poll_at < 10.0

    def _run(self) -> None:
        while not self._stop.is_set():
            consumer = None
            try:
                consumer = KafkaConsumer(
                    bootstrap_servers=self._bootstrap,
                    group_id=None,
                    enable_auto_commit=False,
                    client_id="shelfcast-promotion-clicks",
                    request_timeout_ms=10_000,
                )
                self._seek_to_window(consumer)
                if not self.ready.is_set():
                    self._backfill()
                    self.ready.set()
                self.error = None
                self._consume(consumer)
            except KafkaError as exc:
                self.error = f"{type(exc).__name__}: {exc}"
                log.warning("click stream tail: %s; retrying in 1s", self.error)
                self._stop.wait(1.0)
            finally:
                if consumer is not None:
                    consumer.close()

    def _seek_to_window(self, consumer: KafkaConsumer) -> None:
        partitions = None
        while partitions is None and not self._stop.is_set():
            partitions = consumer.partitions_for_topic(self._topic)
            if partitions is None:
                self._stop.wait(0.5)
        if partitions is None:
            return
        assigned = [TopicPartition(self._topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        since_ms = int((datetime.now(timezone.utc) - self._window.window).timestamp() * 1000)
        offsets = consumer.offsets_for_times({tp: since_ms for tp in assigned})
        for tp in assigned:
            found = offsets.get(tp)
            if found is None:
                consumer.seek_to_end(tp)
            else:
                consumer.seek(tp, found.offset)

    def _backfill(self) -> None:
        if self._db is None:
            return
        since = datetime.now(timezone.utc) - self._window.window
        try:
            for doc in self._db[read_models.CLICKS].find(
                {"occurred_at": {"$gte": since}}, {"customer_id": 1, "action": 1, "sku": 1, "occurred_at": 1}
            ):
                self._window.add(doc["customer_id"], click_record(doc))
        except PyMongoError as exc:
            log.warning("click window backfill from MongoDB failed (the stream still feeds it): %s", exc)

    def _consume(self, consumer: KafkaConsumer) -> None:
        last_prune = time.monotonic()
        while not self._stop.is_set():
            polled = consumer.poll(timeout_ms=self._poll_ms)
            self.last_poll_at = time.monotonic()
            for records in polled.values():
                for record in records:
                    self._add(record.value)
            if time.monotonic() - last_prune > PRUNE_EVERY_S:
                self._window.prune()
                last_prune = time.monotonic()

    def _add(self, value: bytes | None) -> None:
        try:
            event = parse_event(value or b"")
        except EventRejected:
            self.rejected += 1  # the data consumer dead-letters it; here it is just not context
            return
        if isinstance(event, Click):
            self._window.add(
                event.customer_id, ClickRecord(event.occurred_at, event.action.value, event.sku, str(event.event_id))
            )
            self.consumed += 1
