"""Typed errors of the serving side (promotions, recommendations, experiments, training).

Domain modules raise these and know nothing of HTTP; ``app.py`` maps each class to one status
code. The uplift core's own errors live in ``errors.py`` (``UpliftInputError`` and friends).
"""
from __future__ import annotations


class PromotionEngineError(Exception):
    """Base of every error the serving side raises on purpose; ``str()`` is the user-facing reason."""


class NotFound(PromotionEngineError):
    """The named thing (promotion, model version) does not exist: 404."""


class Conflict(PromotionEngineError):
    """The request is valid but clashes with the current state (duplicate id, training already running): 409."""


class InvalidField(PromotionEngineError):
    """One field of a request is unusable for a reason a schema cannot know (unknown SKU, amount above price): 422.

    ``field`` is the field's name as the client sent it and ``location`` where it was sent
    (``body``, ``query``, ``path``), so the answer can point at it as FastAPI's own 422s do.
    """

    def __init__(self, field: str, message: str, location: str = "body") -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.location = location


class TrainingDataError(PromotionEngineError):
    """The exposures and outcomes cannot train a model (an arm is empty, too few rows): 409."""
