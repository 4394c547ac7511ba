"""Training and incremental retraining, with honest holdout metrics, plus the one-at-a-time job runner.

``train_forecaster``: backtest first — fit on all days before the last ``holdout_days`` (28) and
score those days against the seasonal-naive baseline — then fit the serving model on every day.
The backtest model uses ``max_horizon = holdout_days``: its 7- and 28-day buckets are trained
exactly like the serving model's, so the score describes the served short-horizon forecasts.

``retrain_forecaster``: the new days since the active model's last training day are split into a
fit part and the most recent window (up to ``retrain_window_days``, at most half the new days).
The candidate is the active model ``continue_fit`` on the fit part; the incumbent is the active
model with the same days only added to its history (``update_history``). Both forecast the window
from the same history and are scored on it; the candidate is kept if its SMAPE is not worse
(``backtest.is_not_worse``), and then the kept model is ``continue_fit`` on *all* new days.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Literal

import pandas as pd

from services.forecast_service.errors import NotEnoughDataError, TrainingInProgressError
from services.forecast_service.model.backtest import backtest, is_not_worse, score_model
from services.forecast_service.model.errors import ForecastError, InsufficientHistoryError
from services.forecast_service.model.forecaster import DemandForecaster
from services.forecast_service.sales_history import DATE_COL, SERIES_KEYS, TARGET

log = logging.getLogger(__name__)

METRIC_NAMES = ("smape", "wape", "mase", "coverage", "baseline_smape")


def flat_metrics(score: dict[str, Any] | None) -> dict[str, float | None]:
    """``score_model``/backtest fold → the five headline numbers every version carries."""
    if not score:
        return {name: None for name in METRIC_NAMES}
    model = score.get("model") or {}
    baseline = score.get("seasonal_naive_week") or {}
    return {
        "smape": model.get("smape"),
        "wape": model.get("wape"),
        "mase": model.get("mase"),
        "coverage": model.get("coverage_p10_p90"),
        "baseline_smape": baseline.get("smape"),
    }


Progress = Callable[[float, str], None]


def _quiet(_: float, __: str) -> None:
    return None


@dataclass(frozen=True)
class TrainingConfig:
    """Forecaster parameters and evaluation windows (tests shrink ``n_estimators`` for speed)."""

    max_horizon: int = 90
    n_estimators: int = 100
    continue_estimators: int = 20
    min_history_days: int = 28
    holdout_days: int = 28
    retrain_window_days: int = 28
    retrain_tolerance: float = 0.0
    nthread: int = 2
    seed: int = 0

    @property
    def min_training_days(self) -> int:
        """What ``DemandForecaster.fit`` needs for the serving model."""
        return self.max_horizon + self.min_history_days

    def forecaster(self, max_horizon: int | None = None) -> DemandForecaster:
        return DemandForecaster(
            max_horizon=max_horizon or self.max_horizon,
            n_estimators=self.n_estimators,
            continue_estimators=self.continue_estimators,
            min_history_days=self.min_history_days,
            nthread=self.nthread,
            seed=self.seed,
        )


@dataclass
class TrainedModel:
    model: DemandForecaster
    metrics: dict[str, float | None]
    evaluation: dict[str, Any]


@dataclass
class RetrainOutcome:
    kept: bool
    model: DemandForecaster | None
    candidate: dict[str, float | None]
    incumbent: dict[str, float | None]
    window_start: str
    window_days: int
    new_days: int

    def report(self) -> dict[str, Any]:
        return {
            "kept": self.kept,
            "candidate": self.candidate,
            "incumbent": self.incumbent,
            "window_start": self.window_start,
            "window_days": self.window_days,
            "new_days": self.new_days,
        }


def history_days(history: pd.DataFrame) -> int:
    if history.empty:
        return 0
    dates = history[DATE_COL]
    return int((dates.max() - dates.min()).days) + 1


def train_forecaster(history: pd.DataFrame, config: TrainingConfig, progress: Progress = _quiet) -> TrainedModel:
    """Holdout backtest on the last ``holdout_days``, then the serving fit on everything (module doc)."""
    days = history_days(history)
    if days < config.min_training_days:
        span = f" ({history[DATE_COL].min().date()} to {history[DATE_COL].max().date()})" if days else ""
        raise InsufficientHistoryError(
            f"daily sales cover {days} days{span}; training needs at least {config.min_training_days} "
            f"({config.max_horizon}-day horizon + {config.min_history_days} days of history)"
        )
    last = history[DATE_COL].max()
    cutoff = last - pd.Timedelta(days=config.holdout_days - 1)
    progress(0.15, f"backtesting on the {config.holdout_days} days from {cutoff.date()}")
    evaluation: dict[str, Any] = {}
    metrics = flat_metrics(None)
    try:
        report = backtest(
            history,
            DATE_COL,
            list(SERIES_KEYS),
            TARGET,
            [cutoff],
            config.holdout_days,
            make_forecaster=lambda: config.forecaster(config.holdout_days),
        )
        fold = report["folds"][0]
        metrics = flat_metrics(fold)
        evaluation = {
            "kind": "holdout",
            "window_start": fold["cutoff"],
            "window_days": config.holdout_days,
            "series": fold["series"],
            "points": fold["points"],
            "model": fold["model"],
            "seasonal_naive_week": fold["seasonal_naive_week"],
            "seasonal_naive_year": fold["seasonal_naive_year"],
        }
    except InsufficientHistoryError as exc:
        evaluation = {"kind": "holdout", "skipped": str(exc)}
    progress(0.5, f"fitting on {days} days of {history.groupby(list(SERIES_KEYS)).ngroups} series")
    model = config.forecaster().fit(history, DATE_COL, list(SERIES_KEYS), TARGET)
    return TrainedModel(model, metrics, evaluation)


def retrain_forecaster(
    load_active: Callable[[], DemandForecaster],
    new_history: pd.DataFrame,
    config: TrainingConfig,
    progress: Progress = _quiet,
) -> RetrainOutcome:
    """Continue the active model on new days if that is not worse on the most recent window (module doc)."""
    probe = load_active()
    previous_end = probe.trained_until
    new = new_history[new_history[DATE_COL] > previous_end] if previous_end is not None else new_history
    new_days = history_days(new)
    if new_days < 2:
        raise InsufficientHistoryError(
            f"{new_days} complete day(s) of sales after the active model's last training day "
            f"{previous_end.date() if previous_end is not None else '?'}; retraining needs at least 2 "
            "(one to train on, one to evaluate)"
        )
    window = min(config.retrain_window_days, new_days // 2)
    last = new[DATE_COL].max()
    cutoff = last - pd.Timedelta(days=window - 1)
    fit_part, holdout = new[new[DATE_COL] < cutoff], new[new[DATE_COL] >= cutoff]
    progress(0.3, f"continuing the active model on {new_days - window} new days, scoring on {window}")
    candidate = probe.continue_fit(fit_part)
    incumbent = load_active().update_history(fit_part)
    candidate_score = score_model(candidate, holdout, cutoff, window)
    incumbent_score = score_model(incumbent, holdout, cutoff, window)
    kept = is_not_worse(candidate_score, incumbent_score, "smape", config.retrain_tolerance)
    model = None
    if kept:
        progress(0.7, "candidate is not worse: continuing the active model on all new days")
        model = load_active().continue_fit(new)
    return RetrainOutcome(
        kept,
        model,
        flat_metrics(candidate_score),
        flat_metrics(incumbent_score),
        cutoff.date().isoformat(),
        window,
        new_days,
    )


JobKind = Literal["train", "retrain"]
JobState = Literal["idle", "running", "done", "failed"]


@dataclass
class JobStatus:
    state: JobState = "idle"
    kind: JobKind | None = None
    progress: float = 0.0
    message: str = "no training job has run in this process"
    version: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainingJobs:
    """Runs one training job at a time in a background thread and keeps its status.

    ``on_finished(kind, seconds, status)`` lets the app record metrics.
    """

    on_finished: Callable[[JobKind, float, JobStatus], None] | None = None
    _status: JobStatus = field(default_factory=JobStatus)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    def status(self) -> JobStatus:
        with self._lock:
            return JobStatus(**asdict(self._status))

    def start(
        self, kind: JobKind, work: Callable[[Progress], tuple[str | None, str, dict[str, Any] | None]]
    ) -> JobStatus:
        """Run ``work(progress) -> (version, message, result)`` in the background; 409 if one runs."""
        with self._lock:
            if self._status.state == "running":
                raise TrainingInProgressError(
                    f"a {self._status.kind} job started at {self._status.started_at:%Y-%m-%d %H:%M:%S}Z is still "
                    "running; "
                    "poll GET /train/status"
                )
            self._status = JobStatus(
                state="running",
                kind=kind,
                progress=0.0,
                message=f"{kind} started",
                started_at=datetime.now(timezone.utc),
            )
            self._thread = threading.Thread(target=self._run, args=(kind, work), name=f"forecast-{kind}", daemon=True)
            self._thread.start()
            return JobStatus(**asdict(self._status))

    def wait(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _progress(self, fraction: float, message: str) -> None:
        with self._lock:
            self._status.progress = round(min(max(fraction, 0.0), 1.0), 3)
            self._status.message = message

    def _run(self, kind: JobKind, work: Callable[[Progress], tuple[str | None, str, dict[str, Any] | None]]) -> None:
        began = time.perf_counter()
        try:
            version, message, result = work(self._progress)
            final = {"state": "done", "progress": 1.0, "message": message, "version": version, "result": result}
        except (ForecastError, NotEnoughDataError) as exc:
            final = {"state": "failed", "message": str(exc)}
        except Exception as exc:  # a background job must always end in a status, never vanish
            log.exception("%s job failed", kind)
            final = {"state": "failed", "message": f"{type(exc).__name__}: {exc}"}
        seconds = time.perf_counter() - began
        with self._lock:
            for name, value in final.items():
                setattr(self._status, name, value)
            self._status.finished_at = datetime.now(timezone.utc)
            snapshot = JobStatus(**asdict(self._status))
        if self.on_finished is not None:
            try:
                self.on_finished(kind, seconds, snapshot)
            except Exception:  # metrics must not turn a finished job into a crash
                log.exception("recording %s job metrics failed", kind)


def day_after(value: pd.Timestamp | date) -> date:
    day = value.date() if isinstance(value, pd.Timestamp) else value
    return day + timedelta(days=1)
