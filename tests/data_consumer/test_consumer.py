"""The consumer against a real broker and a real Mongo-protocol server."""

from __future__ import annotations

import json

from services.common import read_models
from services.common.events import event_to_bytes
from tests.data_consumer.conftest import read_dead_letters
from tests.factories import a_return, order, product, restock, shop_store
from tests.waiting import wait_for


def _seed_catalog(producer, db, skus=("A1",), stock=10) -> None:
    """Catalog, then stock; waits until the stock is on the shelf (topics are not ordered among each other)."""
    producer.publish(shop_store())
    for sku in skus:
        producer.publish(product(sku))
    producer.flush()
    for sku in skus:
        producer.publish(restock(sku, stock))
    producer.flush()
    wait_for(lambda: db[read_models.STOCK].count_documents({"received_units": stock}) == len(skus), "the initial stock")


def test_sale_moves_stock_and_feeds_daily_rollup(settings, db, producer, running_consumer):
    _seed_catalog(producer, db)
    producer.publish(order("A1", 4, price_cents=1250))
    producer.flush()
    # the rollup is the batch's last write but one: the consumer runs on while the test reads
    wait_for(
        lambda: (db[read_models.DAILY_SALES].find_one({"sku": "A1"}) or {}).get("units") == 4,
        "the sale to reach the daily rollup",
    )
    assert db[read_models.ORDERS].count_documents({}) == 1
    stock = db[read_models.STOCK].find_one({"_id": "A1|s1"})
    assert (stock["on_hand"], stock["status"]) == (6, "ok")
    rollup = db[read_models.DAILY_SALES].find_one({"sku": "A1"})
    assert (rollup["units"], rollup["revenue_cents"], rollup["cost_cents"], rollup["region"]) == (4, 5000, 2400, "West")
    ledger = sorted(db[read_models.STOCK_LEDGER].find({"sku": "A1"}), key=lambda d: d["kind"])
    assert [(d["kind"], d["moved"], d["on_hand_after"]) for d in ledger] == [("restock", 10, 10), ("sale", -4, 6)]


def test_same_events_delivered_twice_are_stored_once_and_move_stock_once(settings, db, producer, running_consumer):
    _seed_catalog(producer, db)
    sale, ret = order("A1", 3), a_return("A1", 1)
    for _ in range(2):
        producer.publish(sale)
        producer.publish(ret)
        producer.flush()
    marker = order("A1", 1, minutes=5)
    producer.publish(marker)
    producer.flush()
    wait_for(
        lambda: (
            db[read_models.ORDERS].find_one({"_id": str(marker.event_id)}) is not None
            and db[read_models.STOCK].find_one({"_id": "A1|s1"})["sold_units"] == 4
        ),
        "the marker order",
    )
    assert db[read_models.ORDERS].count_documents({}) == 2
    assert db[read_models.RETURNS].count_documents({}) == 1
    stock = db[read_models.STOCK].find_one({"_id": "A1|s1"})
    assert (stock["on_hand"], stock["sold_units"], stock["returned_units"]) == (10 - 3 + 1 - 1, 4, 1)


def test_oversell_records_backorder_and_alert(settings, db, producer, running_consumer):
    _seed_catalog(producer, db, stock=5)
    producer.publish(order("A1", 8))
    producer.flush()
    wait_for(lambda: db[read_models.STOCK].find_one({"_id": "A1|s1", "sold_units": 5}) is not None, "the oversell")
    stock = db[read_models.STOCK].find_one({"_id": "A1|s1"})
    assert (stock["on_hand"], stock["backordered_units"], stock["status"]) == (0, 3, "out")
    kinds = {alert["kind"] for alert in db[read_models.ALERTS].find({"sku": "A1"})}
    assert kinds == {"backorder", "out_of_stock"}


def test_low_stock_alert_fires_when_crossing_the_threshold(settings, db, producer, running_consumer):
    _seed_catalog(producer, db, stock=6)  # threshold is 3
    producer.publish(order("A1", 2, minutes=1))
    producer.publish(order("A1", 2, minutes=2))
    producer.flush()
    wait_for(lambda: db[read_models.STOCK].find_one({"_id": "A1|s1", "on_hand": 2}) is not None, "two sales")
    alerts = list(db[read_models.ALERTS].find({"sku": "A1"}))
    assert [(a["kind"], a["on_hand"]) for a in alerts] == [("low_stock", 2)]


def test_malformed_events_are_dead_lettered_with_a_reason_and_consumption_continues(
    settings, db, producer, running_consumer
):
    _seed_catalog(producer, db)
    topic = settings.topics.for_event_type("order")
    good = json.loads(event_to_bytes(order("A1", 1)))
    missing_field = {k: v for k, v in good.items() if k != "customer_id"}
    negative = json.loads(json.dumps(good)) | {"event_id": "6f1c1f6e-0000-4000-8000-000000000001"}
    negative["lines"][0]["quantity"] = -2
    wrong_type = json.loads(json.dumps(good)) | {"event_id": "6f1c1f6e-0000-4000-8000-000000000002", "store_id": 17}
    unknown_sku = json.loads(json.dumps(good)) | {"event_id": "6f1c1f6e-0000-4000-8000-000000000003"}
    unknown_sku["lines"][0]["sku"] = "NOPE"
    bad = [
        b"{not json",
        b"\xff\xfe\x00",
        json.dumps(missing_field).encode(),
        json.dumps(negative).encode(),
        json.dumps(wrong_type).encode(),
        json.dumps(unknown_sku).encode(),
    ]
    for value in bad:
        producer.publish_raw(topic, value, key=b"k")
    producer.publish_raw(topic, json.dumps(good).encode(), key=b"k")
    producer.flush()
    letters = read_dead_letters(settings, expected=len(bad))
    reasons = [dict(r.headers)["reason"].decode() for r in letters]
    assert len(letters) == len(bad)
    assert sorted(r.value for r in letters) == sorted(bad)
    assert any("not valid JSON" in r for r in reasons)
    assert any("customer_id" in r and "required" in r for r in reasons)
    assert any("quantity" in r and "greater than 0" in r for r in reasons)
    assert any("store_id" in r for r in reasons)
    assert any("unknown sku 'NOPE'" in r for r in reasons)
    wait_for(
        lambda: db[read_models.ORDERS].find_one({"_id": good["event_id"]}) is not None,
        "the good event after the bad ones",
    )
    assert db[read_models.ORDERS].count_documents({}) == 1
