"""The service's long-lived objects (MongoDB handle, model registry, active forecasts, training jobs,
Kafka producer, metrics) and the use cases that combine them: start training, activate a version,
follow the active version. Knows nothing of HTTP; `app` builds one per process and routes reach it
through `dependencies`.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from datetime import datetime, timezone
from typing import Any

from kafka.errors import KafkaError
from pymongo.database import Database

from services.common.bus import EventProducer
from services.common.model_registry import ModelRegistry
from services.common.settings import Settings
from services.common.store import connect
from services.forecast_service.errors import NoActiveModelError, NotEnoughDataError, PublishFailedError
from services.forecast_service.forecasting import facings_factors
from services.forecast_service.metrics import SERVICE, ForecastMetrics
from services.forecast_service.model.forecaster import DemandForecaster
from services.forecast_service.sales_history import history_since, last_complete_day, sales_day_span, training_history
from services.forecast_service.serving import ActiveForecasts, ForecastTable
from services.forecast_service.training import (
    JobKind,
    JobStatus,
    Progress,
    TrainingConfig,
    TrainingJobs,
    day_after,
    retrain_forecaster,
    train_forecaster,
)

log = logging.getLogger(__name__)

MODEL_REFRESH_S = 15.0
CATALOG_TTL_S = 60.0


class ServiceContext:
    """One per process; `close()` stops the watcher and flushes the producer."""

    def __init__(
        self, settings: Settings, training: TrainingConfig | None = None, model_refresh_s: float = MODEL_REFRESH_S
    ) -> None:
        self.settings = settings
        self.training = training or TrainingConfig()
        self.db: Database = connect(settings.mongo_uri, settings.mongo_db)
        self._health_db: Database = connect(settings.mongo_uri, settings.mongo_db, timeout_ms=1500)
        self.registry: ModelRegistry[DemandForecaster] = ModelRegistry(
            self.db,
            SERVICE,
            settings.data_dir / "models" / "forecast",
            save=DemandForecaster.save,
            load=DemandForecaster.load,
        )
        self.forecasts = ActiveForecasts()
        self.metrics = ForecastMetrics()
        self.jobs = TrainingJobs(on_finished=self._record_job)
        self._model_refresh_s = model_refresh_s
        self._activation_lock = threading.Lock()
        self._producer: EventProducer | None = None
        self._producer_lock = threading.Lock()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._facings: tuple[float, dict[str, float]] | None = None

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Serve the active version (if MongoDB answers) and follow activations by other processes."""
        try:
            self.follow_active()
        except Exception as exc:  # the API must come up even when MongoDB is not there yet
            log.warning(
                "could not load the active forecast model at start (%s); will retry every %.0fs",
                exc,
                self._model_refresh_s,
            )
        self._watcher = threading.Thread(target=self._watch, name="forecast-model-watcher", daemon=True)
        self._watcher.start()

    def close(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(5)
        self.jobs.wait(0)
        with self._producer_lock:
            if self._producer is not None:
                self._producer.flush(10)
                self._producer.close()
                self._producer = None
        self.db.client.close()
        self._health_db.client.close()

    def _watch(self) -> None:
        while not self._stop.wait(self._model_refresh_s):
            try:
                self.follow_active()
            except Exception as exc:
                log.warning("checking the active forecast model failed: %s", exc)

    def follow_active(self) -> str | None:
        """Load the version MongoDB says is active if it is not the one being served."""
        with self._activation_lock:
            active = self.registry.active()
            if active is None or active["_id"] == self.forecasts.version:
                return self.forecasts.version
            table = ForecastTable.build(active["_id"], self.registry.load(active["_id"]))
            self._serve(table, active)
            return table.version

    # --- collaborators ---------------------------------------------------------------------
    def producer(self) -> EventProducer:
        """The Kafka producer, created on first use so the API starts (and reads) without Kafka."""
        with self._producer_lock:
            if self._producer is None:
                try:
                    self._producer = EventProducer(
                        self.settings.kafka_bootstrap, self.settings.topics, client_id="shelfcast-forecast-api"
                    )
                except KafkaError as exc:
                    raise PublishFailedError(
                        f"Kafka is not reachable at {self.settings.kafka_bootstrap} ({type(exc).__name__}: {exc})"
                    ) from exc
            return self._producer

    def facings_factors(self) -> dict[str, float]:
        """Products' facings factors, re-read from MongoDB at most every minute (``/predict`` is a hot path)."""
        cached = self.cached_facings_factors()
        if cached is None:
            cached = facings_factors(self.db)
            self._facings = (time.monotonic(), cached)
        return cached

    def cached_facings_factors(self) -> dict[str, float] | None:
        """The facings factors if read less than a minute ago, else None (no I/O)."""
        cached = self._facings
        if cached is None or time.monotonic() - cached[0] > CATALOG_TTL_S:
            return None
        return cached[1]

    def health(self) -> dict[str, Any]:
        """MongoDB ping and a TCP connect to a Kafka bootstrap server, each with a short timeout."""
        checks: dict[str, Any] = {}
        try:
            self._health_db.command("ping")
            checks["mongo"] = {"ok": True}
        except Exception as exc:
            checks["mongo"] = {"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
        checks["kafka"] = _kafka_reachable(self.settings.kafka_bootstrap)
        ok = checks["mongo"]["ok"] and checks["kafka"]["ok"]
        return {
            "status": "ok" if ok else "unavailable",
            **checks,
            "active_model": self.forecasts.version,
            "training": self.jobs.status().state,
        }

    # --- use cases -------------------------------------------------------------------------
    def start_train(self) -> JobStatus:
        """Check there is enough data (409 now rather than a failed job later), then train in the background."""
        span = sales_day_span(self.db, until=last_complete_day())
        days = (span[1] - span[0]).days + 1 if span else 0
        needed = self.training.min_training_days
        if days < needed:
            where = f" ({span[0]} to {span[1]})" if span else ""
            raise NotEnoughDataError(
                f"daily_sales covers {days} complete days{where}; training needs at least {needed} "
                f"({self.training.max_horizon}-day horizon + {self.training.min_history_days} days of history). "
                f"The active model ({self.forecasts.version or 'none'}) is unchanged."
            )
        return self.jobs.start("train", self._train)

    def start_retrain(self) -> JobStatus:
        active = self.registry.active()
        if active is None:
            raise NoActiveModelError()
        span = sales_day_span(self.db, until=last_complete_day())
        trained_until = datetime.fromisoformat(active["trained_until"]).date()
        new_days = (span[1] - trained_until).days if span else 0
        if new_days < 2:
            raise NotEnoughDataError(
                f"{max(new_days, 0)} complete day(s) of sales after the active model's last training day "
                f"{trained_until}; "
                "retraining needs at least 2 (one to train on, one to evaluate). The active model is unchanged."
            )
        return self.jobs.start("retrain", lambda progress: self._retrain(active, progress))

    def activate(self, version: str) -> dict[str, Any]:
        with self._activation_lock:
            doc = self.registry.get(version)
            table = ForecastTable.build(version, self.registry.load(version))
            doc = self.registry.activate(version)
            self._serve(table, doc)
            return doc

    def _serve(self, table: ForecastTable, doc: dict[str, Any]) -> None:
        self.forecasts.swap(table)
        smape = (doc.get("metrics") or {}).get("smape")
        self.metrics.last_backtest_smape.set(float("nan") if smape is None else smape)
        self.metrics.model_trained_at.set((doc.get("trained_at") or doc["created_at"]).timestamp())

    def _train(self, progress: Progress) -> tuple[str | None, str, dict[str, Any] | None]:
        began = time.perf_counter()
        progress(0.02, "loading daily sales from MongoDB")
        history = training_history(self.db)
        trained = train_forecaster(history, self.training, progress)
        progress(0.85, "saving the new version")
        doc = self._register(trained.model, "train", None, trained.metrics, trained.evaluation, began)
        progress(0.9, "activating: precomputing forecasts for every series")
        self.activate(doc["_id"])
        m = trained.metrics
        message = (
            f"trained on {doc['series']} series up to {doc['trained_until']}; holdout SMAPE {m['smape']} "
            f"vs seasonal naive {m['baseline_smape']}"
        )
        return doc["_id"], message, {"metrics": m}

    def _retrain(self, active: dict[str, Any], progress: Progress) -> tuple[str | None, str, dict[str, Any] | None]:
        began = time.perf_counter()
        version = active["_id"]
        progress(0.02, f"loading sales after {active['trained_until']}")
        incumbent_keys = self.registry.load(version).series_keys
        since = day_after(datetime.fromisoformat(active["trained_until"]).date())
        new_history = history_since(self.db, since, incumbent_keys)
        outcome = retrain_forecaster(lambda: self.registry.load(version), new_history, self.training, progress)
        report = outcome.report()
        cand, inc = outcome.candidate["smape"], outcome.incumbent["smape"]
        if not outcome.kept or outcome.model is None:
            return (
                version,
                (
                    f"kept {version}: the continued model's SMAPE {cand} on the last {outcome.window_days} days "
                    f"is worse than the active model's {inc}"
                ),
                report,
            )
        evaluation = {
            "kind": "retrain_window",
            "window_start": outcome.window_start,
            "window_days": outcome.window_days,
            "incumbent": outcome.incumbent,
            "candidate": outcome.candidate,
        }
        progress(0.85, "saving the new version")
        doc = self._register(outcome.model, "retrain", version, outcome.candidate, evaluation, began)
        progress(0.9, "activating: precomputing forecasts for every series")
        self.activate(doc["_id"])
        report["version"] = doc["_id"]
        return (
            doc["_id"],
            (
                f"activated {doc['_id']}: SMAPE {cand} on the last {outcome.window_days} days vs {inc} "
                f"for the previous model {version}"
            ),
            report,
        )

    def _register(
        self, model: DemandForecaster, kind: JobKind, parent: str | None, metrics: dict, evaluation: dict, began: float
    ) -> dict[str, Any]:
        doc = {
            "kind": kind,
            "parent": parent,
            "trained_at": datetime.now(timezone.utc),
            "metrics": metrics,
            "evaluation": evaluation,
            "training_seconds": round(time.perf_counter() - began, 2),
            "params": model.get_params(),
            "trained_until": model.trained_until.date().isoformat() if model.trained_until is not None else None,
            "history_end": model.history_end.date().isoformat(),
            "series": int(len(model.series_keys)),
            "max_horizon": model.max_horizon,
        }
        return self.registry.register(model, doc)

    def _record_job(self, kind: JobKind, seconds: float, status: JobStatus) -> None:
        self.metrics.training_seconds.labels(kind, status.state).observe(seconds)


def _kafka_reachable(bootstrap: str, timeout_s: float = 1.0) -> dict[str, Any]:
    errors = []
    for server in (s.strip() for s in bootstrap.split(",") if s.strip()):
        host, _, port = server.rpartition(":")
        try:
            with socket.create_connection((host or server, int(port or 9092)), timeout=timeout_s):
                return {"ok": True}
        except (OSError, ValueError) as exc:
            errors.append(f"{server}: {exc}")
    return {"ok": False, "error": "; ".join(errors) or "no bootstrap servers configured"}
