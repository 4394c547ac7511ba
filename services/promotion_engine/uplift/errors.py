"""Typed errors of the uplift core, so the CLI and the HTTP edge can map them to exit 2 / 4xx."""


class UpliftError(Exception):
    """Base of every error the uplift core raises on purpose."""


class UpliftInputError(UpliftError, ValueError):
    """The caller's data cannot be used as given; the message names the column or file at fault."""


class UpliftModelError(UpliftError):
    """A learner is used before fitting, or a saved learner cannot be read back."""
