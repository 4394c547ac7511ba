"""The one way a user's day (CLI option, API argument, backtest cutoff) becomes a midnight timestamp."""

from __future__ import annotations

import pandas as pd

from services.forecast_service.model.errors import ForecastInputError


def parse_day(value: str | pd.Timestamp, label: str) -> pd.Timestamp:
    """Midnight of ``value``; ``ForecastInputError`` naming ``label`` when it is not a date."""
    try:
        day = pd.Timestamp(value)
    except ValueError:
        day = pd.NaT
    if pd.isna(day):
        raise ForecastInputError(f"{label} '{value}' is not a date (use YYYY-MM-DD)")
    return day.normalize()
