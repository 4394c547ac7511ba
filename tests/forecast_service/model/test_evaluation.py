import numpy as np
import pytest

from services.forecast_service.model.errors import InsufficientHistoryError
from services.forecast_service.model.metrics import (
    interval_coverage,
    mase,
    seasonal_naive_week,
    seasonal_naive_year,
    smape,
    wape,
)


def test_smape_matches_hand_arithmetic_and_counts_zero_over_zero_as_exact() -> None:
    # terms: 2·10/210 = 0.095238, 2·10/90 = 0.222222, 0/0 -> 0; mean 0.105820 -> 10.582 %
    assert smape([100, 50, 0], [110, 40, 0]) == pytest.approx(100 * (20 / 210 + 20 / 90) / 3)
    assert smape([100, 50, 0], [110, 40, 0]) == pytest.approx(10.582, abs=1e-3)


def test_wape_is_total_absolute_error_over_total_actual() -> None:
    # Σ|A−F| = 10 + 10 + 0 = 20, Σ|A| = 150 -> 13.333 %
    assert wape([100, 50, 0], [110, 40, 0]) == pytest.approx(100 * 20 / 150)


def test_mase_scales_by_in_sample_weekly_naive_error() -> None:
    insample = [1, 2, 3, 4, 5, 6, 7, 3, 2, 5, 4, 5, 6, 9]
    # |y_t − y_{t−7}|: 2, 0, 2, 0, 0, 0, 2 -> mean 6/7; MAE of forecast (1 + 2) / 2 = 1.5
    # MASE = 1.5 / (6/7) = 1.75
    assert mase([10, 12], [11, 10], insample) == pytest.approx(1.75)


def test_mase_averages_per_series_for_day_by_series_arrays() -> None:
    insample = np.column_stack([[1, 2, 3, 4, 5, 6, 7, 3, 2, 5, 4, 5, 6, 9]] * 2)
    actual = np.array([[10, 10], [12, 12]])
    forecast = np.array([[11, 10], [10, 12]])
    # series 0: 1.75 (as above); series 1: MAE 0 -> 0; mean 0.875
    assert mase(actual, forecast, insample) == pytest.approx(0.875)


def test_interval_coverage_counts_bounds_as_inside() -> None:
    # 1 in [0, 2] yes; 5 in [6, 8] no; 10 in [5, 10] yes; 20 in [15, 19] no -> 2 / 4
    assert interval_coverage([1, 5, 10, 20], [0, 6, 5, 15], [2, 8, 10, 19]) == 0.5


def test_metrics_leave_out_unobserved_cells() -> None:
    assert smape([100, np.nan], [110, 5]) == pytest.approx(100 * 20 / 210)
    assert wape([100, 50], [110, np.nan]) == pytest.approx(10.0)


def test_weekly_naive_repeats_the_last_seven_days_in_weekday_order() -> None:
    history = np.arange(1.0, 15.0)
    assert seasonal_naive_week(history, 10).tolist() == [8, 9, 10, 11, 12, 13, 14, 8, 9, 10]


def test_weekly_naive_fills_a_missing_day_from_the_week_before() -> None:
    history = np.arange(1.0, 15.0)
    history[10] = np.nan
    assert seasonal_naive_week(history, 7).tolist() == [8, 9, 10, 4, 12, 13, 14]


def test_weekly_naive_works_column_wise_on_many_series() -> None:
    history = np.column_stack([np.arange(14.0), 10 * np.arange(14.0)])
    forecast = seasonal_naive_week(history, 8)
    assert forecast[:, 1].tolist() == [70, 80, 90, 100, 110, 120, 130, 70]


def test_yearly_naive_takes_the_same_weekday_364_days_back() -> None:
    history = np.arange(400.0)
    # n = 400, forecast day n + i takes y[n + i − 364] = 36 + i
    assert seasonal_naive_year(history, 3).tolist() == [36, 37, 38]


def test_yearly_naive_needs_a_year_of_history() -> None:
    with pytest.raises(InsufficientHistoryError, match="364"):
        seasonal_naive_year(np.arange(100.0), 7)
