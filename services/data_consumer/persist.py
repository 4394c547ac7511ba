"""Storing each event exactly once, and knowing which ones still owe their side effects.

Events are inserted with ``_id = event_id`` and the Kafka position they first arrived at. A
duplicate-key error then means one of two things: the same event was sent twice (a different
position: skip it entirely), or this very message is being re-processed after a crash before the
offset commit (same position: its side effects may still be missing, so it goes on to the
watermarked writers, which apply each effect at most once).
"""

from __future__ import annotations

from collections import defaultdict

from pymongo import InsertOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError

from services.data_consumer.records import Accepted

DUPLICATE_KEY = 11000


def insert_once(db: Database, collection: str, items: list[tuple[Accepted, dict]]) -> tuple[list[Accepted], int]:
    """Insert the documents; return the events whose effects must be applied, and the duplicates skipped."""
    if not items:
        return [], 0
    duplicates_at: set[int] = set()
    try:
        db[collection].bulk_write([InsertOne(doc) for _, doc in items], ordered=False)
    except BulkWriteError as exc:
        for error in exc.details["writeErrors"]:
            if error["code"] != DUPLICATE_KEY:
                raise
            duplicates_at.add(error["index"])
    if not duplicates_at:
        return [accepted for accepted, _ in items], 0
    existing = {
        doc["_id"]: doc.get("src")
        for doc in db[collection].find({"_id": {"$in": [items[i][1]["_id"] for i in duplicates_at]}}, {"src": 1})
    }
    owed: list[Accepted] = []
    skipped = 0
    for index, (accepted, doc) in enumerate(items):
        if index not in duplicates_at or existing.get(doc["_id"]) == doc["src"]:
            owed.append(accepted)
        else:
            skipped += 1
    return owed, skipped


def group_by_collection(items: list[tuple[str, Accepted, dict]]) -> dict[str, list[tuple[Accepted, dict]]]:
    grouped: dict[str, list[tuple[Accepted, dict]]] = defaultdict(list)
    for collection, accepted, doc in items:
        grouped[collection].append((accepted, doc))
    return grouped
