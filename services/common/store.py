"""The MongoDB store: the client and the indexes every service relies on (collection names: ``read_models``).

Indexes are created at start (idempotently) so a fresh database behaves like a migrated one.
Only features the embedded mongo-java-server supports are used: see README "Store".
"""

from __future__ import annotations

from pymongo import ASCENDING, DESCENDING, MongoClient
from pymongo.database import Database
from pymongo.errors import OperationFailure

from services.common.read_models import (
    ALERTS,
    CLICKS,
    DAILY_SALES,
    EXPOSURES,
    ORDERS,
    PROMOTION_FREQUENCY,
    PROMOTION_FREQUENCY_JOURNAL,
    RETURNS,
    SALES_SUMMARY,
    STOCK,
    STOCK_LEDGER,
)

CLICK_TTL_INDEX = "clicks_retention_ttl"
INDEX_OPTIONS_CONFLICT = 85

# The consumer's optimistic writes replace by {_id, version}. mongo-java-server serves a query from an
# index only when the query's fields are exactly the index's keys, so without this (trivially unique)
# index each such replace scanned the whole collection: 70 ms per write at 200k rollups, 0.5 ms with it.
_VERSIONED = ([("_id", ASCENDING), ("version", ASCENDING)], {"unique": True})

_INDEXES: dict[str, list[tuple[list[tuple[str, int]], dict]]] = {
    ORDERS: [
        ([("customer_id", ASCENDING), ("occurred_at", DESCENDING)], {}),
        ([("occurred_at", ASCENDING)], {}),
        ([("ingested_at", ASCENDING)], {}),
    ],  # the promotion engine's incremental order-history refresh
    CLICKS: [([("customer_id", ASCENDING), ("occurred_at", DESCENDING)], {})],
    RETURNS: [([("order_id", ASCENDING)], {})],
    EXPOSURES: [([("promotion_id", ASCENDING), ("customer_id", ASCENDING)], {})],
    STOCK: [([("sku", ASCENDING), ("store_id", ASCENDING)], {"unique": True}), _VERSIONED],
    STOCK_LEDGER: [([("sku", ASCENDING), ("store_id", ASCENDING), ("occurred_at", ASCENDING)], {})],
    DAILY_SALES: [
        ([("day", ASCENDING)], {}),
        ([("sku", ASCENDING), ("store_id", ASCENDING), ("day", ASCENDING)], {}),
        _VERSIONED,
    ],
    SALES_SUMMARY: [_VERSIONED],
    ALERTS: [([("created_at", DESCENDING)], {})],
    # erasure finds a customer's counters and journal entries; purges and the journal listing go by day / time
    PROMOTION_FREQUENCY: [([("customer_id", ASCENDING)], {}), ([("day", ASCENDING)], {})],
    PROMOTION_FREQUENCY_JOURNAL: [([("at", ASCENDING)], {}), ([("serves.customer_id", ASCENDING)], {})],
}


def connect(uri: str, db_name: str, timeout_ms: int = 10_000) -> Database:
    """A database handle over a real socket; fails fast when the server is not there."""
    client: MongoClient = MongoClient(uri, serverSelectionTimeoutMS=timeout_ms, tz_aware=True, appname="shelfcast")
    return client[db_name]


def ensure_indexes(db: Database, click_retention_days: int | None = None) -> None:
    """Create every index the services query by; safe to call from every process at start.

    ``click_retention_days`` (the data consumer passes the setting; others leave it ``None``, which
    keeps whatever is there): > 0 gives raw clicks a TTL index on ``occurred_at`` so a real MongoDB
    expires them itself (a changed period is applied with ``collMod``); 0 drops that index.
    mongo-java-server accepts the index but never expires anything, so
    ``services/data_consumer/retention.py`` also purges on a timer.
    """
    for collection, indexes in _INDEXES.items():
        for keys, options in indexes:
            db[collection].create_index(keys, **options)
    if click_retention_days is None:
        return
    if click_retention_days == 0:
        if CLICK_TTL_INDEX in db[CLICKS].index_information():
            db[CLICKS].drop_index(CLICK_TTL_INDEX)
        return
    seconds = click_retention_days * 86400
    try:
        db[CLICKS].create_index([("occurred_at", ASCENDING)], name=CLICK_TTL_INDEX, expireAfterSeconds=seconds)
    except OperationFailure as exc:
        if exc.code != INDEX_OPTIONS_CONFLICT:
            raise
        db.command("collMod", CLICKS, index={"name": CLICK_TTL_INDEX, "expireAfterSeconds": seconds})
