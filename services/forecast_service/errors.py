"""Typed errors of the forecast service (beside the model core's ``model/errors.py``); each carries its HTTP status."""

from __future__ import annotations

from services.common.errors import ConflictError, NotFoundError, ServiceError, UnavailableError


class UnknownEntityError(NotFoundError):
    """A SKU, store or model version the request names does not exist."""

    def __init__(self, field: str, value: str, hint: str = "") -> None:
        super().__init__(f"unknown {field} '{value}'" + (f" ({hint})" if hint else ""))
        self.field = field
        self.value = value


class NoActiveModelError(ConflictError):
    """Nothing to forecast with yet: train a model first."""

    def __init__(self) -> None:
        super().__init__("no active forecast model: POST /train first (or activate a version)")


class TrainingInProgressError(ConflictError):
    """A training job is already running; one at a time keeps the 2 cores for serving."""


class NotEnoughDataError(ConflictError):
    """The stored sales are too few for what was asked; the active model is left as it was."""


class PublishFailedError(UnavailableError):
    """Kafka did not acknowledge the events in time."""


class RecordsRejectedError(ServiceError):
    """Records that pass the schema but name unknown things; ``errors`` are FastAPI-style entries."""

    status_code = 422

    def __init__(self, errors: list[dict]) -> None:
        super().__init__(f"{len(errors)} record field(s) rejected")
        self.errors = errors

    def detail(self) -> object:
        return self.errors
