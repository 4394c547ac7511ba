"""POST /train, GET /train/status, GET /models/active: background training that never breaks what serves."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from tests.promotion_engine.conftest import NOW, add_exposure, add_order, add_product, create_promotion, set_stock
from tests.waiting import wait_for

T0 = NOW - timedelta(days=10)


@pytest.fixture
def shop(db):
    for sku, category in (("SKU-A", "Grocery"), ("SKU-B", "Toys")):
        add_product(db, sku, category=category, price_cents=1000, cost_cents=500)
        set_stock(db, sku, on_hand=50)
    return db


def seed_experiment(db, customers: int = 160, seed: int = 0) -> None:
    """A randomized test of P-A: treated customers convert 45% (grocery buyers) / 25%, control 15%."""
    rng = random.Random(seed)
    for i in range(customers):
        customer, arm = f"cu_{i}", ("treatment" if i % 2 == 0 else "control")
        grocery_buyer = rng.random() < 0.5
        add_order(
            db,
            customer,
            "SKU-A" if grocery_buyer else "SKU-B",
            T0 - timedelta(days=rng.randint(5, 60)),
            order_id=f"hist-{i}",
        )
        add_exposure(db, customer, "P-A", arm, T0 + timedelta(minutes=i), sku="SKU-A")
        rate = (0.45 if grocery_buyer else 0.25) if arm == "treatment" else 0.15
        if rng.random() < rate:
            add_order(db, customer, "SKU-A", T0 + timedelta(days=1, minutes=i), order_id=f"out-{i}")


def finished(client) -> dict:
    wait_for(
        lambda: client.get("/train/status").json()["state"] in ("succeeded", "failed"),
        "training to finish",
        timeout_s=120,
    )
    return client.get("/train/status").json()


def test_train_with_an_empty_control_arm_is_refused_with_a_clear_error(shop, start_app):
    client = start_app()
    create_promotion(client, "P-A", sku="SKU-A")
    for i in range(20):
        add_exposure(shop, f"cu_{i}", "P-A", "treatment", T0, sku="SKU-A")
    response = client.post("/train", json={})
    assert response.status_code == 409
    assert (
        "no control exposures" in response.json()["detail"] and "active model is unchanged" in response.json()["detail"]
    )
    assert client.get("/train/status").json()["state"] == "idle"
    assert client.get("/models/active").status_code == 404


def test_train_whose_data_cannot_fit_fails_in_the_background_and_says_why(shop, start_app):
    client = start_app()
    create_promotion(client, "P-A", sku="SKU-A")
    for i in range(40):  # both arms, but nobody ever converts
        add_exposure(shop, f"cu_{i}", "P-A", "treatment" if i % 2 else "control", T0, sku="SKU-A")
    assert client.post("/train", json={"learner": "t"}).status_code == 202
    status = finished(client)
    assert status["state"] == "failed" and "always 0" in status["error"]
    assert client.get("/models/active").status_code == 404


def test_train_creates_an_active_version_that_scores_recommendations(shop, start_app):
    client = start_app()
    create_promotion(client, "P-A", sku="SKU-A")
    seed_experiment(shop)
    started = client.post("/train", json={"learner": "auto", "seed": 1})
    assert started.status_code == 202 and started.json()["state"] == "running"
    status = finished(client)
    assert status["state"] == "succeeded", status
    active = client.get("/models/active").json()
    assert active["version"] == status["version"] and active["learner"] in ("s", "t", "x", "ct")
    assert set(active["metrics"]) == {"qini", "auuc", "uplift_at_30"}
    assert active["rows"]["rows"] == 160 and active["rows"]["treated"] == 80
    assert len(active["qini_curve"]) == 101 and set(active["qini_curve"][0]) == {"x", "model", "random"}
    png = client.get("/models/active/qini.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    body = client.get("/recommendations/cu_new").json()
    assert body["scored_by"] == f"model:{status['version']}"
    assert "shelfcast_promotions_model_qini" in client.get("/metrics").text

    listed = client.get("/models").json()
    assert [m["version"] for m in listed] == [status["version"]]

    shop.exposures.delete_many({"arm": "control"})
    refused = client.post("/train", json={})
    assert refused.status_code == 409
    assert client.get("/models/active").json()["version"] == status["version"]


def test_train_with_wait_answers_when_done(shop, start_app):
    client = start_app()
    create_promotion(client, "P-A", sku="SKU-A")
    seed_experiment(shop, customers=120)
    response = client.post("/train", params={"wait": True}, json={"learner": "t"})
    assert response.status_code == 200 and response.json()["state"] == "succeeded"
    assert client.get("/models/active").json()["learner"] == "t"
