import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from services.forecast_service.model.backtest import backtest, is_not_worse, rolling_cutoffs, score_model
from services.forecast_service.model.errors import ForecastInputError, InsufficientHistoryError
from services.forecast_service.model.forecaster import DemandForecaster

WEEKLY = np.array([0.8, 0.85, 0.9, 1.0, 1.1, 1.35, 1.2])
HORIZON = 28


def make_sales(days: int = 3 * 365, seed: int = 0, start: str = "2014-01-01") -> pd.DataFrame:
    """Poisson demand with trend, weekly and yearly seasonality for 2 stores × 3 items."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=days, freq="D")
    t = np.arange(days)
    yearly = 1 + 0.35 * np.sin(2 * np.pi * dates.day_of_year.to_numpy() / 365.25)
    frames = []
    for store in (1, 2):
        for item in (1, 2, 3):
            mean = (10 * store + 8 * item) * (1 + 0.0006 * t) * WEEKLY[dates.day_of_week] * yearly
            frames.append(pd.DataFrame({"date": dates, "store": store, "item": item, "sales": rng.poisson(mean)}))
    return pd.concat(frames, ignore_index=True)


def small_model(**overrides: object) -> DemandForecaster:
    params = {"max_horizon": HORIZON, "n_estimators": 80, "learning_rate": 0.2, "max_depth": 4}
    return DemandForecaster(**(params | overrides))


@pytest.fixture(scope="module")
def sales() -> pd.DataFrame:
    return make_sales()


@pytest.fixture(scope="module")
def fitted(sales: pd.DataFrame) -> DemandForecaster:
    return small_model().fit(sales[sales["date"] < "2016-10-01"], "date", ["store", "item"], "sales")


def test_model_beats_both_seasonal_naive_baselines_on_smape(sales: pd.DataFrame) -> None:
    cutoffs = rolling_cutoffs("2016-11-01", folds=2, step_days=HORIZON)
    report = backtest(sales, "date", ["store", "item"], "sales", cutoffs, HORIZON, small_model)
    aggregate = report["aggregate"]
    assert aggregate["model"]["smape"] < aggregate["seasonal_naive_week"]["smape"]
    assert aggregate["model"]["smape"] < aggregate["seasonal_naive_year"]["smape"]
    assert 0.6 <= aggregate["model"]["coverage_p10_p90"] <= 0.95
    assert [fold["cutoff"] for fold in report["folds"]] == ["2016-10-04", "2016-11-01"]
    assert report["folds"][0]["points"] == HORIZON * 6


def test_predict_gives_one_row_per_day_and_series_sorted_by_date_then_ids(
    fitted: DemandForecaster,
) -> None:
    forecast = fitted.predict("2016-10-01", 10)
    assert list(forecast.columns) == ["date", "store", "item", "prediction", "p10", "p90"]
    assert len(forecast) == 10 * 6
    assert forecast["date"].iloc[0] == pd.Timestamp("2016-10-01")
    assert forecast["date"].iloc[-1] == pd.Timestamp("2016-10-10")
    expected_order = forecast.sort_values(["date", "store", "item"]).index
    assert forecast.index.equals(expected_order)
    assert (forecast["p10"] <= forecast["prediction"]).all()
    assert (forecast["prediction"] <= forecast["p90"]).all()
    assert (forecast["p10"] >= 0).all()


def test_predict_may_leave_a_gap_after_history_within_the_maximum_horizon(
    fitted: DemandForecaster,
) -> None:
    forecast = fitted.predict("2016-10-20", 9)
    assert forecast["date"].nunique() == 9


def test_predict_refuses_days_inside_history_or_past_the_maximum_horizon(
    fitted: DemandForecaster,
) -> None:
    with pytest.raises(ForecastInputError, match="not after the last history day 2016-09-30"):
        fitted.predict("2016-09-30", 5)
    with pytest.raises(ForecastInputError, match="at most 28 days"):
        fitted.predict("2016-10-01", 29)
    with pytest.raises(ForecastInputError, match="not a date"):
        fitted.predict("soon", 5)


def test_fit_on_too_short_history_raises_insufficient_history() -> None:
    with pytest.raises(InsufficientHistoryError, match="needs at least 56"):
        small_model().fit(make_sales(days=40), "date", ["store", "item"], "sales")


def test_fit_names_a_missing_column_and_lists_the_present_ones(sales: pd.DataFrame) -> None:
    with pytest.raises(ForecastInputError, match="column 'qty' not in history; columns are: date"):
        small_model().fit(sales, "date", ["store", "item"], "qty")


def test_fit_rejects_negative_demand(sales: pd.DataFrame) -> None:
    broken = sales.assign(sales=sales["sales"] - 1000)
    with pytest.raises(ForecastInputError, match="'sales' has negative values"):
        small_model().fit(broken, "date", ["store", "item"], "sales")


def test_continue_fit_adds_rounds_to_each_booster_and_moves_the_origin(
    fitted: DemandForecaster, sales: pd.DataFrame
) -> None:
    model = copy.deepcopy(fitted)
    rounds_before = {bound: b.num_boosted_rounds() for bound, b in model.boosters.items()}
    new = sales[(sales["date"] >= "2016-10-01") & (sales["date"] < "2016-10-15")]
    model.continue_fit(new)
    assert model.history_end == pd.Timestamp("2016-10-14")
    for bound, booster in model.boosters.items():
        assert booster.num_boosted_rounds() == rounds_before[bound] + model.continue_estimators
    assert len(model.predict("2016-10-15", 7)) == 7 * 6
    assert fitted.history_end == pd.Timestamp("2016-09-30")


def test_continue_fit_without_days_after_the_last_fit_raises(fitted: DemandForecaster, sales: pd.DataFrame) -> None:
    old_rows = sales[(sales["date"] >= "2016-09-01") & (sales["date"] < "2016-10-01")]
    with pytest.raises(InsufficientHistoryError, match="no days after the last fit"):
        copy.deepcopy(fitted).continue_fit(old_rows)


def test_keep_only_if_not_worse_decision_comes_from_scoring_both_on_the_same_holdout(
    fitted: DemandForecaster, sales: pd.DataFrame
) -> None:
    new = sales[(sales["date"] >= "2016-10-01") & (sales["date"] < "2016-11-01")]
    holdout = sales[(sales["date"] >= "2016-11-01") & (sales["date"] < "2016-11-29")]
    incumbent = copy.deepcopy(fitted).update_history(new)
    candidate = copy.deepcopy(fitted).continue_fit(new)
    incumbent_report = score_model(incumbent, holdout, "2016-11-01", HORIZON)
    candidate_report = score_model(candidate, holdout, "2016-11-01", HORIZON)
    assert incumbent_report["seasonal_naive_week"] == candidate_report["seasonal_naive_week"]
    keep = is_not_worse(candidate_report, incumbent_report)
    assert keep == (candidate_report["model"]["smape"] <= incumbent_report["model"]["smape"])
    worse = copy.deepcopy(candidate_report)
    worse["model"]["smape"] = incumbent_report["model"]["smape"] + 1
    assert not is_not_worse(worse, incumbent_report)
    assert is_not_worse(worse, incumbent_report, tolerance=1.0)


def test_saved_model_loads_and_forecasts_identically(fitted: DemandForecaster, tmp_path: Path) -> None:
    folder = fitted.save(tmp_path / "v1")
    assert (folder / "metadata.json").is_file() and (folder / f"booster_h{HORIZON}.json").is_file()
    loaded = DemandForecaster.load(folder)
    pd.testing.assert_frame_equal(loaded.predict("2016-10-01", 14), fitted.predict("2016-10-01", 14))


def test_load_of_a_folder_without_a_model_says_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ForecastInputError, match="metadata.json is missing"):
        DemandForecaster.load(tmp_path)


def test_unknown_series_gets_its_store_profile(fitted: DemandForecaster, sales: pd.DataFrame) -> None:
    keys = pd.DataFrame({"store": [2, 1], "item": [99, 1]})
    forecast = fitted.predict("2016-10-01", 7, series=keys)
    assert forecast[["store", "item"]].drop_duplicates().values.tolist() == [[1, 1], [2, 99]]
    new_item = forecast[forecast["item"] == 99]
    recent = sales[(sales["date"] >= "2015-10-03") & (sales["date"] < "2016-10-01")]
    store_mean = recent.loc[recent["store"] == 2, "sales"].mean()
    assert new_item["prediction"].mean() == pytest.approx(store_mean, rel=0.1)
    assert (new_item["p10"] < new_item["prediction"]).all()
    assert (new_item["prediction"] < new_item["p90"]).all()


def test_series_with_little_history_is_forecast_from_its_own_recent_level(sales: pd.DataFrame) -> None:
    history = sales[sales["date"] < "2016-10-01"]
    newcomer = pd.DataFrame({"date": pd.date_range("2016-09-20", "2016-09-30"), "store": 3, "item": 1, "sales": 500})
    model = small_model().fit(pd.concat([history, newcomer]), "date", ["store", "item"], "sales")
    forecast = model.predict("2016-10-01", 7)
    newcomer_forecast = forecast[forecast["store"] == 3]["prediction"]
    assert newcomer_forecast.mean() == pytest.approx(500, rel=0.15)


def test_exogenous_price_column_is_a_feature_and_must_be_present(sales: pd.DataFrame) -> None:
    history = sales[sales["date"] < "2016-10-01"].assign(price=lambda f: 5.0 + f["item"])
    model = small_model(exog_cols=("price",)).fit(history, "date", ["store", "item"], "sales")
    assert "exog_price" in model.boosters[HORIZON].feature_names
    assert model.predict("2016-10-01", 7)["prediction"].notna().all()
    with pytest.raises(ForecastInputError, match="column 'price' not in history"):
        small_model(exog_cols=("price",)).fit(sales, "date", ["store", "item"], "sales")
