"""The global filters (date range, channel, region, category) and the MongoDB matches they imply.

The app shell keeps them in a ``dcc.Store`` as plain JSON; every page turns that into ``Filters``
so pages agree on what "the selected period" means, including the previous period KPIs compare to.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

DEFAULT_DAYS = 30
CHANNELS = ("online", "store", "marketplace")


@dataclass(frozen=True)
class Filters:
    """An inclusive day range plus optional dimension filters (empty tuple = everything)."""

    start: date
    end: date
    channels: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    @classmethod
    def from_store(cls, data: dict[str, Any] | None, latest_day: date) -> Filters:
        """From the shell's store; missing dates mean the last ``DEFAULT_DAYS`` days that have data."""
        data = data or {}
        end = _parse_day(data.get("end")) or latest_day
        start = _parse_day(data.get("start")) or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            start, end = end, start
        return cls(
            start, end, _tuple(data.get("channels")), _tuple(data.get("regions")), _tuple(data.get("categories"))
        )

    def to_store(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "channels": list(self.channels),
            "regions": list(self.regions),
            "categories": list(self.categories),
        }

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Filters:
        """The period of equal length just before this one, same dimension filters."""
        return replace(self, start=self.start - timedelta(days=self.days), end=self.start - timedelta(days=1))

    def day_match(self) -> dict[str, Any]:
        return {"day": {"$gte": self.start.isoformat(), "$lte": self.end.isoformat()}}

    def time_match(self, field: str) -> dict[str, Any]:
        """A datetime range over whole UTC days, for collections stamped with a time rather than a day."""
        lo = datetime.combine(self.start, time.min, tzinfo=timezone.utc)
        hi = datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=timezone.utc)
        return {field: {"$gte": lo, "$lt": hi}}

    def order_match(self, category_skus: list[str] | None) -> dict[str, Any]:
        """Orders have channel and region but no category: the category filter becomes "has a line of those SKUs"."""
        match = self.day_match()
        if self.channels:
            match["channel"] = {"$in": list(self.channels)}
        if self.regions:
            match["region"] = {"$in": list(self.regions)}
        if category_skus is not None:
            match["lines.sku"] = {"$in": category_skus}
        return match


def _parse_day(value: object) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _tuple(values: object) -> tuple[str, ...]:
    if not values:
        return ()
    if isinstance(values, str):
        return (values,)
    return tuple(sorted(str(v) for v in values))  # type: ignore[union-attr]
