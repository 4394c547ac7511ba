"""Training the serving uplift model from what the engine logged: exposures, outcomes, features.

One row per (customer, promotion) — the customer's first exposure, whose arm is the treatment
flag — and only exposures whose attribution window has closed (``t0 + window <= now``), so no row
is labelled from half a window. Outcome: converted (an order with a promoted SKU within the
window). Features are computed **as of the exposure** (orders and clicks strictly before it), with
the same functions serving uses, so the model never sees a row's own future.

Evaluation is honest: 30% of rows (stratified by arm and outcome) are held out; the learner is
chosen (``select_learner``: best Qini on its own split of the remaining 70%) and fitted on the
70%, and Qini, AUUC and uplift@30% are measured on the held-out 30%. The served model is the same
learner refitted on all rows. Nothing touches the active model unless every step succeeded.

The status and the "one training at a time" slot are shared by every process on the database (the
engine may run as several workers behind one port): one document, ``_id: "current"`` in
``read_models.PROMOTION_TRAINING``, holds the ``TrainingStatus`` fields and the owner's heartbeat
``updated_at``. A job claims the slot atomically when no job is running; every later write of a job
(progress, heartbeat, end) is guarded by its ``job_id``, so a job that lost the slot changes nothing,
and it stops at its next progress step, before it could activate a model. The owner refreshes
``updated_at`` on each progress step and every ``HEARTBEAT_S`` from a small thread (a fit can run long
between steps); a running job not refreshed for ``STALE_AFTER`` died with its process: the status
reports it failed and the next start takes the slot over. Heartbeats compare the clocks of the
processes, which NTP keeps far closer than ``STALE_AFTER``.
"""

from __future__ import annotations

import logging
import math
import secrets
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, PyMongoError
from sklearn.model_selection import train_test_split

from services.common import read_models
from services.common.errors import ConflictError
from services.promotion_engine import metrics
from services.promotion_engine.catalog import Catalog
from services.promotion_engine.config import PromotionConfig
from services.promotion_engine.errors import TrainingDataError
from services.promotion_engine.features import (
    FEATURE_COLUMNS,
    ORDER_PROJECTION,
    CandidateFacts,
    candidate_vector,
    click_record,
    customer_vector,
    history_before,
    summarize_clicks,
)
from services.promotion_engine.promotions import Promotion
from services.promotion_engine.registry import UpliftModels, version_name
from services.promotion_engine.uplift.errors import UpliftInputError
from services.promotion_engine.uplift.evaluation import auuc, qini_chart_points, qini_coefficient, uplift_at_k
from services.promotion_engine.uplift.learners import make_learner, select_learner

log = logging.getLogger(__name__)

HELD_OUT_FRACTION = 0.3
UPLIFT_AT = 0.3
CURRENT = "current"  # _id of the one document in read_models.PROMOTION_TRAINING
HEARTBEAT_S = 30.0
STALE_AFTER = timedelta(minutes=5)  # ten missed heartbeats: the owner's process is gone, not merely busy
FAILED_STAGE = "failed; the active model is unchanged"
Progress = Callable[[str, float], None]


@dataclass
class TrainingSet:
    X: pd.DataFrame
    treatment: np.ndarray
    outcome: np.ndarray
    skipped: int = 0

    @property
    def counts(self) -> dict[str, int]:
        t, y = self.treatment, self.outcome
        return {
            "rows": int(t.size),
            "treated": int(t.sum()),
            "control": int(t.size - t.sum()),
            "treated_converted": int(y[t == 1].sum()),
            "control_converted": int(y[t == 0].sum()),
            "skipped": self.skipped,
        }


def count_closed_exposures(db: Database, now: datetime, attribution_days: int) -> dict[str, int]:
    """Exposures per arm whose attribution window has closed: what a training run could use."""
    cutoff = now - timedelta(days=attribution_days)
    return {
        arm: db[read_models.EXPOSURES].count_documents({"arm": arm, "occurred_at": {"$lte": cutoff}})
        for arm in ("treatment", "control")
    }


