"""Applying side effects to shared documents (stock, rollups) exactly once, without transactions.

Every such document carries ``applied``: for each Kafka partition, the highest offset whose effect
it already contains, and a ``version`` for optimistic concurrency. A writer reads the documents,
folds in only the effects with offsets above the watermark, and replaces each document only if its
version is unchanged; on a conflict (another consumer of the group touched the same stock) it
re-reads and folds again. The watermark and the effect land in one single-document write, so a
crash at any point can neither lose nor repeat an effect, and the mongo-java-server needs no
multi-document transactions.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from pymongo import InsertOne, ReplaceOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError

from services.data_consumer.records import Source

SideDocument = tuple[str, dict]
"""(collection, document with a deterministic ``_id``) written alongside an effect: ledger lines, alerts."""

MAX_ATTEMPTS = 50


@dataclass(frozen=True)
class Effect:
    """A change to one document caused by one Kafka message."""

    doc_id: str
    source: Source
    apply: Callable[[dict], list[SideDocument]]


class WatermarkConflict(RuntimeError):
    """Optimistic writes kept colliding; the batch is retried without committing offsets."""


def apply_effects(db: Database, collection: str, effects: list[Effect], new_document: Callable[[str], dict]) -> int:
    """Apply each effect at most once; returns how many were newly applied."""
    pending: dict[str, list[Effect]] = defaultdict(list)
    for effect in effects:
        pending[effect.doc_id].append(effect)
    applied_total = 0
    for _ in range(MAX_ATTEMPTS):
        if not pending:
            return applied_total
        current = {doc["_id"]: doc for doc in db[collection].find({"_id": {"$in": list(pending)}})}
        writes, side_docs, counts = [], [], {}
        for doc_id, doc_effects in pending.items():
            base = current.get(doc_id)
            state = copy.deepcopy(base) if base is not None else new_document(doc_id) | {"version": 0, "applied": {}}
            already = dict(state["applied"])
            count = 0
            for effect in doc_effects:
                key = effect.source.watermark_key
                if effect.source.offset <= already.get(key, -1):
                    continue
                side_docs.extend(effect.apply(state))
                state["applied"][key] = max(effect.source.offset, state["applied"].get(key, -1))
                count += 1
            if count == 0:
                continue
            counts[doc_id] = count
            state["version"] += 1
            writes.append(ReplaceOne({"_id": doc_id, "version": base["version"]}, state) if base else InsertOne(state))
        _write_side_documents(db, side_docs)
        if writes:
            try:
                db[collection].bulk_write(writes, ordered=False)
            except BulkWriteError as exc:
                if any(error["code"] != 11000 for error in exc.details["writeErrors"]):
                    raise
        pending = _still_pending(db, collection, pending)
        applied_total += sum(n for doc_id, n in counts.items() if doc_id not in pending)
    raise WatermarkConflict(f"{collection}: {len(pending)} documents still conflicting after {MAX_ATTEMPTS} attempts")


def _still_pending(db: Database, collection: str, pending: dict[str, list[Effect]]) -> dict[str, list[Effect]]:
    """Effects whose watermark is not yet in the stored document (their write lost a race)."""
    stored = {
        doc["_id"]: doc["applied"] for doc in db[collection].find({"_id": {"$in": list(pending)}}, {"applied": 1})
    }
    return {
        doc_id: effects
        for doc_id, effects in pending.items()
        if any(effect.source.offset > stored.get(doc_id, {}).get(effect.source.watermark_key, -1) for effect in effects)
    }


def _write_side_documents(db: Database, side_docs: list[SideDocument]) -> None:
    """Upserts by deterministic id, written before the main write so a crash in between only rewrites them."""
    by_collection: dict[str, list[ReplaceOne]] = defaultdict(list)
    for collection, doc in side_docs:
        by_collection[collection].append(ReplaceOne({"_id": doc["_id"]}, doc, upsert=True))
    for collection, writes in by_collection.items():
        db[collection].bulk_write(writes, ordered=False)
