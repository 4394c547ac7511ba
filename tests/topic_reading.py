"""Reading what tests produced back from the real broker, from the beginning, without a consumer group."""

from __future__ import annotations

import time
from collections.abc import Iterable

from kafka import KafkaConsumer

from services.common.settings import Settings


def read_records(settings: Settings, topics: Iterable[str], expected: int, timeout_s: float = 60.0) -> list:
    """Every record on ``topics`` from the beginning, waiting until ``expected`` arrived (a timeout returns fewer)."""
    consumer = KafkaConsumer(
        *topics,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    records: list = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(records) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(500).values():
                records.extend(batch)
    finally:
        consumer.close()
    return records
