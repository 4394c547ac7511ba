"""Each channel's native order format, through its adapter, Kafka and the consumer, into MongoDB."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from services.common import read_models
from services.data_generator.channels import MarketplaceAdapter, OnlineShopAdapter, PosAdapter, Sale, SaleLine
from tests.factories import product, restock, shop_store
from tests.waiting import wait_for

KEY = "round-trip-key"
AT = datetime(2026, 3, 2, 14, 15, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("adapter", "store_id", "customer"),
    [
        (OnlineShopAdapter(KEY, store_id="s1"), "s1", "ava@example.com"),
        (PosAdapter(KEY), "s1", "603412345678901"),
        (MarketplaceAdapter(KEY, store_id="s1"), "s1", "MB9F2C00AA11BB22CC"),
    ],
)
def test_channel_order_round_trips_into_orders_stock_and_rollups(
    adapter, store_id, customer, settings, db, producer, running_consumer
):
    producer.publish(shop_store(store_id))
    producer.publish(product("A1"))
    producer.flush()
    producer.publish(restock("A1", 50, store_id))
    producer.flush()
    wait_for(lambda: db[read_models.STOCK].count_documents({"received_units": 50}) == 1, "the opening stock")
    sale = Sale("R-1", customer, store_id, AT, 0, (SaleLine("A1", 3, 1299, 100),), None)
    (event,) = adapter.parse(adapter.render(sale))
    producer.publish(event)
    producer.flush()
    wait_for(
        lambda: db[read_models.DAILY_SALES].find_one({"sku": "A1", "units": 3}) is not None,
        "the sale to reach the daily rollup",
    )  # written after the stock move
    assert db[read_models.STOCK].find_one({"_id": "A1|s1", "sold_units": 3}) is not None
    stored = db[read_models.ORDERS].find_one({"_id": str(event.event_id)})
    assert stored["channel"] == adapter.channel.value
    assert customer.lower() not in str(stored).lower()
    assert stored["customer_id"].startswith("cu_")
    rollup = db[read_models.DAILY_SALES].find_one({"sku": "A1", "channel": adapter.channel.value})
    assert rollup["units"] == 3
    assert rollup["revenue_cents"] == stored["revenue_cents"] == sum(line.revenue_cents for line in event.lines)
