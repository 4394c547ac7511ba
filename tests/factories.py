"""Small hand-made events for tests that need exact, readable numbers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from services.common.events import OrderLine, OrderPlaced, ProductUpserted, Restocked, ReturnReceived, StoreUpserted

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def product(sku: str, price_cents: int = 1000, cost_cents: int = 600, threshold: int = 3) -> ProductUpserted:
    return ProductUpserted(
        occurred_at=T0,
        channel="online",
        sku=sku,
        name=f"Product {sku}",
        category="Grocery",
        sub_category="Snacks",
        price_cents=price_cents,
        cost_cents=cost_cents,
        reorder_threshold=threshold,
    )


def shop_store(store_id: str = "s1", region: str = "West") -> StoreUpserted:
    return StoreUpserted(
        occurred_at=T0,
        channel="store",
        store_id=store_id,
        name=f"Store {store_id}",
        region=region,
        latitude=47.6,
        longitude=-122.3,
    )


def restock(sku: str, quantity: int, store_id: str = "s1") -> Restocked:
    return Restocked(
        occurred_at=T0, channel="store", store_id=store_id, sku=sku, quantity=quantity, unit_cost_cents=600
    )


def order(
    sku: str,
    quantity: int,
    store_id: str = "s1",
    customer: str = "cu_test",
    minutes: int = 1,
    price_cents: int = 1000,
    channel: str = "online",
) -> OrderPlaced:
    return OrderPlaced(
        occurred_at=T0 + timedelta(minutes=minutes),
        channel=channel,
        order_id=f"o-{sku}-{minutes}",
        customer_id=customer,
        store_id=store_id,
        lines=[OrderLine(sku=sku, quantity=quantity, unit_price_cents=price_cents)],
    )


def a_return(sku: str, quantity: int, store_id: str = "s1") -> ReturnReceived:
    return ReturnReceived(
        occurred_at=T0 + timedelta(hours=1),
        channel="online",
        order_id="o-1",
        customer_id="cu_test",
        store_id=store_id,
        sku=sku,
        quantity=quantity,
        refund_cents=quantity * 1000,
    )
