"""A Kafka record paired with the event parsed from it, and where it came from."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.events import Event


@dataclass(frozen=True)
class Source:
    """Topic, partition and offset: identifies one delivery of a message."""

    topic: str
    partition: int
    offset: int

    @property
    def watermark_key(self) -> str:
        """Field name for per-partition watermarks (dots would be read as Mongo sub-paths)."""
        return f"{self.topic.replace('.', '_')}__{self.partition}"

    def as_doc(self) -> dict[str, object]:
        return {"topic": self.topic, "partition": self.partition, "offset": self.offset}


@dataclass(frozen=True)
class Accepted:
    event: Event
    source: Source
