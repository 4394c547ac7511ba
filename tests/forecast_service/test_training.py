"""Training, retraining and model versions against the real Mongo-protocol server."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import numpy as np

from services.common import read_models
from tests.forecast_service import sales_data
from tests.forecast_service.fixtures import ADMIN, READ, TRAIN_DAYS, TRAINING, Api, train

SHIFTED_WEEK = np.array([0.5, 0.5, 0.5, 0.5, 0.5, 2.5, 2.5])  # weekends now sell 5× weekdays
INVERTED_WEEK = np.array([2.5, 2.5, 0.3, 0.3, 0.3, 0.3, 0.3])  # Mondays and Tuesdays sell most
# 40 continued rounds make the candidate follow its new days clearly: over 16 different calendar
# alignments the kept case won by >= 11 SMAPE points and the discarded one lost by >= 14.
RETRAINING = dataclasses.replace(TRAINING, continue_estimators=40)


def seeded(api: Api, days: int = TRAIN_DAYS, last_day=sales_data.LAST_DAY) -> Api:
    sales_data.seed_catalog(api.db)
    sales_data.insert_rollups(api.db, sales_data.rollups(days, last_day=last_day))
    return api


def test_train_runs_in_background_and_activates_a_model_with_holdout_metrics(trained_api) -> None:
    status = trained_api.get("/train/status").json()
    assert status["state"] == "done" and status["progress"] == 1.0 and status["version"]
    active = trained_api.get("/models/active").json()
    assert active["version"] == status["version"]
    assert active["trained_until"] == sales_data.LAST_DAY.isoformat()
    assert active["series"] == 8
    metrics = active["metrics"]
    assert set(metrics) == {"smape", "wape", "mase", "coverage", "baseline_smape"}
    assert all(isinstance(metrics[name], float) for name in metrics)
    assert metrics["smape"] < metrics["baseline_smape"]  # beats seasonal naive on the held-out 28 days
    versions = trained_api.get("/models").json()
    assert [v["version"] for v in versions if v["active"]] == [status["version"]]


def test_train_with_too_little_data_is_409_and_leaves_no_model(make_api) -> None:
    api = seeded(make_api(), days=30)
    response = api.post("/train")
    assert response.status_code == 409
    assert "30 complete days" in response.json()["detail"] and "at least 118" in response.json()["detail"]
    assert api.get("/models").json() == []
    assert api.get("/train/status").json()["state"] == "idle"


def test_train_with_too_little_data_keeps_the_active_model(make_api) -> None:
    api = seeded(make_api())
    first = train(api.client)["version"]
    cutoff = (sales_data.LAST_DAY - timedelta(days=59)).isoformat()
    api.db[read_models.DAILY_SALES].delete_many({"day": {"$lt": cutoff}})
    response = api.post("/train")
    assert response.status_code == 409
    assert first in response.json()["detail"]
    assert api.get("/models/active").json()["version"] == first
    assert len(api.get("/models").json()) == 1


def _retrain_case(make_api, new_weeks: list[np.ndarray]) -> tuple[Api, str, dict]:
    """Train on 160 days, add a week-pattern per 28 new days, retrain; returns the api, first version, status."""
    new_days = 28 * len(new_weeks)
    api = seeded(make_api(RETRAINING), last_day=sales_data.LAST_DAY - timedelta(days=new_days))
    first = train(api.client)["version"]
    for i, weekly in enumerate(new_weeks):
        last = sales_data.LAST_DAY - timedelta(days=28 * (len(new_weeks) - 1 - i))
        sales_data.insert_rollups(api.db, sales_data.rollups(28, last_day=last, weekly=weekly, seed=10 + i))
    return api, first, train(api.client, "/retrain")


def test_retrain_keeps_the_continued_model_when_it_is_better_on_the_recent_window(make_api) -> None:
    api, first, status = _retrain_case(make_api, [SHIFTED_WEEK, SHIFTED_WEEK])  # a lasting change of weekly pattern
    assert status["state"] == "done", status
    result = status["result"]
    assert result["kept"] is True
    assert result["candidate"]["smape"] < result["incumbent"]["smape"]
    assert result["window_days"] == 28 and result["new_days"] == 56
    active = api.get("/models/active").json()
    assert active["version"] == status["version"] != first
    assert active["kind"] == "retrain" and active["parent"] == first
    assert active["trained_until"] == sales_data.LAST_DAY.isoformat()
    assert active["metrics"]["smape"] == result["candidate"]["smape"]


def test_retrain_discards_the_continued_model_when_it_is_worse(make_api) -> None:
    api, first, status = _retrain_case(
        make_api, [INVERTED_WEEK, sales_data.WEEKLY]
    )  # a 4-week blip, then back to normal
    assert status["state"] == "done", status
    result = status["result"]
    assert result["kept"] is False
    assert result["candidate"]["smape"] > result["incumbent"]["smape"]
    assert (
        str(result["candidate"]["smape"]) in status["message"]
        and str(result["incumbent"]["smape"]) in status["message"]
    )
    assert status["version"] == first
    assert api.get("/models/active").json()["version"] == first
    assert len(api.get("/models").json()) == 1


def test_retrain_without_new_days_is_409(trained_api) -> None:
    response = trained_api.post("/retrain")
    assert response.status_code == 409
    assert "after the active model's last training day" in response.json()["detail"]


def test_retrain_without_an_active_model_is_409(make_api) -> None:
    assert make_api().post("/retrain").status_code == 409


def test_activating_an_older_version_serves_its_forecasts(make_api) -> None:
    api = seeded(make_api())
    first = train(api.client)["version"]
    api.db[read_models.DAILY_SALES].update_many({"sku": "A", "store_id": "s1"}, {"$mul": {"units": 3}})
    second = train(api.client)["version"]
    level = lambda: api.get("/forecast/A", params={"store_id": "s1", "horizon": 7}).json()  # noqa: E731
    assert level()["model_version"] == second
    high = sum(p["p50"] for p in level()["points"])
    response = api.post(f"/models/{first}/activate", key=ADMIN)
    assert response.status_code == 200 and response.json()["active"] is True
    assert api.get("/models/active", key=READ).json()["version"] == first
    assert level()["model_version"] == first
    assert sum(p["p50"] for p in level()["points"]) < high / 2
    assert [v["version"] for v in api.get("/models").json() if v["active"]] == [first]


def test_activating_an_unknown_version_is_404(trained_api) -> None:
    response = trained_api.post("/models/19990101T000000Z-000000/activate", key=ADMIN)
    assert response.status_code == 404
    assert "19990101T000000Z-000000" in response.json()["detail"]


def test_status_reports_idle_before_any_job(make_api) -> None:
    status = make_api().get("/train/status").json()
    assert status["state"] == "idle" and status["version"] is None
