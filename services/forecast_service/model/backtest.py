"""Rolling-origin backtests: fit before a cutoff, forecast the horizon after it, score vs baselines.

Reports are plain JSON-serialisable dicts (NaN becomes None), so the CLI prints them and the
service can store them beside a model version and decide with `is_not_worse` whether a retrained
model replaces the current one.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from services.forecast_service.model.dates import parse_day
from services.forecast_service.model.errors import ForecastInputError, InsufficientHistoryError
from services.forecast_service.model.features import YEAR
from services.forecast_service.model.forecaster import DemandForecaster
from services.forecast_service.model.metrics import (
    interval_coverage,
    mase,
    seasonal_naive_week,
    seasonal_naive_year,
    smape,
    wape,
)

LOWER_IS_BETTER = ("smape", "wape", "mase")
BASELINES = ("seasonal_naive_week", "seasonal_naive_year")
MetricReport = dict[str, float | None]


def rolling_cutoffs(last_cutoff: str | pd.Timestamp, folds: int, step_days: int) -> list[pd.Timestamp]:
    """`folds` cutoffs ending at `last_cutoff`, `step_days` apart, oldest first."""
    if folds < 1:
        raise ForecastInputError(f"folds must be >= 1, got {folds}")
    last = parse_day(last_cutoff, "cutoff")
    return [last - pd.Timedelta(days=step_days * k) for k in range(folds - 1, -1, -1)]


def backtest(
    history: pd.DataFrame,
    date_col: str,
    id_cols: Sequence[str],
    target: str,
    cutoffs: Sequence[str | pd.Timestamp],
    horizon: int,
    make_forecaster: Callable[[], DemandForecaster] | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """For each cutoff: fit on rows before it, forecast `horizon` days from it, score.

    Returns ``{"horizon_days", "cutoffs", "folds": [...], "aggregate": {...}}`` where each fold
    and the aggregate (mean over folds) hold ``model``, ``seasonal_naive_week`` and
    ``seasonal_naive_year`` metric dicts (smape, wape, mase, coverage_p10_p90).
    """
    if date_col not in history.columns:
        raise ForecastInputError(f"column '{date_col}' not in history")
    factory = make_forecaster or (lambda: DemandForecaster(max_horizon=horizon, progress=progress))
    try:
        dates = pd.to_datetime(history[date_col])
    except (ValueError, TypeError) as error:
        raise ForecastInputError(f"column '{date_col}' has unparsable dates: {error}") from error
    folds = []
    days = [parse_day(cutoff, "cutoff") for cutoff in cutoffs]
    for cutoff in tqdm(days, desc="folds", unit="fold", file=sys.stderr, disable=not progress):
        train = history[dates < cutoff]
        actuals = history[(dates >= cutoff) & (dates < cutoff + pd.Timedelta(days=horizon))]
        if train.empty:
            raise InsufficientHistoryError(f"no history before cutoff {cutoff.date()}")
        if actuals.empty:
            raise InsufficientHistoryError(
                f"no actuals in the {horizon} days from cutoff {cutoff.date()} to score against"
            )
        began = time.perf_counter()
        model = factory().fit(train, date_col, id_cols, target)
        fit_seconds = time.perf_counter() - began
        fold = score_model(model, actuals, cutoff, horizon)
        fold["fit_seconds"] = round(fit_seconds, 2)
        folds.append(fold)
    return {
        "horizon_days": horizon,
        "cutoffs": [cutoff.date().isoformat() for cutoff in days],
        "folds": folds,
        "aggregate": {name: _mean_metrics([f[name] for f in folds]) for name in ("model", *BASELINES)},
    }


def score_model(model: DemandForecaster, actuals: pd.DataFrame, start: str | pd.Timestamp, days: int) -> dict[str, Any]:
    """Score a fitted model's forecast of `days` days from `start` against `actuals`.

    Baselines are built from the history the model holds, so incumbent and candidate models
    (e.g. before and after `continue_fit`) can be compared on the same holdout.
    """
    first = parse_day(start, "start")
    dates = pd.date_range(first, periods=days, freq="D")
    for name in (model.date_col, *model.id_cols, model.target):
        if name not in actuals.columns:
            raise ForecastInputError(f"column '{name}' not in actuals")
    known = model.series_keys
    keys = (
        pd.concat([known, actuals[list(model.id_cols)]], ignore_index=True)
        .drop_duplicates()
        .sort_values(list(model.id_cols))
        .reset_index(drop=True)
    )
    forecast = model.predict(first, days, series=keys)
    grid = {name: _grid(forecast, model, name, dates, keys) for name in ("prediction", "p10", "p90")}
    actual = _grid(actuals, model, model.target, dates, keys)
    panel = model.history_panel.extended_to(first - pd.Timedelta(days=1))
    columns = pd.MultiIndex.from_frame(keys).get_indexer(pd.MultiIndex.from_frame(known))
    insample = np.full((panel.n_days, len(keys)), np.nan)
    insample[:, columns] = panel.target
    baselines: dict[str, MetricReport | None] = {
        "seasonal_naive_week": _metrics(actual, seasonal_naive_week(insample, days), insample)
    }
    baselines["seasonal_naive_year"] = (
        _metrics(actual, seasonal_naive_year(insample, days), insample)
        if len(insample) >= YEAR and days <= YEAR
        else None
    )
    return {
        "cutoff": first.date().isoformat(),
        "horizon_days": days,
        "series": len(keys),
        "points": int((~np.isnan(actual)).sum()),
        "model": _metrics(actual, grid["prediction"], insample, grid["p10"], grid["p90"]),
        **baselines,
    }


def is_not_worse(
    candidate: dict[str, Any], incumbent: dict[str, Any], metric: str = "smape", tolerance: float = 0.0
) -> bool:
    """Keep-or-discard rule for a retrained model: its metric is at most incumbent's + tolerance.

    Accepts `backtest` reports (compares the aggregate) or single `score_model` folds.
    """
    if metric not in LOWER_IS_BETTER:
        raise ForecastInputError(f"metric must be one of {', '.join(LOWER_IS_BETTER)}, got '{metric}'")
    new, old = _model_metric(candidate, metric), _model_metric(incumbent, metric)
    if old is None:
        return True
    return new is not None and new <= old + tolerance


def _model_metric(report: dict[str, Any], metric: str) -> float | None:
    scores = report["aggregate"]["model"] if "aggregate" in report else report["model"]
    return scores[metric]


def _metrics(
    actual: np.ndarray,
    forecast: np.ndarray,
    insample: np.ndarray,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
) -> MetricReport:
    coverage = interval_coverage(actual, lower, upper) if lower is not None and upper is not None else None
    return {
        "smape": _clean(smape(actual, forecast)),
        "wape": _clean(wape(actual, forecast)),
        "mase": _clean(mase(actual, forecast, insample)),
        "coverage_p10_p90": _clean(coverage),
    }


def _mean_metrics(reports: list[MetricReport | None]) -> MetricReport | None:
    present = [report for report in reports if report is not None]
    if not present:
        return None
    out: MetricReport = {}
    for name in present[0]:
        values = [r[name] for r in present if r[name] is not None]
        out[name] = round(float(np.mean(values)), 4) if values else None
    return out


def _clean(value: float | None) -> float | None:
    """Round for reading; NaN becomes None so the report stays valid JSON."""
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), 4)


def _grid(
    frame: pd.DataFrame, model: DemandForecaster, value: str, dates: pd.DatetimeIndex, keys: pd.DataFrame
) -> np.ndarray:
    """Long rows → ``[day, series]`` array aligned to `dates` × `keys` (NaN where absent)."""
    out = np.full((len(dates), len(keys)), np.nan)
    day = (pd.to_datetime(frame[model.date_col]).dt.normalize() - dates[0]).dt.days.to_numpy()
    column = pd.MultiIndex.from_frame(keys).get_indexer(pd.MultiIndex.from_frame(frame[list(model.id_cols)]))
    inside = (day >= 0) & (day < len(dates)) & (column >= 0)
    out[day[inside], column[inside]] = 0.0
    np.add.at(out, (day[inside], column[inside]), frame[value].to_numpy(dtype=float)[inside])
    return out
