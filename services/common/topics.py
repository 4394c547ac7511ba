"""Kafka topic names and which event type travels on which topic."""
from __future__ import annotations

CATALOG = "shelfcast.catalog"
TRANSACTIONS = "shelfcast.transactions"
CLICKS = "shelfcast.clicks"
RETURNS = "shelfcast.returns"
RESTOCKS = "shelfcast.restocks"
EXPOSURES = "shelfcast.exposures"
DEAD_LETTER = "shelfcast.dead-letter"

TOPIC_BY_EVENT_TYPE: dict[str, str] = {
    "product": CATALOG,
    "store": CATALOG,
    "order": TRANSACTIONS,
    "click": CLICKS,
    "return": RETURNS,
    "restock": RESTOCKS,
    "exposure": EXPOSURES,
}
INGEST_TOPICS: tuple[str, ...] = (CATALOG, TRANSACTIONS, CLICKS, RETURNS, RESTOCKS, EXPOSURES)
ALL_TOPICS: tuple[str, ...] = (*INGEST_TOPICS, DEAD_LETTER)
