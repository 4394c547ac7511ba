"""Reading rollups from the real Mongo-protocol server: channels summed, missing days are zeros."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from services.common.store import connect
from services.forecast_service.sales_history import history_since, training_history
from tests.forecast_service import sales_data
from tests.forecast_service.fixtures import own_settings

DAY = date(2026, 3, 1)


def test_training_history_sums_channels_and_zero_fills_days_without_rollups(live_settings, tmp_path) -> None:
    settings = own_settings(live_settings, tmp_path)
    db = connect(settings.mongo_uri, settings.mongo_db)
    docs = [
        sales_data.rollup(DAY, "A", "s1", "online", 2, 1000, 600),
        sales_data.rollup(DAY, "A", "s1", "store", 3, 1000, 600),
        sales_data.rollup(DAY + timedelta(days=3), "A", "s1", "store", 4, 1000, 600),
        sales_data.rollup(DAY + timedelta(days=2), "B", "s1", "online", 1, 500, 200),
        sales_data.rollup(
            DAY + timedelta(days=9), "B", "s1", "online", 9, 500, 200
        ),  # after the last complete day asked for
    ]
    sales_data.insert_rollups(db, docs)
    history = training_history(db, until=DAY + timedelta(days=4))
    a = history[history["sku"] == "A"].set_index("date")["units"]
    b = history[history["sku"] == "B"].set_index("date")["units"]
    assert a.tolist() == [5.0, 0.0, 0.0, 4.0]  # online + store, zeros on days without a rollup, up to the last day sold
    assert b.index.min() == pd.Timestamp(DAY + timedelta(days=2)) and b.tolist() == [
        1.0,
        0.0,
    ]  # starts at its first sale
    keys = pd.DataFrame({"sku": ["A", "C"], "store_id": ["s1", "s1"]})
    since = history_since(db, DAY + timedelta(days=2), keys, until=DAY + timedelta(days=4))
    assert since.groupby("sku")["units"].sum().to_dict() == {
        "A": 4.0,
        "B": 1.0,
        "C": 0.0,
    }  # C known to the model: zeros
    assert since["date"].min() == pd.Timestamp(DAY + timedelta(days=2))
