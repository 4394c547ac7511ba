"""The uplift model that serves: versions kept by the shared ``ModelRegistry``, the active one held in memory.

A version's folder holds the learner (``UpliftLearner.save`` format, under ``learner/``) and the
held-out outcomes its metrics and Qini PNG were computed on. Every process follows the service's
active pointer (``refresh``) and swaps its in-memory learner when it moves; a failed training
never moves it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from pymongo.database import Database

from services.common.errors import NotFoundError
from services.common.model_registry import ModelRegistry
from services.promotion_engine.uplift.errors import UpliftModelError
from services.promotion_engine.uplift.learners import UpliftLearner, load_learner

log = logging.getLogger(__name__)

SERVICE = "promotions"
LEARNER_FOLDER = "learner"
HELD_OUT_FILE = "held_out.npz"


@dataclass(frozen=True)
class ActiveModel:
    version: str
    learner: UpliftLearner
    feature_columns: tuple[str, ...]


def for_serving(learner: UpliftLearner) -> UpliftLearner:
    """One thread per booster at prediction time: a request scores a few hundred rows, and many
    request threads predict at once — OpenMP teams per call would only oversubscribe the cores."""
    for model in learner.models_.values():
        model.set_params(n_jobs=1)
    return learner


def _save(trained: tuple[UpliftLearner, dict[str, np.ndarray]], folder: Path) -> None:
    learner, held_out = trained
    learner.save(folder / LEARNER_FOLDER)
    np.savez_compressed(folder / HELD_OUT_FILE, **held_out)


def _load(folder: Path) -> UpliftLearner:
    return for_serving(load_learner(folder / LEARNER_FOLDER))


class UpliftModels:
    """The engine's view of its model versions: register, follow the active one, read its held-out data."""

    def __init__(self, db: Database, models_dir: Path) -> None:
        self.store: ModelRegistry[UpliftLearner] = ModelRegistry(db, SERVICE, models_dir, save=_save, load=_load)
        self._model: ActiveModel | None = None
        self._lock = threading.Lock()

    @property
    def active(self) -> ActiveModel | None:
        return self._model

    def refresh(self) -> ActiveModel | None:
        """Follow the active pointer: load the learner when it names a version other than the loaded one."""
        doc = self.store.active()
        if doc is None or (self._model is not None and self._model.version == doc["_id"]):
            return self._model
        try:
            learner = self.store.load(doc["_id"])
        except UpliftModelError as exc:
            log.error(
                "active model %s cannot be loaded (%s); keeping %s",
                doc["_id"],
                exc,
                self._model and self._model.version,
            )
            return self._model
        with self._lock:
            self._model = ActiveModel(doc["_id"], learner, tuple(doc["feature_columns"]))
        log.info("serving uplift model %s (%s)", doc["_id"], doc.get("learner"))
        return self._model

    def register(
        self, doc: dict, learner: UpliftLearner, held_out: dict[str, np.ndarray], activate: bool = True
    ) -> None:
        """Write the files, then the version document, then (last) move the active pointer."""
        self.store.register((learner, held_out), doc, activate=activate)
        if activate:
            with self._lock:
                self._model = ActiveModel(doc["_id"], for_serving(learner), tuple(doc["feature_columns"]))

    def active_document(self) -> dict:
        doc = self.store.active()
        if doc is None:
            raise NotFoundError("no active promotion model yet; POST /train to train one")
        return doc

    def held_out(self, version: str) -> dict[str, np.ndarray]:
        try:
            with np.load(self.store.path_of(version) / HELD_OUT_FILE) as data:
                return {name: data[name] for name in data.files}
        except OSError:
            raise NotFoundError(f"the held-out data of model {version} is not on this server's disk") from None

    def versions(self, limit: int) -> list[dict]:
        return self.store.versions(limit, projection={"qini_curve": 0})


def version_name(at: datetime, token: str) -> str:
    return f"promo-{at:%Y%m%dT%H%M%SZ}-{token}"
