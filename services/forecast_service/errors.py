"""Typed errors of the service layer (beside the model core's `errors`), mapped to HTTP in `app`.

Domain modules raise these without knowing about HTTP; `app.install_error_handlers` turns each into
a status code with the message as ``detail``.
"""
from __future__ import annotations


class ServiceError(Exception):
    """Base of the errors the service raises on purpose; ``str()`` is the client-facing reason."""


class UnknownEntityError(ServiceError):
    """A SKU, store or model version the request names does not exist (404)."""

    def __init__(self, field: str, value: str, hint: str = "") -> None:
        super().__init__(f"unknown {field} '{value}'" + (f" ({hint})" if hint else ""))
        self.field = field
        self.value = value


class NoActiveModelError(ServiceError):
    """Nothing to forecast with yet (409): train a model first."""

    def __init__(self) -> None:
        super().__init__("no active forecast model: POST /train first (or activate a version)")


class TrainingInProgressError(ServiceError):
    """A training job is already running (409); one at a time keeps the 2 cores for serving."""


class NotEnoughDataError(ServiceError):
    """The stored sales are too few for what was asked (409); the active model is left as it was."""


class PublishFailedError(ServiceError):
    """Kafka did not acknowledge the events in time (503)."""


class RecordsRejectedError(ServiceError):
    """Records that pass the schema but name unknown things; ``errors`` are FastAPI-style entries (422)."""

    def __init__(self, errors: list[dict]) -> None:
        super().__init__(f"{len(errors)} record field(s) rejected")
        self.errors = errors
