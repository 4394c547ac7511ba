"""The active model's forecasts, precomputed once per version so requests never run XGBoost.

When a version becomes active, every series' forecast for the model's whole horizon (90 days) is
computed in one ``predict`` call (~4 s for 2,000 series) and kept as arrays, together with each
series' recent history and pre-encoded JSON for the hot ``GET /forecast/{sku}`` path. A SKU × store
pair the model has not seen (but the catalog knows) is forecast on demand with the model's peer
fallback and cached too. Forecasts start the day after the last day of sales the model holds.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from services.forecast_service.errors import NoActiveModelError
from services.forecast_service.model.forecaster import DemandForecaster
from services.forecast_service.sales_history import SERIES_KEYS

log = logging.getLogger(__name__)

HISTORY_DAYS = 60
_EXTRA_CACHE = 10_000

SeriesKey = tuple[str, str]


def _num(value: float) -> float:
    return round(float(value), 3)


@dataclass
class ForecastTable:
    """Forecasts ``[series, day]`` of one model version, plus the history that precedes them."""

    version: str
    model: DemandForecaster
    dates: list[str]
    keys: list[SeriesKey]
    p10: np.ndarray
    p50: np.ndarray
    p90: np.ndarray
    history_dates: list[str]
    history: np.ndarray
    index: dict[SeriesKey, int] = field(init=False)
    skus: set[str] = field(init=False)
    stores: set[str] = field(init=False)
    _rows_by_store: dict[str, list[int]] = field(init=False, repr=False)
    _points_json: list[list[str]] = field(init=False, repr=False)
    _history_json: list[str] = field(init=False, repr=False)
    _extra: OrderedDict = field(init=False, repr=False, default_factory=OrderedDict)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.index = {key: i for i, key in enumerate(self.keys)}
        self.skus = {sku for sku, _ in self.keys}
        self.stores = {store_id for _, store_id in self.keys}
        rows_by_store: dict[str, list[int]] = {}
        for i, (_, store_id) in enumerate(self.keys):
            rows_by_store.setdefault(store_id, []).append(i)
        self._rows_by_store = rows_by_store
        self._points_json = [self._encode_points(self.p10[i], self.p50[i], self.p90[i]) for i in range(len(self.keys))]
        self._history_json = [self._encode_history(self.history[i]) for i in range(len(self.keys))]

    @property
    def horizon(self) -> int:
        return len(self.dates)

    @classmethod
    def build(cls, version: str, model: DemandForecaster) -> ForecastTable:
        """Run the one ``predict`` over every known series for the model's whole horizon."""
        start = model.history_end + pd.Timedelta(days=1)
        days = model.max_horizon
        frame = model.predict(start, days)
        keys_frame = model.series_keys[list(SERIES_KEYS)]
        day = (pd.to_datetime(frame[model.date_col]) - start).dt.days.to_numpy()
        row = pd.MultiIndex.from_frame(keys_frame).get_indexer(pd.MultiIndex.from_frame(frame[list(SERIES_KEYS)]))
        grids = {}
        for name in ("p10", "prediction", "p90"):
            grid = np.zeros((len(keys_frame), days))
            grid[row, day] = frame[name].to_numpy(dtype=float)
            grids[name] = grid
        p10, p50, p90 = grids["p10"], grids["prediction"], grids["p90"]
        panel = model.history_panel
        history = panel.target[-HISTORY_DAYS:].T
        history_dates = [d.date().isoformat() for d in panel.dates[-HISTORY_DAYS:]]
        keys = [(str(s), str(t)) for s, t in keys_frame.itertuples(index=False)]
        dates = [d.date().isoformat() for d in pd.date_range(start, periods=days, freq="D")]
        return cls(version, model, dates, keys, p10, p50, p90, history_dates, history)

    def _encode_points(self, p10: np.ndarray, p50: np.ndarray, p90: np.ndarray) -> list[str]:
        return [
            json.dumps({"date": d, "p10": _num(a), "p50": _num(b), "p90": _num(c)}, separators=(",", ":"))
            for d, a, b, c in zip(self.dates, p10, p50, p90)
        ]

    def _encode_history(self, units: np.ndarray) -> str:
        rows = [{"date": d, "units": _num(u)} for d, u in zip(self.history_dates, units) if np.isfinite(u)]
        return json.dumps(rows, separators=(",", ":"))

    def forecast_json(self, sku: str, store_id: str, horizon: int) -> bytes | None:
        """The ``GET /forecast`` body for a cached pair, or None when the pair is not cached."""
        i = self.index.get((sku, store_id))
        if i is not None:
            points, history = self._points_json[i], self._history_json[i]
        else:
            with self._lock:
                cached = self._extra.get((sku, store_id))
            if cached is None:
                return None
            points, history = cached[0], "[]"
        head = json.dumps({"sku": sku, "store_id": store_id, "model_version": self.version}, separators=(",", ":"))[:-1]
        return f'{head},"points":[{",".join(points[:horizon])}],"history":{history}}}'.encode()

    def series(self, sku: str, store_id: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """``(p10, p50, p90)`` daily arrays of a cached pair, or None."""
        i = self.index.get((sku, store_id))
        if i is not None:
            return self.p10[i], self.p50[i], self.p90[i]
        with self._lock:
            cached = self._extra.get((sku, store_id))
        return cached[1] if cached else None

    def is_cached(self, sku: str, store_id: str) -> bool:
        if (sku, store_id) in self.index:
            return True
        with self._lock:
            return (sku, store_id) in self._extra

    def add_unseen(self, sku: str, store_id: str) -> None:
        """Forecast a pair the model never saw (peer fallback) and cache it."""
        frame = self.model.predict(
            self.dates[0], self.horizon, series=pd.DataFrame({"sku": [sku], "store_id": [store_id]})
        )
        arrays = tuple(frame[name].to_numpy(dtype=float) for name in ("p10", "prediction", "p90"))
        points = self._encode_points(*arrays)
        with self._lock:
            self._extra[(sku, store_id)] = (points, arrays)
            while len(self._extra) > _EXTRA_CACHE:
                self._extra.popitem(last=False)

    def series_of_store(self, store_id: str | None) -> list[int]:
        """Row numbers of one store's series (all series for None)."""
        if store_id is None:
            return list(range(len(self.keys)))
        return self._rows_by_store.get(store_id, [])


class ActiveForecasts:
    """Holds the active version's table; swapped in one assignment, so readers see old or new."""

    def __init__(self) -> None:
        self._table: ForecastTable | None = None

    @property
    def version(self) -> str | None:
        table = self._table
        return table.version if table else None

    def current(self) -> ForecastTable:
        table = self._table
        if table is None:
            raise NoActiveModelError()
        return table

    def swap(self, table: ForecastTable) -> None:
        self._table = table
        log.info(
            "serving forecasts of model %s: %d series x %d days from %s",
            table.version,
            len(table.keys),
            table.horizon,
            table.dates[0],
        )
