"""Kafka topic names, and which event type travels on which topic.

Names share a prefix (``SHELFCAST_TOPIC_PREFIX``) so several deployments, or several tests, can
use one broker without reading each other's events.
"""

from __future__ import annotations

from dataclasses import dataclass

_TOPIC_BY_EVENT_TYPE: dict[str, str] = {
    "product": "catalog",
    "store": "catalog",
    "order": "transactions",
    "click": "clicks",
    "return": "returns",
    "restock": "restocks",
    "exposure": "exposures",
}
_INGEST = ("catalog", "transactions", "clicks", "returns", "restocks", "exposures")


@dataclass(frozen=True)
class Topics:
    """The platform's topic names under one prefix."""

    prefix: str = "shelfcast"

    def name(self, base: str) -> str:
        return f"{self.prefix}.{base}"

    def for_event_type(self, event_type: str) -> str:
        return self.name(_TOPIC_BY_EVENT_TYPE[event_type])

    @property
    def dead_letter(self) -> str:
        return self.name("dead-letter")

    @property
    def ingest(self) -> tuple[str, ...]:
        """What the data consumer subscribes to."""
        return tuple(self.name(base) for base in _INGEST)

    @property
    def all(self) -> tuple[str, ...]:
        return (*self.ingest, self.dead_letter)
