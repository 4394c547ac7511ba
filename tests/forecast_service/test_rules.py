"""The plain domain rules, without servers: shelf space, reorder formulas, elasticity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from services.forecast_service.reorder import Z_P90, days_of_cover, suggest_reorder
from services.forecast_service.shelf_space import allocate_shelf_space
from services.forecast_service.what_if import DEFAULT_ELASTICITY, estimate_elasticity, price_multiplier, scenario_units


def test_shelf_space_is_proportional_above_a_floor_and_sums_to_exactly_100() -> None:
    shares = allocate_shelf_space([90, 10, 0])
    assert sum(shares) == pytest.approx(100.0, abs=1e-9)
    assert shares[2] == 2.0  # the floor keeps one facing for an item forecast to sell nothing
    assert shares[0] == pytest.approx(2 + 94 * 0.9, abs=0.01) and shares[1] == pytest.approx(2 + 94 * 0.1, abs=0.01)


def test_shelf_space_weights_units_by_facings_factor() -> None:
    assert allocate_shelf_space([10, 10], [3, 1], min_share_pct=0) == [75.0, 25.0]


def test_shelf_space_splits_evenly_without_demand_and_rounds_to_100() -> None:
    assert allocate_shelf_space([0, 0, 0]) == [33.34, 33.33, 33.33]
    assert allocate_shelf_space([]) == []
    many = allocate_shelf_space(list(range(1, 80)))
    assert sum(round(s * 100) for s in many) == 10_000 and min(many) == pytest.approx(100 / 79, abs=0.01)


def test_reorder_formulas_follow_the_documented_normal_approximation() -> None:
    p50, p90 = np.full(30, 10.0), np.full(30, 10.0 + Z_P90 * 2.0)  # daily sigma 2
    s = suggest_reorder("A", "s1", on_hand=50, p50=p50, p90=p90, lead_time_days=4, service_level=0.95, review_days=3)
    assert s.demand_over_lead_time == 40.0
    assert s.safety_stock == pytest.approx(1.6449 * 2.0 * 2.0, abs=0.01)  # z × sqrt(4 days) × sigma
    assert s.reorder_point == pytest.approx(40 + s.safety_stock, abs=0.01)
    assert s.suggested_order == 0  # 50 on hand is above the reorder point (46.6)
    assert s.stockout_risk == pytest.approx(0.0062, abs=1e-4)  # P(N(40, sd 4) > 50) = 1 − Φ(2.5)
    low = suggest_reorder("A", "s1", on_hand=12, p50=p50, p90=p90, lead_time_days=4, service_level=0.95, review_days=3)
    assert low.order_up_to == pytest.approx(low.reorder_point + 30, abs=0.01)
    assert low.suggested_order == np.ceil(low.order_up_to - 12) and low.stockout_risk > 0.99


def test_reorder_never_suggests_a_negative_order_and_checks_inputs() -> None:
    p = np.ones(10)
    assert suggest_reorder("A", "s1", 1e6, p, p, 3, 0.9).suggested_order == 0
    with pytest.raises(ValueError, match="lead_time_days"):
        suggest_reorder("A", "s1", 0, p, p, 11, 0.9)


def test_days_of_cover_walks_the_daily_forecast() -> None:
    assert days_of_cover(25, np.array([10.0, 10.0, 10.0])) == 2.5
    assert days_of_cover(60, np.array([10.0, 10.0, 10.0])) == 6.0  # past the forecast at its mean rate
    assert days_of_cover(5, np.zeros(3)) is None


def _price_history(elasticity: float, vary: bool, days: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    price = 1000 * (np.where(np.arange(days) // 10 % 2 == 0, 0.85, 1.15) if vary else np.ones(days))
    units = rng.poisson(30 * (price / 1000) ** elasticity) + 1
    return pd.DataFrame({"date": pd.date_range("2026-01-01", periods=days), "units": units, "price_cents": price})


def test_elasticity_is_estimated_from_own_history_when_price_varied() -> None:
    estimate = estimate_elasticity(_price_history(-2.5, vary=True))
    assert estimate.source == "own_history" and estimate.value == pytest.approx(-2.5, abs=0.4)


def test_elasticity_falls_back_to_the_category_default_without_price_variation() -> None:
    estimate = estimate_elasticity(_price_history(-2.5, vary=False))
    assert (estimate.source, estimate.value) == ("category_default", DEFAULT_ELASTICITY)
    assert "barely varied" in estimate.note
    assert estimate_elasticity(_price_history(-2.5, vary=True, days=10)).source == "category_default"


def test_scenario_units_follow_constant_elasticity() -> None:
    assert scenario_units(100, price_multiplier(10, None), -1.5) == pytest.approx(100 * 1.1**-1.5)
    assert scenario_units(100, price_multiplier(None, 20), -1.5) > 100
    with pytest.raises(ValueError, match="exactly one"):
        price_multiplier(None, None)
