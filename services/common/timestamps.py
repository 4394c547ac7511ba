"""Turning a caller's timestamp into UTC, or a ``ValueError`` that validators report as a 4xx / dead letter."""

from __future__ import annotations

from datetime import datetime, timezone


def to_utc(value: datetime, field: str) -> datetime:
    """Naive times are ambiguous across stores in different zones, so they are refused; year 1 at
    +14:00 or 9999 at -14:00 has no UTC equivalent (``astimezone`` raises ``OverflowError``, which
    pydantic would let escape as a 500 or a consumer crash)."""
    if value.tzinfo is None:
        raise ValueError(f"{field} must carry a timezone (UTC offset, e.g. 2026-03-01T00:00:00Z)")
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError(f"{field} is out of range in UTC") from None
