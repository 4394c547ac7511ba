"""Chart shaping that is easy to get subtly wrong: zero-filled days and week/month buckets."""

from __future__ import annotations

from datetime import date

import pandas as pd

from services.dashboard.charts import resample_sales
from services.dashboard.filters import Filters

F = Filters(date(2026, 3, 1), date(2026, 3, 10))  # Sunday .. Tuesday of the week after next


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": pd.to_datetime(["2026-03-01", "2026-03-02", "2026-03-09"]),
            "channel": ["online"] * 3,
            "units": [1, 2, 4],
            "revenue_cents": [100, 200, 400],
            "cost_cents": [0, 0, 0],
        }
    )


def test_days_without_sales_are_zeros_not_gaps() -> None:
    daily = resample_sales(_frame(), "day", F)
    assert len(daily) == 10 and daily["units"].tolist() == [1, 2, 0, 0, 0, 0, 0, 0, 4, 0]


def test_weeks_start_on_monday_and_months_on_the_first() -> None:
    weekly = resample_sales(_frame(), "week", F)
    assert list(zip(weekly["date"].dt.strftime("%m-%d"), weekly["units"])) == [("02-23", 1), ("03-02", 2), ("03-09", 4)]
    assert resample_sales(_frame(), "month", F)["units"].tolist() == [7]
