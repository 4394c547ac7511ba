"""One batch of Kafka records in, everything it implies written to MongoDB.

Order of work: validate (bad → dead letters), catalog upserts, store each event once, then stock,
rollup and summary effects through the watermarked writer. The caller commits offsets only after
this returns, so any failure replays the whole batch and every step is safe to repeat.
"""

from __future__ import annotations

import logging
from collections import Counter as Tally
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial

from kafka.consumer.fetcher import ConsumerRecord
from pymongo import ReplaceOne
from pymongo.database import Database

from services.common import read_models
from services.common.events import EventRejected, ProductUpserted, StoreUpserted
from services.data_consumer import metrics
from services.data_consumer.dead_letter import DeadLetters
from services.data_consumer.documents import COLLECTION_BY_TYPE, catalog_document, event_document
from services.data_consumer.persist import insert_once
from services.data_consumer.records import Accepted, Source
from services.data_consumer.rollups import new_rollup_document, new_summary_document, rollup_effects, summary_effects
from services.data_consumer.stock import new_stock_document, stock_effects
from services.data_consumer.validation import CatalogCache, check_references, parse_record
from services.data_consumer.watermarks import apply_effects

log = logging.getLogger(__name__)


@dataclass
class BatchResult:
    consumed: int = 0
    stored: int = 0
    dead_lettered: int = 0
    duplicates: int = 0
    by_type: Tally = field(default_factory=Tally)


class BatchProcessor:
    """Holds the store handle, the catalog cache and the dead-letter sender across batches."""

    def __init__(self, db: Database, dead_letters: DeadLetters) -> None:
        self.db = db
        self.catalog = CatalogCache(db)
        self.dead_letters = dead_letters

    def process(self, records: list[ConsumerRecord]) -> BatchResult:
        result = BatchResult(consumed=len(records))
        parsed: list[Accepted] = []
        for record in records:
            metrics.EVENTS_CONSUMED.labels(record.topic).inc()
            try:
                parsed.append(
                    Accepted(parse_record(record.value), Source(record.topic, record.partition, record.offset))
                )
            except EventRejected as exc:
                self._reject(record, exc.reason, result)
        self._upsert_catalog([a for a in parsed if isinstance(a.event, (ProductUpserted, StoreUpserted))], result)
        by_collection: dict[str, list[tuple[Accepted, dict]]] = {}
        ingested_at = datetime.now(timezone.utc)
        records_by_source = {(r.topic, r.partition, r.offset): r for r in records}
        for accepted in parsed:
            if isinstance(accepted.event, (ProductUpserted, StoreUpserted)):
                continue
            try:
                check_references(accepted.event, self.catalog)
            except EventRejected as exc:
                src = accepted.source
                self._reject(records_by_source[(src.topic, src.partition, src.offset)], exc.reason, result)
                continue
            doc = event_document(accepted.event, self.catalog) | {
                "src": accepted.source.as_doc(),
                "ingested_at": ingested_at,
            }
            by_collection.setdefault(COLLECTION_BY_TYPE[type(accepted.event)], []).append((accepted, doc))
        owed: list[Accepted] = []
        for collection, items in by_collection.items():
            to_apply, skipped = insert_once(self.db, collection, items)
            owed.extend(to_apply)
            result.duplicates += skipped
            result.stored += len(items) - skipped
            for accepted in to_apply:
                result.by_type[accepted.event.event_type] += 1
        self._apply_effects(owed)
        self.dead_letters.flush()
        metrics.DUPLICATES_SKIPPED.inc(result.duplicates)
        for event_type, count in result.by_type.items():
            metrics.EVENTS_STORED.labels(event_type).inc(count)
        return result

    def _reject(self, record: ConsumerRecord, reason: str, result: BatchResult) -> None:
        log.info("dead-lettering %s[%d]@%d: %s", record.topic, record.partition, record.offset, reason)
        self.dead_letters.send(record, reason)
        result.dead_lettered += 1
        metrics.EVENTS_DEAD_LETTERED.inc()

    def _upsert_catalog(self, catalog_events: list[Accepted], result: BatchResult) -> None:
        writes: dict[str, list[ReplaceOne]] = {}
        for accepted in catalog_events:
            event = accepted.event
            collection, doc = catalog_document(event)  # type: ignore[arg-type]
            writes.setdefault(collection, []).append(ReplaceOne({"_id": doc["_id"]}, doc, upsert=True))
            self.catalog.learn(event)  # type: ignore[arg-type]
            result.by_type[event.event_type] += 1
        for collection, ops in writes.items():
            self.db[collection].bulk_write(ops, ordered=True)
        result.stored += len(catalog_events)

    def _apply_effects(self, owed: list[Accepted]) -> None:
        """Effects apply in event time within a batch: topics interleave arbitrarily, a restock stamped
        before a sale should be on the shelf for it."""
        owed = sorted(owed, key=lambda accepted: accepted.event.occurred_at)
        stock = [effect for accepted in owed for effect in stock_effects(accepted)]
        rollups = [effect for accepted in owed for effect in rollup_effects(accepted, self.catalog)]
        apply_effects(self.db, read_models.STOCK, stock, partial(new_stock_document, catalog=self.catalog))
        apply_effects(self.db, read_models.DAILY_SALES, rollups, partial(new_rollup_document, catalog=self.catalog))
        summaries = [effect for accepted in owed for effect in summary_effects(accepted, self.catalog)]
        apply_effects(
            self.db, read_models.SALES_SUMMARY, summaries, partial(new_summary_document, catalog=self.catalog)
        )
