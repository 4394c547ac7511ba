"""Typed errors of the promotion engine's serving side (beside the uplift core's ``uplift/errors.py``).

The engine raises the shared ``services.common.errors`` (NotFoundError, ConflictError,
InvalidFieldError) where they fit; what is its own is here.
"""

from __future__ import annotations

from services.common.errors import ConflictError


class TrainingDataError(ConflictError):
    """The exposures and outcomes cannot train a model (an arm is empty, too few rows)."""
