"""Trained model versions of one service: files on disk, a document each in MongoDB, one active pointer.

Both services keep their models this way. A version's files live under ``<root>/<version>/``
(written into a staging folder and renamed, so a half-written version never appears), its document
in ``model_versions`` (``service`` tells whose), and ``active_models`` holds one pointer document
per service: activating is a single-document write, so two processes can never leave two active
versions behind, and every process finds the same one by asking MongoDB. A failed training never
touches the pointer.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Generic, TypeVar

from pymongo import DESCENDING
from pymongo.database import Database

from services.common import read_models
from services.common.errors import NotFoundError

Model = TypeVar("Model")


def new_version(prefix: str = "", now: datetime | None = None) -> str:
    """Sortable and unique: ``<prefix>20260302T090000Z-1a2b3c``."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    return f"{prefix}{stamp}-{uuid.uuid4().hex[:6]}"


class ModelRegistry(Generic[Model]):
    """Saves, lists, activates and loads the versions of one service's model.

    ``save(model, folder)`` writes a model's files into an existing folder; ``load(folder)`` reads
    them back, raising what the model's own format raises when they are unusable.
    """

    def __init__(
        self, db: Database, service: str, root: Path, save: Callable[[Any, Path], None], load: Callable[[Path], Model]
    ) -> None:
        self.service = service
        self.root = Path(root)
        self._versions = db[read_models.MODEL_VERSIONS]
        self._pointers = db[read_models.ACTIVE_MODELS]
        self._save = save
        self._load = load

    def path_of(self, version: str) -> Path:
        return self.root / version

    def register(self, model: Any, doc: dict[str, Any], activate: bool = False) -> dict[str, Any]:
        """Write the files, then the version document (``doc`` with ``_id`` set), then, if asked, the pointer."""
        version = doc.get("_id") or new_version()
        final, staging = self.path_of(version), self.root / f".{version}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        self._save(model, staging)
        staging.rename(final)
        doc = {
            **doc,
            "_id": version,
            "version": version,
            "service": self.service,
            "path": str(final),
            "created_at": doc.get("created_at") or datetime.now(timezone.utc),
            "activated_at": None,
        }
        self._versions.insert_one(doc)
        return self.activate(version) if activate else doc

    def get(self, version: str) -> dict[str, Any]:
        doc = self._versions.find_one({"_id": version, "service": self.service})
        if doc is None:
            raise NotFoundError(f"unknown model version '{version}'")
        return doc

    def active_version(self) -> str | None:
        pointer = self._pointers.find_one({"_id": self.service})
        return pointer.get("version") if pointer else None

    def active(self) -> dict[str, Any] | None:
        """The active version's document, or None before the first activation."""
        version = self.active_version()
        return self._versions.find_one({"_id": version}) if version else None

    def versions(self, limit: int = 0, projection: dict[str, int] | None = None) -> list[dict[str, Any]]:
        """Newest first (all when ``limit`` is 0), each with ``active`` set."""
        active = self.active_version()
        cursor = self._versions.find({"service": self.service}, projection).sort("created_at", DESCENDING).limit(limit)
        return [doc | {"active": doc["_id"] == active} for doc in cursor]

    def activate(self, version: str) -> dict[str, Any]:
        """Point the service at ``version``; NotFoundError if it does not exist or its files are gone."""
        doc = self.get(version)
        if not self.path_of(version).is_dir():
            raise NotFoundError(f"model version '{version}' has no files under {self.path_of(version)}")
        now = datetime.now(timezone.utc)
        self._versions.update_one({"_id": version}, {"$set": {"activated_at": now}})
        self._pointers.replace_one(
            {"_id": self.service}, {"_id": self.service, "version": version, "activated_at": now}, upsert=True
        )
        return doc | {"activated_at": now, "active": True}

    def load(self, version: str) -> Model:
        return self._load(self.path_of(version))
