"""The dashboard reads /promotions, /experiments/{id} and /models/active through its own typed client:
these answers must parse with its models (services/dashboard/api_client.py)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import TypeAdapter

from services.dashboard.api_client import Experiment, ModelInfo, Promotion
from tests.promotion_engine.conftest import NOW, add_exposure, add_order, add_product, create_promotion, set_stock
from tests.promotion_engine.test_training import finished, seed_experiment


def test_promotion_experiment_and_model_answers_parse_with_the_dashboard_client_models(db, start_app):
    add_product(db, "SKU-A")
    add_product(db, "SKU-B", category="Toys")
    set_stock(db, "SKU-A", on_hand=50)
    client = start_app()
    create_promotion(client, "P-A", sku="SKU-A")
    create_promotion(
        client, "P-AMT", sku=None, category="Toys", type="amount_off", discount_pct=None, discount_cents=100
    )
    add_exposure(db, "cu_x", "P-A", "treatment", NOW - timedelta(days=1))
    add_order(db, "cu_x", "SKU-A", NOW - timedelta(hours=1))

    promotions = TypeAdapter(list[Promotion]).validate_json(client.get("/promotions").content)
    assert {p.promotion_id for p in promotions} == {"P-A", "P-AMT"} and all(p.active for p in promotions)
    experiment = Experiment.model_validate_json(client.get("/experiments/P-A").content)
    assert experiment.treatment.n == 1 and experiment.control.n == 0

    seed_experiment(db, customers=120)
    client.post("/train", json={"learner": "t"})
    assert finished(client)["state"] == "succeeded"
    model = ModelInfo.model_validate_json(client.get("/models/active").content)
    assert model.qini_curve and set(model.metrics) == {"qini", "auuc", "uplift_at_30"}
