"""The MongoDB store: collection names, the client and the indexes every service relies on.

Indexes are created at start (idempotently) so a fresh database behaves like a migrated one.
Only features the embedded mongo-java-server supports are used: see README "Store".
"""
from __future__ import annotations

from pymongo import ASCENDING, DESCENDING, MongoClient
from pymongo.database import Database

ORDERS = "orders"
CLICKS = "clicks"
RETURNS = "returns"
RESTOCKS = "restocks"
EXPOSURES = "exposures"
PRODUCTS = "products"
STORES = "stores"
STOCK = "stock"
STOCK_LEDGER = "stock_ledger"
DAILY_SALES = "daily_sales"
ALERTS = "alerts"

_INDEXES: dict[str, list[tuple[list[tuple[str, int]], dict]]] = {
    ORDERS: [([("customer_id", ASCENDING), ("occurred_at", DESCENDING)], {}), ([("occurred_at", ASCENDING)], {})],
    CLICKS: [([("customer_id", ASCENDING), ("occurred_at", DESCENDING)], {})],
    RETURNS: [([("order_id", ASCENDING)], {})],
    EXPOSURES: [([("promotion_id", ASCENDING), ("customer_id", ASCENDING)], {})],
    STOCK: [([("sku", ASCENDING), ("store_id", ASCENDING)], {"unique": True})],
    STOCK_LEDGER: [([("sku", ASCENDING), ("store_id", ASCENDING), ("occurred_at", ASCENDING)], {})],
    DAILY_SALES: [([("day", ASCENDING)], {}), ([("sku", ASCENDING), ("store_id", ASCENDING), ("day", ASCENDING)], {})],
    ALERTS: [([("created_at", DESCENDING)], {})],
}


def connect(uri: str, db_name: str, timeout_ms: int = 10_000) -> Database:
    """A database handle over a real socket; fails fast when the server is not there."""
    client: MongoClient = MongoClient(uri, serverSelectionTimeoutMS=timeout_ms, tz_aware=True, appname="shelfcast")
    return client[db_name]


def ensure_indexes(db: Database) -> None:
    """Create every index the services query by; safe to call from every process at start."""
    for collection, indexes in _INDEXES.items():
        for keys, options in indexes:
            db[collection].create_index(keys, **options)


def stock_id(sku: str, store_id: str) -> str:
    """Stock documents are keyed by SKU and store so updates need no lookup."""
    return f"{sku}|{store_id}"
