"""Errors a service raises on purpose, each carrying the HTTP status it means.

Domain modules raise them without knowing about HTTP; ``http_errors.install_error_handlers`` turns
every one into its status with ``detail()`` as the body, the same way in every API. A service's own
errors (its ``errors.py``) subclass these; a model core's errors (``model/errors.py``,
``uplift/errors.py``) do not, because the CLI uses those cores without any server.
"""

from __future__ import annotations

from typing import ClassVar


class ServiceError(Exception):
    """Base of the errors services raise on purpose; ``str()`` is the client-facing reason."""

    status_code: ClassVar[int] = 400

    def detail(self) -> object:
        return str(self)


class NotFoundError(ServiceError):
    """The named thing (SKU, store, promotion, model version) does not exist."""

    status_code = 404


class ConflictError(ServiceError):
    """The request is valid but clashes with the current state (duplicate id, training already running)."""

    status_code = 409


class InvalidFieldError(ServiceError):
    """One field of a request is unusable for a reason a schema cannot know (unknown SKU, amount above price).

    ``field`` is the field's name as the client sent it and ``location`` where it was sent
    (``body``, ``query``, ``path``), so the answer points at it as FastAPI's own 422s do.
    """

    status_code = 422

    def __init__(self, field: str, message: str, location: str = "body") -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.location = location

    def detail(self) -> object:
        return [{"type": "value_error", "loc": [self.location, self.field], "msg": self.message}]


class UnavailableError(ServiceError):
    """Something the request needs (Kafka, MongoDB, a model) is not answering; retrying later may work."""

    status_code = 503
