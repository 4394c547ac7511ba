"""Trained uplift models: version documents in MongoDB, files on disk, and the one that serves.

``model_versions`` holds one document per trained version (``service: "promotions"``, metrics,
Qini curve points, row counts, feature columns); the learner's files live under
``<data_dir>/models/promotions/<version>/`` (``UpliftLearner.save`` format, plus the held-out
outcomes for the Qini PNG). ``active_models`` has one pointer document per service, so switching
versions is a single-document write; every process follows it (``refresh``), and a failed
training never touches it.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from pymongo.database import Database

from services.promotion_engine.uplift.errors import UpliftModelError
from services.promotion_engine.errors import NotFound
from services.promotion_engine.uplift.learners import UpliftLearner, load_learner

log = logging.getLogger(__name__)

VERSIONS = "model_versions"
ACTIVE = "active_models"
SERVICE = "promotions"
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


class ModelRegistry:
    def __init__(self, db: Database, models_dir: Path) -> None:
        self._versions = db[VERSIONS]
        self._active = db[ACTIVE]
        self.models_dir = models_dir
        self._model: ActiveModel | None = None
        self._lock = threading.Lock()

    def path_of(self, version: str) -> Path:
        return self.models_dir / version

    @property
    def active(self) -> ActiveModel | None:
        return self._model

    def refresh(self) -> ActiveModel | None:
        """Follow the active pointer: load the learner when it names a version other than the loaded one."""
        pointer = self._active.find_one({"_id": SERVICE})
        version = pointer.get("version") if pointer else None
        if version is None or (self._model is not None and self._model.version == version):
            return self._model
        doc = self._versions.find_one({"_id": version})
        if doc is None:
            log.error("active model %s has no version document; keeping %s", version, self._model and self._model.version)
            return self._model
        try:
            learner = for_serving(load_learner(self.path_of(version) / "learner"))
        except UpliftModelError as exc:
            log.error("active model %s cannot be loaded (%s); keeping %s", version, exc, self._model and self._model.version)
            return self._model
        with self._lock:
            self._model = ActiveModel(version, learner, tuple(doc["feature_columns"]))
        log.info("serving uplift model %s (%s)", version, doc.get("learner"))
        return self._model

    def register(self, doc: dict, learner: UpliftLearner, held_out: dict[str, np.ndarray], activate: bool = True) -> None:
        """Write the files, then the version document, then (last) move the active pointer."""
        version = doc["_id"]
        folder = self.path_of(version)
        learner.save(folder / "learner")
        np.savez_compressed(folder / HELD_OUT_FILE, **held_out)
        self._versions.insert_one({**doc, "service": SERVICE, "path": str(folder)})
        if activate:
            self._active.replace_one({"_id": SERVICE}, {"_id": SERVICE, "version": version, "activated_at": doc["trained_at"]}, upsert=True)
            with self._lock:
                self._model = ActiveModel(version, for_serving(learner), tuple(doc["feature_columns"]))

    def active_document(self) -> dict:
        pointer = self._active.find_one({"_id": SERVICE})
        doc = self._versions.find_one({"_id": pointer["version"]}) if pointer else None
        if doc is None:
            raise NotFound("no active promotion model yet; POST /train to train one")
        return doc

    def held_out(self, version: str) -> dict[str, np.ndarray]:
        try:
            with np.load(self.path_of(version) / HELD_OUT_FILE) as data:
                return {name: data[name] for name in data.files}
        except OSError:
            raise NotFound(f"the held-out data of model {version} is not on this server's disk") from None

    def versions(self, limit: int) -> list[dict]:
        return list(self._versions.find({"service": SERVICE}, {"qini_curve": 0}).sort("trained_at", -1).limit(limit))


def version_name(at: datetime, token: str) -> str:
    return f"promo-{at:%Y%m%dT%H%M%SZ}-{token}"
