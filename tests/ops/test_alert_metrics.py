"""The metrics the alert rules read that the services add for operators: the active models' training time and each
promotion's remaining budget."""

from __future__ import annotations

from datetime import datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.common import read_models
from tests.promotion_engine.conftest import (  # noqa: F401 (db, settings, start_app: fixtures)
    add_product,
    create_promotion,
    db,
    set_stock,
    settings,
    start_app,
)
from tests.promotion_engine.test_training import seed_experiment, shop  # noqa: F401 (fixture)
from tests.waiting import wait_for


def _samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Every sample of ``name`` in a /metrics body, by its labels."""
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def test_forecast_metrics_say_when_the_active_model_was_trained(trained_api) -> None:
    active = trained_api.get("/models/active").json()
    text = trained_api.get("/metrics", key=None).text
    trained_at = _samples(text, "shelfcast_forecast_model_trained_at_seconds")[()]
    assert trained_at == datetime.fromisoformat(active["trained_at"]).timestamp()


def test_promotion_metrics_say_when_the_active_uplift_model_was_trained(shop, start_app) -> None:  # noqa: F811
    client = start_app()
    create_promotion(client, "P-A", sku="SKU-A")
    seed_experiment(shop)
    assert client.post("/train", json={"learner": "t", "seed": 1}).status_code == 202
    wait_for(lambda: client.get("/train/status").json()["state"] != "running", "training to finish")
    active = client.get("/models/active").json()
    trained_at = _samples(client.get("/metrics").text, "shelfcast_promotions_model_trained_at_seconds")[()]
    assert trained_at == pytest.approx(
        datetime.fromisoformat(active["trained_at"]).timestamp(), abs=1e-3
    )  # MongoDB: ms


def test_each_current_promotion_reports_the_share_of_its_budget_left_until_it_is_retired(
    db,  # noqa: F811
    start_app,  # noqa: F811
) -> None:
    add_product(db, "SKU-A")
    set_stock(db, "SKU-A", on_hand=50)
    client = start_app()
    create_promotion(client, "P-OPS-BUDGET", budget_cents=10_000)
    create_promotion(client, "P-OPS-FRESH", budget_cents=5_000)
    # another engine process spent 95 % of one budget: this one sees it at its next reload
    db[read_models.PROMOTIONS].update_one(
        {"_id": "P-OPS-BUDGET"}, {"$inc": {"remaining_cents": -9_500, "spent_cents": 9_500}}
    )

    def ratios() -> dict:  # the engine reloads its promotions in the background (every 50 ms in these tests)
        return _samples(client.get("/metrics").text, "shelfcast_promotions_budget_remaining_ratio")

    wait_for(lambda: ratios().get((("promotion_id", "P-OPS-BUDGET"),)) == 0.05, "95 % spent reported")
    assert ratios()[(("promotion_id", "P-OPS-FRESH"),)] == 1.0
    assert client.delete("/promotions/P-OPS-BUDGET").status_code in (200, 204)
    wait_for(lambda: (("promotion_id", "P-OPS-BUDGET"),) not in ratios(), "the retired promotion leaving the metric")
