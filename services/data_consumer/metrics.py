"""Prometheus metrics of the consumer (served on ``SHELFCAST_CONSUMER_METRICS_PORT``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_CONSUMED = Counter("shelfcast_consumer_events_consumed_total", "Kafka records read", ["topic"])
EVENTS_STORED = Counter("shelfcast_consumer_events_stored_total", "Events stored for the first time", ["event_type"])
EVENTS_DEAD_LETTERED = Counter("shelfcast_consumer_events_dead_lettered_total", "Records sent to the dead-letter topic")
DUPLICATES_SKIPPED = Counter(
    "shelfcast_consumer_duplicates_skipped_total", "Events already stored from another delivery"
)
BATCH_SECONDS = Histogram(
    "shelfcast_consumer_batch_seconds",
    "Time to process and commit one batch",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CONSUMER_LAG = Gauge("shelfcast_consumer_lag_messages", "Messages not yet consumed on the assigned partitions")
STORE_RETRIES = Counter("shelfcast_consumer_store_retries_total", "Batches retried because the store failed")
STORE_UNAVAILABLE = Gauge(
    "shelfcast_consumer_store_unavailable",
    "1 while a batch is being retried because the store (or Kafka for dead letters) failed",
)