def _grouped(docs, customers: set[str]) -> dict[str, list]:
    by_customer: dict[str, list] = defaultdict(list)
    for doc in docs:
        if doc["customer_id"] in customers:
            by_customer[doc["customer_id"]].append(doc)
    for rows in by_customer.values():
        rows.sort(key=lambda d: d["occurred_at"])
    return by_customer


def _discount_frac(promotion: Promotion | None, price: float) -> float:
    if promotion is None:
        return math.nan
    if price and not math.isnan(price):
        return promotion.discount_per_unit(int(price)) / price
    return {"percent_off": (promotion.discount_pct or 0.0) / 100, "bogo": 0.5}.get(promotion.type, math.nan)


def build_training_set(
    db: Database, catalog: Catalog, now: datetime, attribution_days: int, history_days: int, recent_minutes: int
) -> TrainingSet:
    """Rows, treatment and outcome from exposures with a closed window (see the module docstring)."""
    window, lookback, recent = (
        timedelta(days=attribution_days),
        timedelta(days=history_days),
        timedelta(minutes=recent_minutes),
    )
    first: dict[tuple[str, str], dict] = {}
    for doc in db[read_models.EXPOSURES].find(
        {"occurred_at": {"$lte": now - window}},
        {"customer_id": 1, "promotion_id": 1, "arm": 1, "sku": 1, "occurred_at": 1},
    ):
        key = (doc["customer_id"], doc["promotion_id"])
        if key not in first or doc["occurred_at"] < first[key]["occurred_at"]:
            first[key] = doc
    if not first:
        return TrainingSet(pd.DataFrame(columns=list(FEATURE_COLUMNS)), np.zeros(0, dtype=np.int8), np.zeros(0))
    customers = {c for c, _ in first}
    starts = [doc["occurred_at"] for doc in first.values()]
    orders = _grouped(
        db[read_models.ORDERS].find(
            {"occurred_at": {"$gte": min(starts) - lookback, "$lte": max(starts) + window}}, ORDER_PROJECTION
        ),
        customers,
    )
    order_times = {c: [o["occurred_at"] for o in rows] for c, rows in orders.items()}
    clicks = _grouped(
        db[read_models.CLICKS].find(
            {"occurred_at": {"$gte": min(starts) - recent, "$lt": max(starts)}},
            {"customer_id": 1, "action": 1, "sku": 1, "occurred_at": 1},
        ),
        customers,
    )
    promotions = {doc["_id"]: Promotion.from_doc(doc) for doc in db[read_models.PROMOTIONS].find({})}
    products = catalog.products
    rows, treatment, outcome, skipped = [], [], [], 0
    for (customer_id, promotion_id), exposure in first.items():
        promotion = promotions.get(promotion_id)
        sku = exposure.get("sku") or (promotion.sku if promotion else None)
        if promotion is not None:
            scope = {promotion.sku} if promotion.sku else set(catalog.skus_in(promotion.category or ""))
        elif sku is not None:
            scope = {sku}
        else:
            skipped += 1  # neither the promotion nor the exposure says what was promoted: no outcome to define
            continue
        t0 = exposure["occurred_at"]
        product = products.get(sku) if sku else None
        price = float(product.price_cents) if product else math.nan
        facts = CandidateFacts(
            product.category if product else (promotion.category if promotion else None),
            sku,
            _discount_frac(promotion, price),
            promotion.type if promotion else None,
            bool(promotion and promotion.sku is None),
            price,
            float(product.cost_cents) if product else math.nan,
        )
        customer_orders = orders.get(customer_id, [])
        history = history_before(customer_orders, order_times.get(customer_id, []), t0, lookback, products)
        activity = summarize_clicks(
            click_record(c) for c in clicks.get(customer_id, []) if t0 - recent <= c["occurred_at"] < t0
        )
        converted = any(
            t0 <= o["occurred_at"] <= t0 + window and any(line.get("sku") in scope for line in o.get("lines", ()))
            for o in customer_orders
        )
        rows.append(
            customer_vector(history if history.orders else None, activity, t0)
            + candidate_vector(facts, history, activity)
        )
        treatment.append(1 if exposure["arm"] == "treatment" else 0)
        outcome.append(1.0 if converted else 0.0)
    X = pd.DataFrame(rows, columns=list(FEATURE_COLUMNS), dtype=float)
    return TrainingSet(X, np.asarray(treatment, dtype=np.int8), np.asarray(outcome, dtype=float), skipped)


