"""The engine inside the platform: stock from the real data consumer, exposures and orders round-tripping
through Kafka and the consumer into MongoDB, measured by /experiments."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest

from services.common.bus import EventProducer
from services.common.events import OrderLine, OrderPlaced
from services.data_consumer.main import run_consumer
from tests.factories import product, restock, shop_store
from tests.promotion_engine.conftest import AppStarter, create_promotion, own_settings, promoted
from tests.waiting import wait_for


@pytest.fixture
def platform(live_settings, tmp_path):
    settings = own_settings(live_settings, tmp_path, all_topics=True).model_copy(
        update={"consumer_batch_size": 500, "consumer_poll_ms": 100, "consumer_metrics_port": 0}
    )
    stop = threading.Event()
    consumer = threading.Thread(target=run_consumer, args=(settings, stop), daemon=True)
    consumer.start()
    starter = AppStarter(settings)
    with EventProducer(settings.kafka_bootstrap, settings.topics) as producer:
        yield settings, producer, starter
    starter.stop()
    stop.set()
    consumer.join(30)


def test_served_exposures_and_later_orders_reach_the_experiment_through_kafka_and_the_consumer(platform):
    settings, producer, start_app = platform
    producer.publish(product("SKU-A", price_cents=1000, cost_cents=500, threshold=10))
    producer.publish(shop_store("web"))
    producer.flush()
    client = start_app()
    db = client.app.state.engine.db
    # topics are not ordered among each other: a restock read before its product is dead-lettered (unknown sku)
    wait_for(lambda: db.products.count_documents({}) == 1, "the consumer to store the product")
    producer.publish(restock("SKU-A", 40, store_id="web"))
    producer.flush()
    wait_for(
        lambda: (db.stock.find_one({"_id": "SKU-A|web"}) or {}).get("on_hand") == 40,
        "the consumer to stock SKU-A at the web shop",
    )

    create_promotion(client, "P-A", sku="SKU-A")
    assert promoted(client, "cu_1") == ["P-A"] and promoted(client, "cu_2") == ["P-A"]
    wait_for(
        lambda: client.get("/experiments/P-A").json()["treatment"]["n"] == 2,
        "both exposures to be stored by the consumer",
    )

    producer.publish(
        OrderPlaced(
            occurred_at=datetime.now(timezone.utc),
            channel="online",
            order_id="o-1",
            customer_id="cu_1",
            store_id="web",
            lines=[OrderLine(sku="SKU-A", quantity=1, unit_price_cents=1000, discount_cents=100)],
            promotion_id="P-A",
        )
    )
    producer.flush()
    wait_for(
        lambda: client.get("/experiments/P-A").json()["treatment"]["conversions"] == 1,
        "the order to count as a conversion",
    )
    arm = client.get("/experiments/P-A").json()["treatment"]
    assert arm["revenue_cents"] == 900 and arm["margin_cents"] == 400 and arm["discount_cents"] == 100
    assert db.stock.find_one({"_id": "SKU-A|web"})["on_hand"] == 39
