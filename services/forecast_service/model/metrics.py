"""Forecast metrics and the seasonal-naive baselines every model must beat.

Arrays are laid out ``[day, series]`` (or 1-D for one series). Cells where the actual or the
forecast is NaN are left out of every metric, so an unobserved day is never scored as zero.
"""

from __future__ import annotations

import numpy as np

from services.forecast_service.model.errors import ForecastInputError, InsufficientHistoryError
from services.forecast_service.model.features import WEEK, YEAR


def _paired(actual: np.ndarray, forecast: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    actual, forecast = np.asarray(actual, dtype=float), np.asarray(forecast, dtype=float)
    if actual.shape != forecast.shape:
        raise ForecastInputError(f"actual {actual.shape} and forecast {forecast.shape} differ in shape")
    scored = ~(np.isnan(actual) | np.isnan(forecast))
    return actual[scored], forecast[scored]


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric MAPE in percent: ``100/n · Σ 2|F − A| / (|A| + |F|)``, a 0/0 term counts as 0."""
    a, f = _paired(actual, forecast)
    if a.size == 0:
        return float("nan")
    denominator = np.abs(a) + np.abs(f)
    terms = np.divide(2 * np.abs(f - a), denominator, out=np.zeros_like(a), where=denominator > 0)
    return float(100 * terms.mean())


def wape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Weighted APE in percent: ``100 · Σ|A − F| / Σ|A|`` (big series weigh more, zeros are fine)."""
    a, f = _paired(actual, forecast)
    total = np.abs(a).sum()
    return float(100 * np.abs(a - f).sum() / total) if total > 0 else float("nan")


def mase(actual: np.ndarray, forecast: np.ndarray, insample: np.ndarray, season: int = WEEK) -> float:
    """Mean absolute scaled error, averaged over series.

    Per series: ``mean|A − F| / mean_t |y_t − y_{t−season}|`` with the denominator taken over the
    in-sample history `insample` (the seasonal-naive error there). Series whose scale is zero or
    unknown are skipped. 1-D inputs are one series; 2-D inputs are ``[day, series]``.
    """
    actual, forecast = np.asarray(actual, dtype=float), np.asarray(forecast, dtype=float)
    insample = np.asarray(insample, dtype=float)
    if actual.ndim == 1:
        actual, forecast, insample = actual[:, None], forecast[:, None], insample[:, None]
    if insample.shape[1] != actual.shape[1]:
        raise ForecastInputError("insample must have one column per series of actual")
    ratios = []
    for column in range(actual.shape[1]):
        a, f = _paired(actual[:, column], forecast[:, column])
        history = insample[:, column]
        naive_error = np.abs(history[season:] - history[:-season])
        naive_error = naive_error[~np.isnan(naive_error)]
        if a.size and naive_error.size and naive_error.mean() > 0:
            ratios.append(np.abs(a - f).mean() / naive_error.mean())
    return float(np.mean(ratios)) if ratios else float("nan")


def interval_coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share (0–1) of actuals inside ``[lower, upper]``; a p10–p90 band should cover ~0.8."""
    actual, lower, upper = (np.asarray(x, dtype=float) for x in (actual, lower, upper))
    scored = ~(np.isnan(actual) | np.isnan(lower) | np.isnan(upper))
    if not scored.any():
        return float("nan")
    inside = (actual[scored] >= lower[scored]) & (actual[scored] <= upper[scored])
    return float(inside.mean())


def seasonal_naive_week(history: np.ndarray, horizon: int) -> np.ndarray:
    """Same weekday last week: the last 7 days before the cutoff, repeated over the horizon.

    A day missing from the last week takes the same weekday from an earlier week; it stays NaN
    when that weekday was never observed.
    """
    history = np.asarray(history, dtype=float)
    if len(history) < WEEK:
        raise InsufficientHistoryError(f"seasonal naive (week) needs {WEEK} days, history has {len(history)}")
    usable = len(history) // WEEK * WEEK
    weeks = history[len(history) - usable :].reshape(usable // WEEK, WEEK, *history.shape[1:])
    last_week = weeks[-1].copy()
    for earlier in weeks[-2::-1]:
        missing = np.isnan(last_week)
        last_week[missing] = earlier[missing]
    return last_week[np.arange(horizon) % WEEK]


def seasonal_naive_year(history: np.ndarray, horizon: int) -> np.ndarray:
    """Same day last year, 364 days back so the weekday matches: ``F_{n+i} = y_{n+i−364}``."""
    history = np.asarray(history, dtype=float)
    if horizon > YEAR:
        raise ForecastInputError(f"seasonal naive (year) covers at most {YEAR} days, asked {horizon}")
    if len(history) < YEAR:
        raise InsufficientHistoryError(f"seasonal naive (year) needs {YEAR} days, history has {len(history)}")
    start = len(history) - YEAR
    return history[start : start + horizon].copy()
