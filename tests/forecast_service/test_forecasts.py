"""Forecast reads on the shared trained model: shapes, 404/422s, shelf space, reorders, what-if."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import pytest

from services.common import read_models


def test_predict_returns_per_item_sales_and_shelf_space_summing_to_100_per_store(trained_api) -> None:
    response = trained_api.get("/predict", params={"days": 7})
    assert response.status_code == 200
    rows = response.json()
    assert {tuple(sorted(r)) for r in rows} == {("item", "predicted_sales", "shelf_space_percentage", "store_id")}
    by_store: dict[str, float] = defaultdict(float)
    for row in rows:
        by_store[row["store_id"]] += row["shelf_space_percentage"]
    assert set(by_store) == {"s1", "s2"}
    assert all(total == pytest.approx(100.0, abs=1e-6) for total in by_store.values())


def test_predict_gives_faster_sellers_more_space(trained_api) -> None:
    rows = trained_api.get("/predict", params={"store_id": "s1", "days": 14}).json()
    assert [r["store_id"] for r in rows] == ["s1"] * 4
    space = {r["item"]: r["shelf_space_percentage"] for r in rows}
    sales = {r["item"]: r["predicted_sales"] for r in rows}
    assert max(sales, key=sales.get) == "A" and space["A"] > space["B"] > space["D"]
    assert sum(space.values()) == pytest.approx(100.0, abs=1e-6)


def test_predict_for_unknown_store_is_404_naming_it(trained_api) -> None:
    response = trained_api.get("/predict", params={"store_id": "nowhere"})
    assert response.status_code == 404
    assert "nowhere" in response.json()["detail"]


def test_forecast_has_daily_interval_points_and_60_days_of_history(trained_api) -> None:
    response = trained_api.get("/forecast/A", params={"store_id": "s1", "horizon": 14})
    assert response.status_code == 200
    body = response.json()
    assert (body["sku"], body["store_id"]) == ("A", "s1")
    points = body["points"]
    assert len(points) == 14
    assert all(p["p10"] <= p["p50"] <= p["p90"] for p in points)
    days = [date.fromisoformat(p["date"]) for p in points]
    assert days == [days[0] + timedelta(days=i) for i in range(14)]
    history = body["history"]
    assert len(history) == 60
    assert date.fromisoformat(history[-1]["date"]) == days[0] - timedelta(days=1)
    assert 10 < sum(h["units"] for h in history) / 60 < 35  # A in s1 sells ~20 a day


def test_forecast_accepts_the_full_90_day_horizon(trained_api) -> None:
    assert len(trained_api.get("/forecast/B", params={"store_id": "s2", "horizon": 90}).json()["points"]) == 90


@pytest.mark.parametrize("horizon", [0, 91])
def test_forecast_horizon_outside_1_to_90_is_422(trained_api, horizon: int) -> None:
    response = trained_api.get("/forecast/A", params={"store_id": "s1", "horizon": horizon})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "horizon"]


def test_forecast_for_unknown_sku_is_404_naming_the_sku(trained_api) -> None:
    response = trained_api.get("/forecast/NOPE", params={"store_id": "s1"})
    assert response.status_code == 404
    assert "sku 'NOPE'" in response.json()["detail"]


def test_forecast_for_unknown_store_is_404_naming_the_store(trained_api) -> None:
    response = trained_api.get("/forecast/A", params={"store_id": "s9"})
    assert response.status_code == 404
    assert "store_id 's9'" in response.json()["detail"]


def test_forecast_for_catalog_pair_the_model_never_saw_uses_peers(trained_api) -> None:
    trained_api.db[read_models.STORES].update_one({"_id": "s3"}, {"$set": {"region": "East"}}, upsert=True)
    response = trained_api.get("/forecast/A", params={"store_id": "s3", "horizon": 7})
    assert response.status_code == 200
    body = response.json()
    assert body["history"] == [] and len(body["points"]) == 7
    assert all(p["p50"] > 0 for p in body["points"])


def test_reorder_numbers_are_consistent(trained_api) -> None:
    response = trained_api.get("/reorder", params={"store_id": "s1", "lead_time_days": 7, "service_level": 0.95})
    assert response.status_code == 200
    rows = {r["sku"]: r for r in response.json()}
    assert set(rows) == {"A", "B", "C", "D"}
    for row in rows.values():
        assert row["reorder_point"] == pytest.approx(row["demand_over_lead_time"] + row["safety_stock"], abs=0.011)
        assert row["suggested_order"] >= 0
        assert row["safety_stock"] > 0
        assert 0.0 <= row["stockout_risk"] <= 1.0
    assert rows["A"]["on_hand"] == 500 and rows["A"]["suggested_order"] == 0  # far above its reorder point
    assert rows["A"]["days_of_cover"] > 14 and rows["A"]["stockout_risk"] < 0.01
    assert rows["B"]["on_hand"] == 0 and rows["B"]["suggested_order"] >= rows["B"]["reorder_point"]
    assert rows["B"]["stockout_risk"] > 0.99 and rows["B"]["days_of_cover"] == 0


def test_reorder_safety_stock_grows_with_service_level(trained_api) -> None:
    low = {r["sku"]: r for r in trained_api.get("/reorder", params={"store_id": "s1", "service_level": 0.8}).json()}
    high = {r["sku"]: r for r in trained_api.get("/reorder", params={"store_id": "s1", "service_level": 0.99}).json()}
    assert all(high[sku]["safety_stock"] > low[sku]["safety_stock"] for sku in low)


def test_reorder_without_store_covers_every_store_and_rejects_bad_service_level(trained_api) -> None:
    assert {r["store_id"] for r in trained_api.get("/reorder").json()} == {"s1", "s2"}
    assert trained_api.get("/reorder", params={"service_level": 1.0}).status_code == 422


def test_what_if_price_up_sells_fewer_units_and_a_promotion_more(trained_api) -> None:
    up = trained_api.post("/what-if", json={"sku": "A", "store_id": "s1", "price_change_pct": 10, "horizon": 28})
    promo = trained_api.post(
        "/what-if", json={"sku": "A", "store_id": "s1", "promotion_discount_pct": 20, "horizon": 28}
    )
    assert up.status_code == promo.status_code == 200
    up, promo = up.json(), promo.json()
    assert up["scenario_units"] < up["baseline_units"] and promo["scenario_units"] > promo["baseline_units"]
    assert up["baseline_units"] == promo["baseline_units"]
    assert up["elasticity_source"] == "category_default" and up["elasticity"] == -1.5  # A's price never changed
    assert up["scenario_units"] == pytest.approx(up["baseline_units"] * 1.1**-1.5, rel=1e-3)


def test_what_if_estimates_elasticity_from_the_items_own_price_history(trained_api) -> None:
    body = trained_api.post("/what-if", json={"sku": "C", "store_id": "s1", "price_change_pct": 10}).json()
    assert body["elasticity_source"] == "own_history", body["elasticity_note"]
    assert -3.0 < body["elasticity"] < -1.0  # generated with -2
    assert body["scenario_units"] < body["baseline_units"]


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"sku": "A", "store_id": "s1"}, "body"),
        ({"sku": "A", "store_id": "s1", "price_change_pct": 5, "promotion_discount_pct": 5}, "body"),
        ({"sku": "A", "store_id": "s1", "promotion_discount_pct": 100}, "promotion_discount_pct"),
        ({"sku": "A", "store_id": "s1", "price_change_pct": 5, "horizon": 91}, "horizon"),
    ],
)
def test_what_if_rejects_bad_scenarios_with_422(trained_api, payload: dict, field: str) -> None:
    response = trained_api.post("/what-if", json=payload)
    assert response.status_code == 422
    assert field in response.json()["detail"][0]["loc"]


def test_what_if_for_unknown_sku_is_404(trained_api) -> None:
    assert trained_api.post("/what-if", json={"sku": "ZZ", "store_id": "s1", "price_change_pct": 5}).status_code == 404


def test_reads_without_an_active_model_are_409_and_active_model_is_404(make_api) -> None:
    api = make_api()
    assert api.get("/forecast/A", params={"store_id": "s1"}).status_code == 409
    assert api.get("/predict").status_code == 409
    response = api.get("/models/active")
    assert response.status_code == 404 and "POST /train" in response.json()["detail"]
