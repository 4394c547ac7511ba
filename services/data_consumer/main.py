"""The consumer process: poll a batch, process it, commit, repeat; pause and retry when the store fails.

Run one or more with ``python -m services.data_consumer``: processes sharing
``SHELFCAST_CONSUMER_GROUP`` split the topics' partitions between them.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from datetime import datetime, timezone

from prometheus_client import start_http_server
from pymongo.errors import PyMongoError

from services.common import read_models
from services.common.bus import EventConsumer, EventProducer, PublishError
from services.common.logs import configure_logging
from services.common.settings import Settings, exits_on_invalid_settings, load_settings
from services.common.store import connect, ensure_indexes
from services.data_consumer import metrics
from services.data_consumer.dead_letter import DeadLetters
from services.data_consumer.processor import BatchProcessor
from services.data_consumer.retention import ClickRetention
from services.data_consumer.watermarks import WatermarkConflict

log = logging.getLogger(__name__)
STATUS_EVERY_S = 2.0
RETRY_PAUSE_S = 0.5
RETRY_MAX_PAUSE_S = 8.0


def run_consumer(settings: Settings, stop: threading.Event) -> None:
    """Consume until ``stop`` is set; offsets are committed only after a batch is fully written."""
    db = connect(settings.mongo_uri, settings.mongo_db)
    ensure_indexes(db, settings.click_retention_days)
    retention = ClickRetention(db, settings.click_retention_days)
    consumer = EventConsumer(
        settings.kafka_bootstrap,
        settings.consumer_group,
        settings.topics.ingest,
        settings.consumer_batch_size,
        first=settings.topics.for_event_type("product"),
    )
    producer = EventProducer(settings.kafka_bootstrap, settings.topics, client_id="shelfcast-dead-letters")
    processor = BatchProcessor(db, DeadLetters(producer, settings.topics.dead_letter))
    member = f"{os.uname().nodename}:{os.getpid()}"
    window_events, window_start, last_status = 0, time.monotonic(), 0.0
    try:
        while not stop.is_set():
            records = consumer.poll_batch(settings.consumer_poll_ms)
            if records:
                started = time.monotonic()
                _process_until_written(processor, records, stop)
                if stop.is_set():
                    break
                consumer.commit()
                metrics.BATCH_SECONDS.observe(time.monotonic() - started)
                window_events += len(records)
            now = time.monotonic()
            if now - last_status >= STATUS_EVERY_S:
                lag = consumer.lag()
                metrics.CONSUMER_LAG.set(lag)
                rate = window_events / max(now - window_start, 1e-9)
                _report_status(db, member, settings.consumer_group, lag, rate)
                window_events, window_start, last_status = 0, now, now
                retention.maybe_purge()
    finally:
        consumer.close()
        producer.close()


def _process_until_written(processor: BatchProcessor, records: list, stop: threading.Event) -> None:
    """Retry the same batch while the store (or Kafka, for dead letters) is unavailable: nothing is
    committed, nothing skipped. Pauses back off up to ``RETRY_MAX_PAUSE_S`` so an outage is neither
    busy-spun nor logged once a second: one warning when it starts, one when it ends."""
    failed_at: float | None = None
    attempts = 0
    while not stop.is_set():
        try:
            processor.process(records)
        except (PyMongoError, WatermarkConflict, PublishError) as exc:
            metrics.STORE_RETRIES.inc()
            if failed_at is None:
                failed_at = time.monotonic()
                metrics.STORE_UNAVAILABLE.set(1)
                log.warning(
                    "batch of %d records not written (%s: %s); retrying it, offsets not committed",
                    len(records),
                    type(exc).__name__,
                    exc,
                )
            stop.wait(min(RETRY_PAUSE_S * 2 ** min(attempts, 8), RETRY_MAX_PAUSE_S))
            attempts += 1
            continue
        if failed_at is not None:
            metrics.STORE_UNAVAILABLE.set(0)
            log.warning(
                "batch written after %d retries over %.1fs; consuming again", attempts, time.monotonic() - failed_at
            )
        return


def _report_status(db, member: str, group: str, lag: int, rate: float) -> None:
    """A heartbeat document the dashboard reads for ingestion rate and lag."""
    try:
        db[read_models.CONSUMER_STATUS].replace_one(
            {"_id": member},
            {
                "_id": member,
                "group": group,
                "lag": lag,
                "events_per_s": round(rate, 1),
                "updated_at": datetime.now(timezone.utc),
            },
            upsert=True,
        )
    except PyMongoError as exc:
        log.warning("could not write consumer status: %s", exc)


@exits_on_invalid_settings("data consumer")
def main() -> None:
    settings = load_settings()
    configure_logging(settings.log_level)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if settings.consumer_metrics_port:
        start_http_server(settings.consumer_metrics_port, addr="127.0.0.1")
    log.info("consuming %s as group %s", ", ".join(settings.topics.ingest), settings.consumer_group)
    run_consumer(settings, stop)
