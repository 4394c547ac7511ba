"""Typed errors of the forecast core, mapped to HTTP 4xx or CLI exit code 2 at the edge."""


class ForecastError(Exception):
    """Base of every error the forecast core raises on purpose."""


class ForecastInputError(ForecastError, ValueError):
    """The caller's data or arguments are wrong; the message names the column or argument."""


class InsufficientHistoryError(ForecastError):
    """There is too little history to fit, backtest or forecast what was asked."""
