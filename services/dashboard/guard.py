"""Keeping pages alive when MongoDB is not: a callback that hits a database error leaves its outputs
as they were and raises the shell's database banner instead of failing with a traceback."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from dash import callback_context, no_update, set_props
from pymongo.errors import PyMongoError

from services.dashboard.components import alert_banner

log = logging.getLogger(__name__)
DB_BANNER_ID = "db-banner"
F = TypeVar("F", bound=Callable[..., Any])


def db_guarded(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PyMongoError as exc:
            log.warning("%s: database unavailable: %s", func.__name__, exc)
            set_props(
                DB_BANNER_ID,
                {"children": alert_banner(f"Database unavailable, showing the last figures: {exc}", "error")},
            )
            outputs = callback_context.outputs_list
            return [no_update] * len(outputs) if isinstance(outputs, list) else no_update

    return wrapper  # type: ignore[return-value]


def layout_guarded(func: F) -> F:
    """For page layouts that read options from MongoDB: a banner instead of an empty page when it is down."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PyMongoError as exc:
            log.warning("%s: database unavailable: %s", func.__module__, exc)
            return alert_banner(f"Database unavailable, this page cannot load its options: {exc}", "error")

    return wrapper  # type: ignore[return-value]
