"""The dashboard's day and month summaries: exact sums, and a redelivered batch counted once.

Records are read back from the real broker and handed to the batch processor twice at the same
offsets, as after a crash between writing and committing; one order is also published twice
(a different offset), as a producer retry would.
"""

from __future__ import annotations

from services.common import read_models
from services.common.events import OrderLine, OrderPlaced
from services.data_consumer.dead_letter import DeadLetters
from services.data_consumer.processor import BatchProcessor
from tests.factories import T0, a_return, order, product, shop_store
from tests.topic_reading import read_records

DAY_ID, MONTH_ID = "2026-03-02|s1|online", "2026-03|s1|online"


def _publish(producer) -> int:
    """Catalog, an order of two products (one discounted by 20 %) sent twice, another order and a return; returns
    records
    sent.
    """
    home = product("B2", price_cents=2500, cost_cents=1000).model_copy(
        update={"category": "Home", "sub_category": "Kitchen"}
    )
    basket = OrderPlaced(
        occurred_at=T0,
        channel="online",
        order_id="o-basket",
        customer_id="cu_test",
        store_id="s1",
        lines=[
            OrderLine(sku="A1", quantity=2, unit_price_cents=1000),
            OrderLine(sku="B2", quantity=1, unit_price_cents=2500, discount_cents=500),
        ],
    )
    events = [shop_store(), product("A1"), home, basket, basket, order("A1", 1, minutes=5), a_return("A1", 1)]
    for event in events:
        producer.publish(event)
    producer.flush()
    return len(events)


def _rows(table: dict[str, list], *columns: str) -> list[tuple]:
    """A summary's table (equal-length columns) as sorted rows of ``columns``."""
    return sorted(zip(*(table[c] for c in columns)))


def _summaries(db) -> dict[str, dict]:
    return {doc["_id"]: doc for doc in db[read_models.SALES_SUMMARY].find()}


def test_redelivered_batch_does_not_double_count_the_summaries(settings, db, producer) -> None:
    sent = _publish(producer)
    records = read_records(settings, settings.topics.ingest, sent)
    assert len(records) == sent
    processor = BatchProcessor(db, DeadLetters(producer, settings.topics.dead_letter))
    first = processor.process(records)
    assert (first.stored, first.duplicates, first.dead_lettered) == (sent - 1, 1, 0)
    once = _summaries(db)
    assert set(once) == {DAY_ID, MONTH_ID}

    again = processor.process(records)  # the same offsets again: the effects are owed, the watermarks hold them back
    assert (again.duplicates, again.dead_lettered) == (1, 0)
    assert _summaries(db) == once

    for doc_id, grain in ((DAY_ID, "day"), (MONTH_ID, "month")):
        doc = once[doc_id]
        assert (doc["grain"], doc["region"], doc["version"]) == (grain, "West", 1)
        assert _rows(doc["skus"], "sku", "units", "revenue_cents", "cost_cents", "returned_units") == [
            ("A1", 3, 3000, 1800, 1),
            ("B2", 1, 2000, 1000, 0),
        ]
        assert _rows(doc["categories"], "category", "units", "revenue_cents", "discount_cents", "refund_cents") == [
            ("Grocery", 3, 3000, 0, 1000),
            ("Home", 1, 2000, 500, 0),
        ]
        assert _rows(doc["discounts"], "category", "band", "revenue_cents", "cost_cents") == [
            ("Grocery", 0, 3000, 1800),
            ("Home", 3, 2000, 1000),
        ]
    rolled = {d["sku"]: (d["units"], d["revenue_cents"]) for d in db[read_models.DAILY_SALES].find()}
    assert rolled == {
        sku: (units, revenue) for sku, units, revenue in _rows(once[DAY_ID]["skus"], "sku", "units", "revenue_cents")
    }