def _metric(name: str, compute: Callable[[], float]) -> float | None:
    try:
        value = compute()
    except UpliftInputError as exc:
        log.warning("held-out %s is undefined: %s", name, exc)
        return None
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class TrainingStatus:
    state: str = "idle"
    stage: str = "no training has run in this process"
    progress: float = 0.0
    job_id: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    version: str | None = None
    error: str | None = None


class Trainer:
    """Runs one training at a time across every process sharing the database, in a background thread or inline."""

    def __init__(self, db: Database, catalog: Catalog, registry: UpliftModels, config: PromotionConfig) -> None:
        self._db = db
        self._catalog = catalog
        self._registry = registry
        self._config = config
        self._slot = db[read_models.PROMOTION_TRAINING]
        self._thread: threading.Thread | None = None

    @property
    def status(self) -> TrainingStatus:
        """The shared status, whichever process runs the job; a running job whose owner stopped heartbeating reads as
        failed.
        """
        doc = self._slot.find_one({"_id": CURRENT})
        if doc is None:
            return TrainingStatus()
        status = TrainingStatus(**{f.name: doc[f.name] for f in fields(TrainingStatus)})
        if status.state == "running" and doc["updated_at"] < datetime.now(timezone.utc) - STALE_AFTER:
            return replace(
                status,
                state="failed",
                stage="failed; the process running it stopped",
                error=f"no heartbeat from the process running job {status.job_id} since "
                f"{doc['updated_at']:%Y-%m-%d %H:%M:%S}Z; "
                "a new POST /train takes the slot over",
            )
        return status

    def preflight(self, now: datetime) -> dict[str, int]:
        """Refuse at once (``TrainingDataError``) when an arm has no exposure with a closed window."""
        counts = count_closed_exposures(self._db, now, self._config.attribution_days)
        for arm, other in (("treatment", "control"), ("control", "treatment")):
            if counts[arm] == 0:
                raise TrainingDataError(
                    f"cannot train: no {arm} exposures whose {self._config.attribution_days}-day attribution window "
                    "has closed "
                    f"({counts[other]} {other}); an uplift model needs both arms. The active model is unchanged."
                )
        return counts

    def start(self, learner: str, seed: int, wait: bool = False) -> TrainingStatus:
        """Check the data, claim the single training slot, and run (in a thread unless ``wait``, then the final
        status)."""
        now = datetime.now(timezone.utc)
        self.preflight(now)
        job = TrainingStatus("running", "queued", 0.0, secrets.token_hex(4), now)
        self._claim(job)
        if wait:
            return self._run(job, learner, seed)
        self._thread = threading.Thread(
            target=self._run, args=(job, learner, seed), name="uplift-training", daemon=True
        )
        self._thread.start()
        return job

    def join(self, timeout_s: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _claim(self, job: TrainingStatus) -> None:
        """Take the slot, atomically, when no job runs or the running one is stale; ``ConflictError`` otherwise.

        The upsert creates the document for the first job ever. When a live job holds the slot the
        filter matches nothing and the upsert's insert collides on ``_id``, as does the loser of two
        processes racing to create the document: both are ``DuplicateKeyError``.
        """
        free = {
            "_id": CURRENT,
            "$or": [{"state": {"$ne": "running"}}, {"updated_at": {"$lt": job.started_at - STALE_AFTER}}],
        }
        try:
            previous = self._slot.find_one_and_update(free, {"$set": _document(job)}, upsert=True)
        except DuplicateKeyError:
            held = self.status
            raise ConflictError(
                f"training job {held.job_id} is still running ({held.stage}); see GET /train/status"
            ) from None
        if previous is not None and previous["state"] == "running":
            log.warning(
                "training job %s took the slot over from job %s, whose process stopped heartbeating at %s",
                job.job_id,
                previous["job_id"],
                previous["updated_at"],
            )

    def _record(self, status: TrainingStatus) -> bool:
        """Write a job's status and heartbeat; False (and nothing written) when another job has taken the slot."""
        return (
            self._slot.update_one({"_id": CURRENT, "job_id": status.job_id}, {"$set": _document(status)}).matched_count
            == 1
        )

    def _heartbeat(self, job_id: str, stop: threading.Event) -> None:
        """Refresh ``updated_at`` until ``stop``, so a long step between progress reports is not taken for a dead
        process.
        """
        while not stop.wait(HEARTBEAT_S):
            try:
                self._slot.update_one(
                    {"_id": CURRENT, "job_id": job_id}, {"$set": {"updated_at": datetime.now(timezone.utc)}}
                )
            except PyMongoError as exc:
                log.warning(
                    "training job %s: heartbeat not written (%s); trying again in %.0fs", job_id, exc, HEARTBEAT_S
                )

    def _run(self, job: TrainingStatus, learner: str, seed: int) -> TrainingStatus:
        """Train while heartbeating the slot; record and return how the job ended."""
        started = time.perf_counter()
        current = job

        def progress(stage: str, fraction: float) -> None:
            nonlocal current
            current = replace(current, stage=stage, progress=round(fraction, 3))
            if not self._record(current):
                raise ConflictError(
                    f"training job {job.job_id} lost the training slot to another job; stopped before activating a "
                    "model"
                )

        stop = threading.Event()
        heartbeat = threading.Thread(
            target=self._heartbeat, args=(job.job_id, stop), name="uplift-training-heartbeat", daemon=True
        )
        heartbeat.start()
        version: str | None = None
        error: str | None = None
        try:
            version = self.train(learner, seed, progress)
        except (TrainingDataError, UpliftInputError, ConflictError) as exc:
            error = str(exc)
        except Exception as exc:  # a background job has no caller to raise to: record it, log the traceback
            log.exception("training failed")
            error = f"{type(exc).__name__}: {exc}"
        finally:
            stop.set()
            heartbeat.join()
        return self._finish(current, "succeeded" if version is not None else "failed", started, version, error)

    def _finish(
        self, job: TrainingStatus, state: str, started: float, version: str | None = None, error: str | None = None
    ) -> TrainingStatus:
        """Record the end unless another job has taken the slot meanwhile; a store error is logged (the slot goes
        stale).
        """
        metrics.TRAINING_SECONDS.labels(state).observe(time.perf_counter() - started)
        final = replace(
            job,
            state=state,
            stage="done" if state == "succeeded" else FAILED_STAGE,
            progress=1.0 if state == "succeeded" else job.progress,
            finished_at=datetime.now(timezone.utc),
            version=version,
            error=error,
        )
        try:
            if not self._record(final):
                log.warning(
                    "training job %s ended (%s) after another job took the slot over; its end is not recorded",
                    job.job_id,
                    state,
                )
        except PyMongoError as exc:
            log.error(
                "training job %s ended (%s) but its status could not be written (%s); the slot frees itself after %s",
                job.job_id,
                state,
                exc,
                STALE_AFTER,
            )
        return final

    def train(self, learner: str, seed: int, progress: Progress = lambda stage, fraction: None) -> str:
        """Build, split, fit, evaluate, refit, save and activate; returns the new version."""
        now = datetime.now(timezone.utc)
        cfg = self._config
        progress("building the training set", 0.05)
        data = build_training_set(
            self._db, self._catalog, now, cfg.attribution_days, cfg.history_days, cfg.recent_clicks_minutes
        )
        counts = data.counts
        if counts["treated"] == 0 or counts["control"] == 0:
            raise TrainingDataError(
                f"cannot train: the training set has {counts['treated']} treated and {counts['control']} control rows; "
                "an uplift model needs both arms. The active model is unchanged."
            )
        X, t, y = data.X.to_numpy(), data.treatment, data.outcome
        progress("splitting off the held-out rows", 0.15)
        try:
            train_rows, test_rows = train_test_split(
                np.arange(t.size), test_size=HELD_OUT_FRACTION, random_state=seed, stratify=t * 2 + y.astype(np.int8)
            )
        except ValueError as exc:
            raise TrainingDataError(
                f"cannot train: {t.size} rows are too few to hold out {HELD_OUT_FRACTION:.0%} in every arm and "
                f"outcome ({counts})"
            ) from exc
        progress("selecting the learner" if learner == "auto" else f"fitting learner '{learner}'", 0.25)
        if learner == "auto":
            selection = select_learner(X[train_rows], t[train_rows], y[train_rows], seed=seed)
            chosen, evaluated, scores = selection.best, selection.learner, selection.scores
        else:
            chosen, evaluated, scores = (
                learner,
                make_learner(learner, seed).fit(X[train_rows], t[train_rows], y[train_rows]),
                {},
            )
        progress("evaluating on the held-out rows", 0.7)
        y_test, t_test = y[test_rows], t[test_rows]
        uplift = evaluated.predict_uplift(X[test_rows])
        held_out_metrics = {
            "qini": _metric("qini", lambda: qini_coefficient(y_test, t_test, uplift)),
            "auuc": _metric("auuc", lambda: auuc(y_test, t_test, uplift)),
            "uplift_at_30": _metric("uplift@30", lambda: uplift_at_k(y_test, t_test, uplift, UPLIFT_AT)),
        }
        try:
            points = qini_chart_points(y_test, t_test, uplift)
            curve = [
                {"x": x, "model": m, "random": r}
                for x, m, r in zip(points["fraction"], points["model"], points["random"])
            ]
        except UpliftInputError as exc:
            log.warning("no Qini curve for the held-out rows: %s", exc)
            curve = []
        progress("refitting on all rows", 0.8)
        final = make_learner(chosen, seed).fit(X, t, y)
        progress("saving and activating", 0.95)
        version = version_name(now, secrets.token_hex(2))
        doc = {
            "_id": version,
            "version": version,
            "learner": chosen,
            "trained_at": now,
            "metrics": held_out_metrics,
            "qini_curve": curve,
            "selection_scores": scores,
            "rows": counts | {"held_out": int(len(test_rows))},
            "feature_columns": list(FEATURE_COLUMNS),
            "attribution_days": cfg.attribution_days,
            "seed": seed,
        }
        self._registry.register(doc, final, {"y": y_test, "t": t_test, "uplift": uplift})
        qini = held_out_metrics["qini"]
        metrics.MODEL_QINI.set(qini if qini is not None else float("nan"))
        metrics.MODEL_TRAINED_AT.set(now.timestamp())
        log.info("trained %s (%s) on %d rows; held-out metrics %s", version, chosen, t.size, held_out_metrics)
        return version


def _document(status: TrainingStatus) -> dict:
    """The slot document's fields: the status and, as of now, the owner's heartbeat."""
    return asdict(status) | {"updated_at": datetime.now(timezone.utc)}


def qini_of(doc: Mapping) -> float:
    value = (doc.get("metrics") or {}).get("qini")
    return float(value) if value is not None else float("nan")
