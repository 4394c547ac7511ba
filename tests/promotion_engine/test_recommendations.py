"""Serving rules of GET /recommendations, against the real app, Mongo-protocol server and Kafka."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from services.common.bus import EventProducer
from services.common.events import Click
from services.promotion_engine.assignment import arm_for
from tests.promotion_engine.conftest import (
    NOW,
    add_order,
    add_product,
    create_promotion,
    promoted,
    promotion_body,
    read_exposures,
    set_stock,
)
from tests.waiting import wait_for


@pytest.fixture
def shop(db):
    """Two Grocery SKUs with healthy stock at the web shop (cover 2.0, threshold 10)."""
    for sku in ("SKU-A", "SKU-B"):
        add_product(db, sku, category="Grocery", price_cents=1000, cost_cents=500)
        set_stock(db, sku, on_hand=20, threshold=10)
    return db


def test_sku_below_its_stock_cover_threshold_is_never_promoted(shop, start_app):
    add_product(shop, "SKU-LOW")
    set_stock(shop, "SKU-LOW", on_hand=5, threshold=10)  # cover 0.5
    client = start_app()
    create_promotion(client, "P-LOW", sku="SKU-LOW", discount_pct=30)  # the better deal, but stock is short
    create_promotion(client, "P-A", sku="SKU-A")
    create_promotion(
        client, "P-A-STRICT", sku="SKU-A", stock_cover_threshold=2.5
    )  # SKU-A's cover of 2.0 is below this one's bar
    for customer in ("cu_1", "cu_2", "cu_3"):
        assert promoted(client, customer, k=5) == ["P-A"]


def test_category_promotion_offers_an_overstocked_sku_and_skips_a_short_one(shop, start_app):
    add_product(shop, "SKU-OVER")
    set_stock(shop, "SKU-OVER", on_hand=80, threshold=10)  # cover 8: overstocked
    add_product(shop, "SKU-SHORT")
    set_stock(shop, "SKU-SHORT", on_hand=3, threshold=10)
    client = start_app()
    create_promotion(client, "P-CAT", sku=None, category="Grocery")
    body = client.get("/recommendations/cu_1").json()
    [rec] = body["recommendations"]
    assert rec["sku"] == "SKU-OVER" and rec["stock"]["status"] == "overstocked" and "overstocked" in rec["reasons"]


def test_overstocked_sku_ranks_above_an_equal_offer_on_normal_stock(shop, start_app):
    add_product(shop, "SKU-OVER")
    set_stock(shop, "SKU-OVER", on_hand=80, threshold=10)
    client = start_app()
    create_promotion(client, "P-A", sku="SKU-A")
    create_promotion(client, "P-OVER", sku="SKU-OVER")
    assert promoted(client, "cu_1") == ["P-OVER", "P-A"]


def test_serving_stops_when_spend_reaches_the_budget(shop, start_app):
    client = start_app()
    create_promotion(client, "P-A", sku="SKU-A", budget_cents=10)
    costs = []
    for i in range(10):
        body = client.get(f"/recommendations/cu_{i}").json()
        costs += [r["expected_cost_cents"] for r in body["recommendations"]]
    promotion = client.get("/promotions/P-A").json()
    assert costs and promotion["spent_cents"] == sum(costs) <= 10
    assert promotion["remaining_cents"] < min(costs)  # not enough left for one more serve
    assert promoted(client, "cu_new") == []


def test_two_servers_serving_concurrently_never_overspend_a_shared_budget(shop, start_app):
    first, second = start_app(write_behind_s=0), start_app(write_behind_s=0)  # write-through: strict across servers
    create_promotion(first, "P-A", sku="SKU-A")
    cost = first.get("/recommendations/cu_probe").json()["recommendations"][0][
        "expected_cost_cents"
    ]  # the same for every new customer
    first.put(
        "/promotions/P-A", json=promotion_body("P-A", budget_cents=cost * 7 + cost // 2)
    )  # the probe plus six more fit, not seven

    def serve(i: int) -> int:
        return len(promoted((first, second)[i % 2], f"cu_{i}"))

    with ThreadPoolExecutor(8) as pool:
        served = sum(pool.map(serve, range(40)))
    promotion = first.get("/promotions/P-A").json()
    assert served == 6 and promotion["spent_cents"] == 7 * cost <= promotion["budget_cents"]


def test_frequency_cap_limits_serves_per_customer_per_day(shop, start_app):
    client = start_app()
    create_promotion(client, "P-A", sku="SKU-A", max_per_customer_per_day=2)
    assert [promoted(client, "cu_1") for _ in range(3)] == [["P-A"], ["P-A"], []]
    assert promoted(client, "cu_2") == ["P-A"]


def test_control_group_is_a_deterministic_share_that_gets_nothing_but_is_logged(shop, settings, start_app):
    share = 0.5
    arms = [arm_for(f"cu_{i}", "test-salt", share) for i in range(2000)]
    assert 0.45 < arms.count("control") / len(arms) < 0.55
    assert arms == [arm_for(f"cu_{i}", "test-salt", share) for i in range(2000)]
    control = next(f"cu_{i}" for i, arm in enumerate(arms) if arm == "control")
    treated = next(f"cu_{i}" for i, arm in enumerate(arms) if arm == "treatment")

    client = start_app(control_share=share, control_salt="test-salt")
    create_promotion(client, "P-A", sku="SKU-A")
    for _ in range(2):
        body = client.get(f"/recommendations/{control}").json()
        assert body["arm"] == "control" and body["recommendations"] == [] and body["withheld"] == 1
    assert client.get(f"/recommendations/{treated}").json()["arm"] == "treatment"
    events = read_exposures(settings, expected=3)
    logged = {(e.customer_id, e.arm) for e in events}
    assert (control, "control") in logged and (treated, "treatment") in logged
    treated_cost = client.get(f"/recommendations/{treated}").json()["recommendations"][0]["expected_cost_cents"]
    assert (
        client.get("/promotions/P-A").json()["spent_cents"] == 2 * treated_cost
    )  # withholding from control costs nothing


def test_only_promotions_within_their_dates_and_channel_are_served(shop, start_app):
    client = start_app()
    create_promotion(client, "P-NOW", sku="SKU-A")
    create_promotion(
        client,
        "P-FUTURE",
        sku="SKU-A",
        starts_at=(NOW + timedelta(days=1)).isoformat(),
        ends_at=(NOW + timedelta(days=3)).isoformat(),
    )
    create_promotion(
        client,
        "P-PAST",
        sku="SKU-A",
        starts_at=(NOW - timedelta(days=9)).isoformat(),
        ends_at=(NOW - timedelta(days=2)).isoformat(),
    )
    create_promotion(client, "P-STORES", sku="SKU-A", channels=["store"])
    assert promoted(client, "cu_1", k=10) == ["P-NOW"]
    assert set(promoted(client, "cu_1", k=10, channel="store", store_id="web")) == {"P-NOW", "P-STORES"}


def test_abandoned_cart_click_from_the_stream_moves_that_skus_promotion_to_the_top(shop, settings, start_app):
    client = start_app()
    create_promotion(client, "P-A", sku="SKU-A", discount_pct=10)
    create_promotion(client, "P-B", sku="SKU-B", discount_pct=15)  # the better offer without context
    assert promoted(client, "cu_cart") == ["P-B", "P-A"]
    with EventProducer(settings.kafka_bootstrap, settings.topics) as producer:
        producer.publish(
            Click(
                occurred_at=NOW,
                channel="online",
                session_id="s1",
                customer_id="cu_cart",
                action="add_to_cart",
                sku="SKU-A",
            )
        )
    wait_for(lambda: promoted(client, "cu_cart") == ["P-A", "P-B"], "the cart click to reach the engine")
    top = client.get("/recommendations/cu_cart").json()["recommendations"][0]
    assert "abandoned_cart" in top["reasons"]
    assert promoted(client, "cu_other") == ["P-B", "P-A"]  # nobody else's answer changed


def test_checkout_after_add_to_cart_is_not_an_abandoned_cart_with_clicks_read_from_mongo(shop, start_app):
    client = start_app(click_source="mongo")
    create_promotion(client, "P-A", sku="SKU-A", discount_pct=10)
    create_promotion(client, "P-B", sku="SKU-B", discount_pct=15)
    shop.clicks.insert_one(
        {
            "_id": "c1",
            "customer_id": "cu_cart",
            "session_id": "s",
            "action": "add_to_cart",
            "sku": "SKU-A",
            "occurred_at": NOW - timedelta(minutes=2),
        }
    )
    assert promoted(client, "cu_cart") == ["P-A", "P-B"]
    shop.clicks.insert_one(
        {
            "_id": "c2",
            "customer_id": "cu_cart",
            "session_id": "s",
            "action": "checkout",
            "sku": None,
            "occurred_at": NOW - timedelta(minutes=1),
        }
    )
    assert promoted(client, "cu_cart") == ["P-B", "P-A"]


def test_unknown_customer_gets_cold_start_recommendations_led_by_popular_items(shop, start_app):
    add_product(shop, "SKU-POP")
    set_stock(shop, "SKU-POP", on_hand=20, threshold=10)
    for i in range(5):
        add_order(shop, f"cu_buyer{i}", "SKU-POP", NOW - timedelta(days=3), quantity=3)
    client = start_app()
    create_promotion(client, "P-A", sku="SKU-A")
    create_promotion(client, "P-POP", sku="SKU-POP")
    body = client.get("/recommendations/cu_never_seen").json()
    assert body["cold_start"] is True and body["arm"] == "treatment"
    assert [r["promotion_id"] for r in body["recommendations"]] == ["P-POP", "P-A"]
    assert {"cold_start", "popular"} <= set(body["recommendations"][0]["reasons"])
    known = client.get("/recommendations/cu_buyer0").json()
    assert known["cold_start"] is False


def test_every_served_recommendation_is_published_as_an_exposure_event(shop, settings, start_app):
    client = start_app()
    create_promotion(client, "P-A", sku="SKU-A")
    create_promotion(client, "P-B", sku="SKU-B")
    body = client.get("/recommendations/cu_1", params={"channel": "online"}).json()
    events = read_exposures(settings, expected=2)
    assert sorted((e.customer_id, e.promotion_id, e.arm, e.sku, e.channel.value) for e in events) == [
        ("cu_1", "P-A", "treatment", "SKU-A", "online"),
        ("cu_1", "P-B", "treatment", "SKU-B", "online"),
    ]
    assert len(body["recommendations"]) == 2


def test_recommendation_explains_its_numbers(shop, start_app):
    client = start_app()
    create_promotion(client, "P-A", sku="SKU-A", discount_pct=10)
    [rec] = client.get("/recommendations/cu_1").json()["recommendations"]
    b = rec["expected_conversion"] - rec["expected_incremental_conversion"]
    u = rec["expected_incremental_conversion"]
    assert rec["discount_cents_per_unit"] == 100
    assert rec["expected_incremental_margin_cents"] == round(u * (1000 - 100 - 500) - b * 100)
    assert rec["expected_cost_cents"] == math.ceil(rec["expected_conversion"] * 100)
    assert rec["stock"] == {"store_id": "web", "status": "ok", "on_hand": 20, "reorder_threshold": 10, "cover": 2.0}


def test_bad_query_parameters_are_422_naming_them(shop, start_app):
    client = start_app()
    for params, field in (
        ({"k": 0}, "k"),
        ({"k": 1000}, "k"),
        ({"channel": "fax"}, "channel"),
        ({"store_id": "nowhere"}, "store_id"),
    ):
        response = client.get("/recommendations/cu_1", params=params)
        assert response.status_code == 422, (params, response.text)
        assert field in [error["loc"][-1] for error in response.json()["detail"]]
    assert client.get("/recommendations/bad%20id").status_code == 422


def test_frequency_counter_claim_refuses_past_the_cap_even_when_two_servers_race(db):
    from services.promotion_engine.exposure_log import ExposureLog

    log = ExposureLog(db, producer=None)  # type: ignore[arg-type]  # claims never publish
    claims = [
        log.claim("cu_1", [("P-A", 2), ("P-B", 1)], NOW) for _ in range(3)
    ]  # as if the pre-check had passed every time
    assert claims == [{"P-A", "P-B"}, {"P-A"}, set()]
    assert log.served_today("cu_1", ["P-A", "P-B", "P-C"], NOW) == {"P-A": 2, "P-B": 1}


def test_frequency_cap_holds_across_two_servers_and_the_next_offer_takes_the_slot(shop, start_app):
    first, second = start_app(write_behind_s=0), start_app(write_behind_s=0)  # write-through: strict across servers
    create_promotion(first, "P-A", sku="SKU-A", discount_pct=15, max_per_customer_per_day=1)
    create_promotion(first, "P-B", sku="SKU-B", discount_pct=10)
    [served] = first.get("/recommendations/cu_1", params={"k": 1}).json()["recommendations"]
    assert served["promotion_id"] == "P-A"
    assert promoted(second, "cu_1", k=1) == [
        "P-B"
    ]  # second has not seen first's serve: its claim is refused, P-B fills in
    assert promoted(second, "cu_1", k=2) == ["P-B"]
    assert (
        first.get("/promotions/P-A").json()["spent_cents"] == served["expected_cost_cents"]
    )  # second's charge was refunded
