"""Sending what cannot be processed to the dead-letter topic, with the reason and the origin."""

from __future__ import annotations

from kafka.consumer.fetcher import ConsumerRecord

from services.common.bus import EventProducer


class DeadLetters:
    """Forwards the original bytes untouched, so a fixed consumer could re-drive them."""

    def __init__(self, producer: EventProducer, topic: str) -> None:
        self._producer = producer
        self._topic = topic

    def send(self, record: ConsumerRecord, reason: str) -> None:
        headers = [
            ("reason", reason[:1000].encode()),
            ("source_topic", record.topic.encode()),
            ("source_partition", str(record.partition).encode()),
            ("source_offset", str(record.offset).encode()),
        ]
        self._producer.publish_raw(self._topic, record.value or b"", key=record.key, headers=headers)

    def flush(self) -> None:
        """Called before offsets are committed: a dead letter is never lost."""
        self._producer.flush()
