"""Publishing for the producer commands: topics ensured first, delivery failures counted, not ignored."""

from __future__ import annotations

import threading
from types import TracebackType

from kafka.errors import KafkaError

from services.common.bus import EventProducer, ensure_topics, partition_key
from services.common.events import Event
from services.common.settings import Settings


class PublishError(RuntimeError):
    """Kafka could not be reached, or did not acknowledge some events."""


class Publisher:
    """An ``EventProducer`` that sends pre-serialized events and dead letters and remembers failed deliveries."""

    def __init__(self, settings: Settings, client_id: str) -> None:
        self._topics = settings.topics
        try:
            ensure_topics(settings.kafka_bootstrap, settings.topic_partitions, settings.topics.all)
            self._producer = EventProducer(settings.kafka_bootstrap, settings.topics, client_id=client_id)
        except KafkaError as exc:
            raise PublishError(
                f"cannot reach Kafka at {settings.kafka_bootstrap} ({type(exc).__name__}); "
                "is the broker running and SHELFCAST_KAFKA_BOOTSTRAP right?"
            ) from None
        self._lock = threading.Lock()
        self._failures: list[BaseException] = []

    def send(self, event: Event, payload: bytes) -> None:
        """``payload`` is ``event_to_bytes(event)``, passed in so callers that also record it serialize once."""
        topic = self._topics.for_event_type(event.event_type)
        self._producer.publish_raw(topic, payload, key=partition_key(event)).add_errback(self._failed)

    def dead_letter(self, value: bytes, reason: str, source: str) -> None:
        """The original bytes to the dead-letter topic, with ``reason`` and ``source`` headers."""
        headers = [("reason", reason[:1000].encode()), ("source", source.encode())]
        self._producer.publish_raw(self._topics.dead_letter, value, headers=headers).add_errback(self._failed)

    def flush(self) -> None:
        """Wait for every acknowledgement; raise if any event was not delivered."""
        self._producer.flush()
        with self._lock:
            if self._failures:
                raise PublishError(f"{len(self._failures)} events were not delivered (first: {self._failures[0]!r})")

    def close(self) -> None:
        self._producer.close()

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            self._failures.append(exc)

    def __enter__(self) -> Publisher:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
