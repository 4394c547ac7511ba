"""Model versions: files under ``<data_dir>/models/forecast/<version>`` and one document each in
MongoDB's ``forecast_models``.

The active version is the one activated last (highest ``activation_seq``, a nanosecond clock):
activating is a single-document write, so two processes can never leave two "active" flags behind,
and every API process finds the same active version by asking MongoDB.
"""
from __future__ import annotations

import shutil
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pymongo import DESCENDING
from pymongo.database import Database

from services.forecast_service.model.forecaster import DemandForecaster
from services.forecast_service.errors import UnknownEntityError

COLLECTION = "forecast_models"
METRIC_NAMES = ("smape", "wape", "mase", "coverage", "baseline_smape")


def new_version(now: datetime | None = None) -> str:
    """Sortable, unique: ``20260302T090000Z-1a2b3c``."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{uuid.uuid4().hex[:6]}"


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


class ModelRegistry:
    """Saves, lists, activates and loads forecaster versions."""

    def __init__(self, db: Database, root: Path) -> None:
        self._collection = db[COLLECTION]
        self.root = Path(root)

    def path_of(self, version: str) -> Path:
        return self.root / version

    def register(self, model: DemandForecaster, info: dict[str, Any], version: str | None = None) -> dict[str, Any]:
        """Write the model's files (atomically, via a temp folder) and its document; not activated."""
        version = version or new_version()
        final = self.path_of(version)
        staging = self.root / f".{version}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        model.save(staging)
        staging.rename(final)
        doc = {
            "_id": version,
            "version": version,
            "created_at": datetime.now(timezone.utc),
            "trained_until": model.trained_until.date().isoformat() if model.trained_until is not None else None,
            "history_end": model.history_end.date().isoformat(),
            "series": int(len(model.series_keys)),
            "max_horizon": model.max_horizon,
            "path": str(final),
            "activation_seq": None,
            "activated_at": None,
            **info,
        }
        self._collection.insert_one(doc)
        return doc

    def get(self, version: str) -> dict[str, Any]:
        doc = self._collection.find_one({"_id": version})
        if doc is None:
            raise UnknownEntityError("model version", version)
        return doc

    def versions(self) -> list[dict[str, Any]]:
        """Every version, newest first, each with ``active`` set."""
        active = self.active()
        docs = sorted(self._collection.find({}), key=lambda d: d["created_at"], reverse=True)
        for doc in docs:
            doc["active"] = active is not None and doc["_id"] == active["_id"]
        return docs

    def active(self) -> dict[str, Any] | None:
        cursor = self._collection.find({"activation_seq": {"$gt": 0}}).sort("activation_seq", DESCENDING).limit(1)
        return next(iter(cursor), None)

    def activate(self, version: str) -> dict[str, Any]:
        """Make ``version`` the active one; UnknownEntityError if it does not exist or its files are gone."""
        doc = self.get(version)
        if not (self.path_of(version) / "metadata.json").is_file():
            raise UnknownEntityError("model version", version, f"its files are missing under {self.path_of(version)}")
        now = datetime.now(timezone.utc)
        self._collection.update_one({"_id": version}, {"$set": {"activation_seq": time.time_ns(), "activated_at": now}})
        doc["activated_at"] = now
        return doc

    def load(self, version: str) -> DemandForecaster:
        return DemandForecaster.load(self.path_of(version))
