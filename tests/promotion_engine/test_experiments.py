"""GET /experiments/{id} on a hand-made experiment whose every number is worked out below."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from tests.promotion_engine.conftest import NOW, add_exposure, add_order, add_product, create_promotion, set_stock

T0 = NOW - timedelta(days=10)  # every window (7 days) has closed


@pytest.fixture
def experiment(db, start_app):
    add_product(db, "SKU-A", price_cents=1000, cost_cents=500)
    add_product(db, "SKU-B", price_cents=1000, cost_cents=500)
    set_stock(db, "SKU-A", on_hand=50)
    client = start_app()
    create_promotion(client, "P-EXP", sku="SKU-A")
    for i in range(10):
        add_exposure(db, f"cu_t{i}", "P-EXP", "treatment", T0, sku="SKU-A")
        add_exposure(db, f"cu_c{i}", "P-EXP", "control", T0 + timedelta(days=2 if i == 1 else 0), sku="SKU-A")
    add_exposure(
        db, "cu_t0", "P-EXP", "treatment", T0 + timedelta(days=1), sku="SKU-A"
    )  # a later exposure: the first one counts
    add_exposure(db, "cu_c2", "P-OTHER", "treatment", T0, sku="SKU-A")  # another promotion's exposure: ignored
    # treatment: 4 of 10 buy SKU-A within the window, each 1 unit at 1000 with 200 off (revenue 800, cost 500, margin
    # 300)
    for i in range(4):
        add_order(db, f"cu_t{i}", "SKU-A", T0 + timedelta(days=2), discount_cents=200, promotion_id="P-EXP")
    add_order(db, "cu_t4", "SKU-B", T0 + timedelta(days=2))  # not the promoted SKU
    add_order(db, "cu_t5", "SKU-A", T0 + timedelta(days=8))  # after the 7-day window
    # control: 1 of 10 buys SKU-A at full price (revenue 1000, margin 500)
    add_order(db, "cu_c0", "SKU-A", T0 + timedelta(days=1))
    add_order(db, "cu_c1", "SKU-A", T0 + timedelta(days=1))  # before cu_c1's own exposure (T0 + 2 days)
    return client


def test_experiment_reports_conversion_lift_ci_margin_and_roi(experiment):
    response = experiment.get("/experiments/P-EXP")
    assert response.status_code == 200, response.text
    e = response.json()
    assert e["treatment"] == {
        "n": 10,
        "conversions": 4,
        "conversion": 0.4,
        "revenue_cents": 3200,
        "margin_cents": 1200,
        "discount_cents": 800,
    }
    assert e["control"] == {
        "n": 10,
        "conversions": 1,
        "conversion": 0.1,
        "revenue_cents": 1000,
        "margin_cents": 500,
        "discount_cents": 0,
    }
    # lift = 0.4 - 0.1 = 0.3; SE = sqrt(0.4*0.6/10 + 0.1*0.9/10) = sqrt(0.033) = 0.1816590
    # 95% CI = 0.3 -/+ 1.959964 * 0.1816590 = 0.3 -/+ 0.3560449 = (-0.0560449, 0.6560449)
    assert e["lift"] == pytest.approx(0.3)
    assert e["lift_ci"] == pytest.approx([-0.0560449, 0.6560449], abs=1e-6)
    assert math.sqrt(0.033) == pytest.approx(0.1816590, abs=1e-7)
    # relative: 0.3 / 0.1 = 3.0, CI / 0.1
    assert e["relative_lift"] == pytest.approx(3.0)
    assert e["relative_lift_ci"] == pytest.approx([-0.560449, 6.560449], abs=1e-5)
    # incremental margin = 10 * (1200/10 - 500/10) = 700; ROI = 700 / 800 discount given = 0.875
    assert e["incremental_margin_cents"] == 700
    assert e["roi"] == pytest.approx(0.875)
    assert e["window_days"] == 7 and e["open_windows"] == 0


def test_a_shorter_attribution_window_counts_fewer_conversions(experiment):
    e = experiment.get("/experiments/P-EXP", params={"window_days": 1}).json()
    assert e["treatment"]["conversions"] == 0 and e["control"]["conversions"] == 1
    assert e["lift"] == pytest.approx(-0.1)


def test_experiment_without_exposures_has_no_lift(experiment):
    create_promotion(experiment, "P-NEW", sku="SKU-A")
    e = experiment.get("/experiments/P-NEW").json()
    assert e["treatment"]["n"] == 0 and e["lift"] is None and e["lift_ci"] is None and e["roi"] is None
