"""Feature building for one global model over many daily series.

History is held as a dense day × series matrix (`SeriesPanel`), so a lag is a row shift and a
rolling window is a pandas rolling over columns; training rows and forecast rows go through the
same code, which leaves no room for train/serve skew.

Horizons use the *direct, bucketed* approach: the model of bucket ``min_lag = L`` sees only
target values at ``t - L`` or earlier (lags >= L, rolling windows that end at ``t - L``), so it
forecasts any day up to ``L`` days after the last observed day without feeding predictions back
in. A forecast for horizon ``h`` uses the smallest bucket with ``L >= h``: short horizons get
recent lags, long ones stay honest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from services.forecast_service.model.errors import ForecastInputError

YEAR = 364
WEEK = 7
WINDOWS: tuple[int, ...] = (7, 28, 91, YEAR)
WEEKDAY_WEEKS: tuple[int, ...] = (4, 13)


@dataclass(frozen=True)
class LagPlan:
    """Which target-derived features the model of one horizon bucket may use."""

    min_lag: int
    lags: tuple[int, ...]

    @property
    def weekday_lag(self) -> int:
        """First lag >= min_lag that lands on the target day's weekday."""
        return -(-self.min_lag // WEEK) * WEEK

    @property
    def reach(self) -> int:
        """How many days back from a target day its features read."""
        return max(
            max(self.lags),
            self.min_lag + max(WINDOWS),
            self.weekday_lag + WEEK * (max(WEEKDAY_WEEKS) - 1),
        )


def lag_plan(min_lag: int) -> LagPlan:
    """Weekday-aligned lags from `min_lag` on, plus last year's and the year before's."""
    if min_lag < 1:
        raise ForecastInputError(f"min_lag must be >= 1, got {min_lag}")
    first = -(-min_lag // WEEK) * WEEK
    lags = {min_lag, first, first + WEEK, first + 2 * WEEK, first + 3 * WEEK}
    lags |= {lag for lag in (YEAR, YEAR + WEEK, 2 * YEAR) if lag >= min_lag}
    return LagPlan(min_lag=min_lag, lags=tuple(sorted(lags)))


def horizon_buckets(max_horizon: int) -> tuple[int, ...]:
    """Bucket bounds (7, 28, max_horizon), dropping those the maximum makes redundant."""
    if max_horizon < 1:
        raise ForecastInputError(f"max_horizon must be >= 1, got {max_horizon}")
    return tuple(sorted({bound for bound in (7, 28) if bound < max_horizon} | {max_horizon}))


def bucket_for(horizon: int, buckets: Sequence[int]) -> int:
    """Smallest bucket bound that covers `horizon` days after the last observed day."""
    for bound in buckets:
        if horizon <= bound:
            return bound
    raise ForecastInputError(f"horizon {horizon} days exceeds the model's maximum of {max(buckets)}")


@dataclass
class SeriesPanel:
    """Dense daily history: `target[day, series]`, NaN where a day was not observed."""

    start: pd.Timestamp
    keys: pd.DataFrame
    target: np.ndarray
    exog: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_days(self) -> int:
        return int(self.target.shape[0])

    @property
    def dates(self) -> pd.DatetimeIndex:
        return pd.date_range(self.start, periods=self.n_days, freq="D")

    @property
    def end(self) -> pd.Timestamp:
        return self.start + pd.Timedelta(days=self.n_days - 1)

    def extended_to(self, end: pd.Timestamp) -> SeriesPanel:
        """Copy padded with unobserved days up to `end`; exogenous values carry forward."""
        extra = (end - self.end).days
        if extra <= 0:
            return self
        pad = np.full((extra, self.target.shape[1]), np.nan)
        exog = {name: np.vstack([values, np.repeat(values[-1:], extra, axis=0)]) for name, values in self.exog.items()}
        return SeriesPanel(self.start, self.keys, np.vstack([self.target, pad]), exog)

    def tail(self, days: int) -> SeriesPanel:
        """The last `days` days: all that feature building needs, without the whole past."""
        if days >= self.n_days:
            return self
        cut = self.n_days - days
        return SeriesPanel(
            self.start + pd.Timedelta(days=cut),
            self.keys,
            self.target[cut:],
            {name: values[cut:] for name, values in self.exog.items()},
        )


def panel_from_frame(
    frame: pd.DataFrame,
    date_col: str,
    id_cols: Sequence[str],
    target: str,
    exog_cols: Sequence[str] = (),
) -> SeriesPanel:
    """Pivot long rows to a panel; rows of the same day and series are summed (daily demand)."""
    dates = pd.to_datetime(frame[date_col]).dt.normalize()
    start = dates.min()
    day = (dates - start).dt.days.to_numpy()
    codes, uniques = pd.factorize(pd.MultiIndex.from_frame(frame[list(id_cols)]), sort=True)
    keys = uniques.to_frame(index=False, name=list(id_cols))
    shape = (int(day.max()) + 1, len(keys))
    values = np.zeros(shape)
    np.add.at(values, (day, codes), frame[target].to_numpy(dtype=float))
    observed = np.zeros(shape, dtype=bool)
    observed[day, codes] = True
    values[~observed] = np.nan
    exog = {}
    for name in exog_cols:
        column = np.full(shape, np.nan)
        column[day, codes] = frame[name].to_numpy(dtype=float)
        exog[name] = _fill_along_days(column)
    return SeriesPanel(start, keys, values, exog)


def merge_panels(old: SeriesPanel, new: SeriesPanel) -> SeriesPanel:
    """Union of days and series; where both observed a day, the new value wins."""
    id_cols = list(old.keys.columns)
    keys = (
        pd.concat([old.keys, new.keys], ignore_index=True).drop_duplicates().sort_values(id_cols).reset_index(drop=True)
    )
    start = min(old.start, new.start)
    n_days = (max(old.end, new.end) - start).days + 1
    position = pd.MultiIndex.from_frame(keys)
    target = np.full((n_days, len(keys)), np.nan)
    exog = {name: np.full((n_days, len(keys)), np.nan) for name in old.exog}
    for part in (old, new):
        first = (part.start - start).days
        rows = np.arange(first, first + part.n_days)[:, None]
        columns = position.get_indexer(pd.MultiIndex.from_frame(part.keys))[None, :]
        block = target[rows, columns]
        observed = ~np.isnan(part.target)
        block[observed] = part.target[observed]
        target[rows, columns] = block
        for name in exog:
            exog[name][rows, columns] = part.exog[name]
    return SeriesPanel(start, keys, target, {k: _fill_along_days(v) for k, v in exog.items()})


def _fill_along_days(values: np.ndarray) -> np.ndarray:
    """Exogenous gaps take the series' previous known value (or the first one, at the start)."""
    return pd.DataFrame(values).ffill().bfill().to_numpy()


def calendar_features(dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Weekday, month and year position of each day: the seasonal clock."""
    return pd.DataFrame(
        {
            "dow": dates.day_of_week,
            "day_of_month": dates.day,
            "day_of_year": dates.day_of_year,
            "week_of_year": dates.isocalendar().week.to_numpy(dtype=int),
            "month": dates.month,
            "year": dates.year,
            "is_month_start": dates.is_month_start.astype(int),
            "is_month_end": dates.is_month_end.astype(int),
        }
    )


def _shift(values: np.ndarray, lag: int) -> np.ndarray:
    """Row `t` of the result holds row `t - lag` of `values` (NaN before the start)."""
    out = np.full_like(values, np.nan)
    if lag < len(values):
        out[lag:] = values[: len(values) - lag]
    return out


def target_features(panel: SeriesPanel, plan: LagPlan) -> dict[str, np.ndarray]:
    """Lags, rolling mean/std and same-weekday means; each reads only rows <= t - min_lag."""
    wide = pd.DataFrame(panel.target)
    out: dict[str, np.ndarray] = {}
    for lag in plan.lags:
        out[f"lag_{lag}"] = _shift(panel.target, lag)
    for window in WINDOWS:
        rolling = wide.rolling(window, min_periods=max(1, window // 2))
        out[f"mean_{window}"] = _shift(rolling.mean().to_numpy(), plan.min_lag)
        out[f"std_{window}"] = _shift(rolling.std().to_numpy(), plan.min_lag)
    for weeks in WEEKDAY_WEEKS:
        shifted = [_shift(panel.target, plan.weekday_lag + WEEK * k) for k in range(weeks)]
        total = np.nansum(shifted, axis=0)
        count = np.sum([~np.isnan(s) for s in shifted], axis=0)
        out[f"weekday_mean_{weeks}w"] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return out


def series_level(features: dict[str, np.ndarray]) -> np.ndarray:
    """Last year's mean per series, or a shorter window's while a year is not yet seen."""
    level = features[f"mean_{YEAR}"].copy()
    for window in sorted(WINDOWS, reverse=True)[1:]:
        missing = np.isnan(level)
        level[missing] = features[f"mean_{window}"][missing]
    return level


@dataclass(frozen=True)
class FeatureMatrix:
    """Model inputs for chosen (day, series) cells and the level that scales the target."""

    features: pd.DataFrame
    level: np.ndarray
    day: np.ndarray
    series: np.ndarray


def build_features(
    panel: SeriesPanel,
    plan: LagPlan,
    id_codes: np.ndarray,
    days: np.ndarray | None = None,
    require_target: bool = True,
) -> FeatureMatrix:
    """Feature rows for panel `days` (all by default) × every series.

    `id_codes[series, k]` is the stable integer code of the series' k-th id column. Target
    features are divided by the series level (see `series_level`), so one global model learns
    shapes rather than magnitudes; the level itself is a feature and the model's offset. Cells
    without a positive level are dropped; with `require_target` (training), so are cells whose
    target was not observed.
    """
    if days is None:
        days = np.arange(panel.n_days)
    n_series = panel.target.shape[1]
    derived = target_features(panel, plan)
    level = series_level(derived)[days].ravel()
    keep = np.nan_to_num(level) > 0
    if require_target:
        keep &= ~np.isnan(panel.target[days]).ravel()
    cell_series = np.tile(np.arange(n_series), len(days))[keep]
    columns: dict[str, np.ndarray] = {}
    calendar = calendar_features(panel.dates[days])
    for name in calendar.columns:
        columns[name] = np.repeat(calendar[name].to_numpy(), n_series)[keep]
    for position, name in enumerate(panel.keys.columns):
        columns[f"id_{name}"] = id_codes[cell_series, position]
    kept_level = level[keep]
    for name, values in derived.items():
        columns[name] = values[days].ravel()[keep] / kept_level
    columns["level"] = kept_level
    for name, values in panel.exog.items():
        columns[f"exog_{name}"] = values[days].ravel()[keep]
    return FeatureMatrix(
        features=pd.DataFrame(columns),
        level=kept_level,
        day=np.repeat(days, n_series)[keep],
        series=cell_series,
    )
