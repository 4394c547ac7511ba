"""The one error every channel adapter raises for input it cannot turn into events."""

from __future__ import annotations

from pydantic import ValidationError


class AdapterError(ValueError):
    """A native payload is malformed; the message names the channel, the field and what was wrong.

    Messages never quote customer identifiers, so they are safe to log and to dead-letter.
    """

    def __init__(self, channel: str, message: str) -> None:
        super().__init__(f"{channel}: {message}")
        self.channel = channel


def describe_validation_error(exc: ValidationError) -> str:
    """The first schema violation as ``field: message`` (pydantic's own text is multi-line)."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or "event"
    return f"{field}: {first['msg']}"
