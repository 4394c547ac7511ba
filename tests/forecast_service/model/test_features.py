import numpy as np
import pandas as pd
import pytest

from services.forecast_service.model.errors import ForecastInputError
from services.forecast_service.model.features import (
    bucket_for,
    build_features,
    calendar_features,
    horizon_buckets,
    lag_plan,
    merge_panels,
    panel_from_frame,
)


def _panel_frame(days: int = 900, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2015-01-01", periods=days, freq="D")
    rows = []
    for store in (1, 2):
        for item in ("a", "b"):
            sales = rng.poisson(20 + 5 * store, size=days)
            rows.append(pd.DataFrame({"date": dates, "store": store, "item": item, "sales": sales}))
    return pd.concat(rows, ignore_index=True)


def _codes(n_series: int) -> np.ndarray:
    return np.column_stack([np.arange(n_series), np.arange(n_series)])


@pytest.mark.parametrize("bound", horizon_buckets(90))
def test_features_up_to_bound_days_after_a_day_ignore_sales_after_it(bound: int) -> None:
    panel = panel_from_frame(_panel_frame(), "date", ["store", "item"], "sales")
    last_seen = 700
    perturbed = panel_from_frame(_panel_frame(), "date", ["store", "item"], "sales")
    perturbed.target[last_seen + 1 :] = perturbed.target[last_seen + 1 :] * 7 + 1000
    days = np.arange(last_seen - 50, last_seen + bound + 1)
    plan = lag_plan(bound)
    original = build_features(panel, plan, _codes(4), days, require_target=False)
    changed = build_features(perturbed, plan, _codes(4), days, require_target=False)
    pd.testing.assert_frame_equal(original.features, changed.features)
    np.testing.assert_array_equal(original.level, changed.level)


@pytest.mark.parametrize("bound", horizon_buckets(90))
def test_features_bound_plus_one_days_later_do_see_the_changed_sales(bound: int) -> None:
    panel = panel_from_frame(_panel_frame(), "date", ["store", "item"], "sales")
    perturbed = panel_from_frame(_panel_frame(), "date", ["store", "item"], "sales")
    perturbed.target[701:] += 1000
    day = np.array([700 + bound + 1])
    plan = lag_plan(bound)
    original = build_features(panel, plan, _codes(4), day, require_target=False)
    changed = build_features(perturbed, plan, _codes(4), day, require_target=False)
    assert not original.features.equals(changed.features)


def test_lag_plan_never_uses_a_lag_shorter_than_its_bucket() -> None:
    for bound in (1, 7, 28, 90):
        plan = lag_plan(bound)
        assert min(plan.lags) == bound
        assert plan.weekday_lag % 7 == 0 and plan.weekday_lag >= bound
    assert 364 in lag_plan(90).lags and 728 in lag_plan(90).lags


def test_horizon_buckets_end_at_the_maximum_and_each_horizon_maps_to_the_smallest_cover() -> None:
    assert horizon_buckets(90) == (7, 28, 90)
    assert horizon_buckets(5) == (5,)
    assert [bucket_for(h, (7, 28, 90)) for h in (1, 7, 8, 28, 29, 90)] == [7, 7, 28, 28, 90, 90]
    with pytest.raises(ForecastInputError, match="exceeds"):
        bucket_for(91, (7, 28, 90))


def test_panel_sums_same_day_rows_and_leaves_unobserved_days_missing() -> None:
    frame = pd.DataFrame(
        {
            "date": ["2020-01-01", "2020-01-01", "2020-01-03", "2020-01-02"],
            "store": [1, 1, 1, 2],
            "sales": [2, 3, 4, 5],
        }
    )
    panel = panel_from_frame(frame, "date", ["store"], "sales")
    assert panel.keys["store"].tolist() == [1, 2]
    np.testing.assert_array_equal(panel.target[:, 0], [5.0, np.nan, 4.0])
    np.testing.assert_array_equal(panel.target[:, 1], [np.nan, 5.0, np.nan])


def test_merge_keeps_old_days_takes_new_values_and_adds_new_series() -> None:
    old = panel_from_frame(
        pd.DataFrame({"d": ["2020-01-01", "2020-01-02"], "s": ["x", "x"], "y": [1, 2]}), "d", ["s"], "y"
    )
    new = panel_from_frame(
        pd.DataFrame({"d": ["2020-01-02", "2020-01-03"], "s": ["x", "w"], "y": [9, 4]}), "d", ["s"], "y"
    )
    merged = merge_panels(old, new)
    assert merged.keys["s"].tolist() == ["w", "x"]
    np.testing.assert_array_equal(merged.target[:, 1], [1.0, 9.0, np.nan])
    np.testing.assert_array_equal(merged.target[:, 0], [np.nan, np.nan, 4.0])


def test_calendar_features_describe_the_day() -> None:
    row = calendar_features(pd.DatetimeIndex(["2016-02-29"])).iloc[0]
    assert row["dow"] == 0 and row["day_of_month"] == 29 and row["month"] == 2
    assert row["week_of_year"] == 9 and row["year"] == 2016 and row["day_of_year"] == 60
    assert row["is_month_end"] == 1 and row["is_month_start"] == 0


def test_exogenous_columns_become_features_and_carry_forward_into_the_future() -> None:
    frame = _panel_frame(days=120)
    frame["price"] = np.where(frame["date"] < "2015-03-01", 5.0, 4.0)
    panel = panel_from_frame(frame, "date", ["store", "item"], "sales", ["price"])
    extended = panel.extended_to(panel.end + pd.Timedelta(days=3))
    matrix = build_features(extended, lag_plan(7), _codes(4), np.array([extended.n_days - 1]), False)
    assert matrix.features["exog_price"].tolist() == [4.0, 4.0, 4.0, 4.0]


def test_training_rows_skip_days_without_an_observed_target() -> None:
    panel = panel_from_frame(_panel_frame(days=200), "date", ["store", "item"], "sales")
    panel.target[150, 0] = np.nan
    matrix = build_features(panel, lag_plan(7), _codes(4), np.arange(140, 160))
    assert not ((matrix.day == 150) & (matrix.series == 0)).any()
    assert len(matrix.features) == 20 * 4 - 1
