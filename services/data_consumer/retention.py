"""Retention of raw clicks: delete clicks older than ``SHELFCAST_CLICK_RETENTION_DAYS``.

On a real MongoDB the TTL index from ``store.ensure_indexes`` already expires them. The embedded
mongo-java-server accepts that index but never expires anything (checked: a click an hour past a
1-second TTL was still there after 130 s), so the consumer also purges on a timer, which holds on
both. The purge is one ``delete_many`` on ``occurred_at`` (a collection scan on mongo-java-server,
hence only every ``PURGE_EVERY_S``). Clicks are judged by when they happened, not when they were
stored, so a replay of old clicks is purged too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from pymongo.database import Database
from pymongo.errors import PyMongoError

from services.common import read_models

log = logging.getLogger(__name__)
PURGE_EVERY_S = 600.0


def purge_expired_clicks(db: Database, retention_days: int, now: datetime | None = None) -> int:
    """Delete clicks that happened more than ``retention_days`` before ``now``; returns how many went."""
    cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=retention_days)
    return db[read_models.CLICKS].delete_many({"occurred_at": {"$lt": cutoff}}).deleted_count


class ClickRetention:
    """Runs ``purge_expired_clicks`` at most every ``every_s`` (the first call purges); 0 days turns it off."""

    def __init__(
        self,
        db: Database,
        retention_days: int,
        every_s: float = PURGE_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self.retention_days = retention_days
        self._every_s = every_s
        self._clock = clock
        self._last: float | None = None

    def maybe_purge(self) -> int | None:
        """Purge if due; returns the number deleted, or None when not due, off, or the store failed (retried next
        time)."""
        if self.retention_days <= 0 or (self._last is not None and self._clock() - self._last < self._every_s):
            return None
        self._last = self._clock()
        try:
            deleted = purge_expired_clicks(self._db, self.retention_days)
        except PyMongoError as exc:
            log.warning("click retention purge failed (retrying in %.0fs): %s", self._every_s, exc)
            return None
        if deleted:
            log.info("click retention: deleted %d clicks older than %d days", deleted, self.retention_days)
        return deleted
