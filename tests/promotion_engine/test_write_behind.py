"""The serving fast path: budget charges and frequency counts written behind, the cached candidate
table, and the hand-built JSON body — each checked against the behaviour it replaces."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from pymongo.errors import BulkWriteError

from services.common.bus import EventProducer
from services.common.events import Click
from services.promotion_engine.features import CandidateFacts, customer_vector, feature_matrix
from services.promotion_engine.schemas import RecommendationsOut
from tests.promotion_engine.conftest import NOW, add_order, add_product, create_promotion, promoted, set_stock
from tests.waiting import wait_for

SLOW_FLUSH = 60.0  # nothing is written behind during the test: only the shutdown flush can have written it


@pytest.fixture
def shop(db):
    for sku, category in (("SKU-A", "Grocery"), ("SKU-B", "Grocery"), ("SKU-C", "Snacks")):
        add_product(db, sku, category=category, price_cents=1000, cost_cents=500)
        set_stock(db, sku, on_hand=20, threshold=10)
    return db


def test_budget_served_from_memory_stops_at_the_budget_and_is_written_at_shutdown(shop, start_app):
    client = start_app(write_behind_s=SLOW_FLUSH)
    create_promotion(client, "P-A", sku="SKU-A", budget_cents=40)
    costs = []
    for i in range(30):
        costs += [r["expected_cost_cents"] for r in client.get(f"/recommendations/cu_{i}").json()["recommendations"]]
    assert costs and sum(costs) <= 40 < sum(costs) + min(costs)  # served until the next serve would not fit
    assert client.get("/promotions/P-A").json()["spent_cents"] == sum(
        costs
    )  # this process's reads include its unwritten charges
    assert shop.promotions.find_one({"_id": "P-A"})["spent_cents"] == 0  # nothing written yet
    start_app.stop()
    stored = shop.promotions.find_one({"_id": "P-A"})
    assert stored["spent_cents"] == sum(costs) and stored["remaining_cents"] == 40 - sum(costs)


def test_charges_and_counters_reach_the_database_while_serving(shop, start_app):
    client = start_app(write_behind_s=0.05)
    create_promotion(client, "P-A", sku="SKU-A", max_per_customer_per_day=3)
    costs = [
        r["expected_cost_cents"]
        for _ in range(2)
        for r in client.get("/recommendations/cu_1").json()["recommendations"]
    ]
    wait_for(
        lambda: shop.promotions.find_one({"_id": "P-A"})["spent_cents"] == sum(costs),
        "the charges to be written behind",
    )
    exposures = client.app.state.engine.exposures
    wait_for(lambda: exposures.served_today("cu_1", ["P-A"], NOW) == {"P-A": 2}, "the counter to be written")


def test_a_restarted_server_keeps_todays_frequency_caps(shop, start_app):
    first = start_app(write_behind_s=SLOW_FLUSH)
    create_promotion(first, "P-A", sku="SKU-A", max_per_customer_per_day=2)
    assert [promoted(first, "cu_1") for _ in range(3)] == [["P-A"], ["P-A"], []]
    start_app.stop()  # writes the counts
    second = start_app(write_behind_s=SLOW_FLUSH)
    assert promoted(second, "cu_1") == []
    assert promoted(second, "cu_2") == ["P-A"]


def test_a_budget_raised_by_put_is_served_at_once(shop, start_app):
    client = start_app(write_behind_s=SLOW_FLUSH)
    create_promotion(client, "P-A", sku="SKU-A", budget_cents=1)
    assert promoted(client, "cu_1") == []
    body = client.get("/promotions/P-A").json()
    response = client.put(
        "/promotions/P-A",
        json={
            k: body[k]
            for k in (
                "name",
                "type",
                "discount_pct",
                "sku",
                "starts_at",
                "ends_at",
                "max_per_customer_per_day",
                "stock_cover_threshold",
            )
        }
        | {"budget_cents": 10_000},
    )
    assert response.status_code == 200, response.text
    assert promoted(client, "cu_1") == ["P-A"]


def test_cached_candidate_table_follows_stock_changes(shop, start_app):
    client = start_app(write_behind_s=0.05, stock_ttl_s=0.2)
    create_promotion(client, "P-A", sku="SKU-A")
    assert promoted(client, "cu_1") == ["P-A"]
    set_stock(shop, "SKU-A", on_hand=5, threshold=10)  # cover 0.5: below the promotion's threshold of 1.0
    wait_for(lambda: promoted(client, "cu_2") == [], "the stock change to reach the candidate table")


def test_fast_feature_rows_equal_the_training_feature_matrix(shop, settings, start_app):
    add_order(shop, "cu_hist", "SKU-C", NOW - timedelta(days=4), quantity=2)
    add_order(shop, "cu_hist", "SKU-A", NOW - timedelta(days=20))
    client = start_app(write_behind_s=0.05)
    create_promotion(client, "P-A", sku="SKU-A", discount_pct=20)
    create_promotion(
        client, "P-CAT", sku=None, category="Grocery", type="amount_off", discount_pct=None, discount_cents=150
    )
    create_promotion(client, "P-SNACK", sku="SKU-C", type="bogo", discount_pct=None)
    with EventProducer(settings.kafka_bootstrap, settings.topics) as producer:
        producer.publish(
            Click(occurred_at=NOW, channel="online", session_id="s", customer_id="cu_hist", action="view", sku="SKU-B")
        )
        producer.publish(
            Click(
                occurred_at=NOW,
                channel="online",
                session_id="s",
                customer_id="cu_hist",
                action="add_to_cart",
                sku="SKU-C",
            )
        )
    engine = client.app.state.engine
    wait_for(lambda: engine.clicks.activity("cu_hist", NOW).clicks == 2, "the clicks to reach the window")
    recommender, history, activity = (
        engine.recommender,
        engine.history.customer("cu_hist"),
        engine.clicks.activity("cu_hist", NOW),
    )
    table = recommender.table_for("online")
    rows = np.arange(len(table))
    fast = recommender.features(
        table, rows, history, activity, NOW, recommender.candidate_columns(table, rows, history, activity)
    )
    facts = [
        CandidateFacts(
            p.category,
            p.sku,
            table.discount[i] / p.price_cents,
            table.promotions[table.promotion_index[i]].type,
            table.promotions[table.promotion_index[i]].sku is None,
            float(p.price_cents),
            float(p.cost_cents),
        )
        for i, p in enumerate(table.products)
    ]
    expected = feature_matrix(customer_vector(history, activity, NOW), facts, history, activity)
    assert len(table) == 4 and fast.shape == expected.shape  # P-A, P-CAT x (SKU-A, SKU-B), P-SNACK
    np.testing.assert_array_equal(fast, expected)
    assert fast[:, 7].sum() == 1 and fast[:, 8].sum() == 1  # one candidate viewed, one in the cart


def test_json_body_is_what_the_documented_schema_serializes(shop, start_app):
    client = start_app(write_behind_s=0.05)
    create_promotion(client, "P-A", sku="SKU-A")
    create_promotion(client, "P-CAT", sku=None, category="Grocery")
    body = client.get("/recommendations/cu_1", params={"k": 5}).json()
    assert len(body["recommendations"]) == 2
    assert RecommendationsOut.model_validate(body).model_dump(mode="json") == body


def test_scores_computed_ahead_are_the_scores_a_request_would_compute(db, start_app):
    from tests.promotion_engine.test_training import seed_experiment

    for sku, category in (("SKU-A", "Grocery"), ("SKU-B", "Toys"), ("SKU-G", "Grocery")):
        add_product(db, sku, category=category, price_cents=1000, cost_cents=500)
        set_stock(db, sku, on_hand=50)
    seed_experiment(db, customers=120)  # before the start: the history snapshot holds these customers
    client = start_app(score_ttl_s=60)
    create_promotion(client, "P-A", sku="SKU-A")
    create_promotion(client, "P-CAT", sku=None, category="Grocery", discount_pct=15)
    assert client.post("/train", params={"wait": True}, json={"learner": "t"}).status_code == 200
    engine = client.app.state.engine
    recommender, scores = engine.recommender, engine.recommender.scores
    version = engine.registry.active.version
    customers = [f"cu_{i}" for i in range(0, 120, 7)]
    wait_for(
        lambda: all(
            scores.fresh(c, version, engine.history.customer(c), engine.clicks.activity(c, NOW)) for c in customers
        ),
        "the scorer thread to score the known customers",
    )
    table = recommender.table_for("online")
    rows = np.arange(len(table))
    assert len(table) == 3  # P-A x SKU-A, P-CAT x (SKU-A, SKU-G)
    for customer in customers:
        history, activity = engine.history.customer(customer), engine.clicks.activity(customer, NOW)
        cached = scores.lookup(customer, version, history, activity, table.score_keys, table, rows)
        inline = engine.registry.active.learner.predict_uplift(
            recommender.features(
                table, rows, history, activity, NOW, recommender.candidate_columns(table, rows, history, activity)
            )
        )
        assert cached is not None
        np.testing.assert_allclose(cached, inline, rtol=0, atol=1e-9)
    hits = scores.hits
    body = client.get(f"/recommendations/{customers[0]}").json()
    assert scores.hits == hits + 1 and body["scored_by"] == f"model:{version}"


def test_customers_with_only_clicks_are_scored_ahead_and_a_miss_is_scored_once(db, start_app):
    """Customers with recent clicks but no orders get scores ahead too; a request that misses the cache (a new
    click changed the customer's features) scores the customer's whole universe and keeps it, so the next
    request hits instead of running the model again."""
    from services.promotion_engine.features import ClickRecord
    from tests.promotion_engine.test_training import seed_experiment

    for sku, category in (("SKU-A", "Grocery"), ("SKU-G", "Grocery")):
        add_product(db, sku, category=category, price_cents=1000, cost_cents=500)
        set_stock(db, sku, on_hand=50)
    seed_experiment(db, customers=120)
    client = start_app(score_ttl_s=60)
    engine = client.app.state.engine
    engine.clicks.add("cu_clicks_only", ClickRecord(NOW, "view", "SKU-G", "click-1"))
    create_promotion(client, "P-A", sku="SKU-A")
    assert client.post("/train", params={"wait": True}, json={"learner": "t"}).status_code == 200
    scores, version = engine.recommender.scores, engine.registry.active.version
    wait_for(
        lambda: scores.fresh("cu_clicks_only", version, None, engine.clicks.activity("cu_clicks_only", NOW)),
        "the scorer thread to score the customer known only from clicks",
    )
    engine.clicks.add("cu_3", ClickRecord(NOW, "add_to_cart", "SKU-A", "click-2"))
    hits, misses = scores.hits, scores.misses
    first = client.get("/recommendations/cu_3").json()
    assert scores.misses == misses + 1 and first["scored_by"] == f"model:{version}"
    second = client.get("/recommendations/cu_3").json()
    assert (
        scores.misses == misses + 1 and scores.hits == hits + 1
    )  # the refill answered the first request (a miss), the cache the second
    assert [r["expected_incremental_conversion"] for r in second["recommendations"]] == [
        r["expected_incremental_conversion"] for r in first["recommendations"]
    ]


def test_a_budget_flush_failing_part_way_keeps_the_unwritten_charges_and_never_writes_one_twice(shop, start_app):
    client = start_app(write_behind_s=SLOW_FLUSH)
    for pid in ("P-A", "P-B", "P-C"):
        create_promotion(client, pid, sku="SKU-A", budget_cents=1000)
    promotions = client.app.state.engine.promotions
    for pid, cents in (("P-A", 10), ("P-B", 20), ("P-C", 30)):
        assert promotions.charge(pid, cents)
    shop.promotions.update_one({"_id": "P-B"}, {"$set": {"spent_cents": "corrupt"}})  # $inc on it is a write error
    with pytest.raises(BulkWriteError):
        promotions.flush_charges()
    assert {d["_id"]: d["spent_cents"] for d in shop.promotions.find()} == {"P-A": 10, "P-B": "corrupt", "P-C": 30}
    shop.promotions.update_one({"_id": "P-B"}, {"$set": {"spent_cents": 0}})
    assert promotions.flush_charges() == 20  # P-B now; P-A and P-C not again
    assert {d["_id"]: (d["spent_cents"], d["remaining_cents"]) for d in shop.promotions.find()} == {
        "P-A": (10, 990),
        "P-B": (20, 980),
        "P-C": (30, 970),
    }
