"""Every promotion decision served, recorded twice: as an event and as a frequency counter.

- The ``PromotionExposed`` event goes to Kafka (``EventProducer.publish``, asynchronous: the
  request does not wait for the broker's ack); the data consumer stores it in ``exposures``, which
  experiments and training read.
- The frequency cap cannot wait for that round trip (two quick requests would both pass), so the
  engine keeps its own counters per customer and UTC day in ``promotion_frequency``: one document
  ``{_id: "customer|YYYY-MM-DD", customer_id, day, counts: {promotion_id: serves}}`` (keyed by
  ``_id``, indexed even on mongo-java-server; one document per customer and day rather than per
  promotion, because each serve of k promotions is then one upsert, not k — the counter writes
  were most of the Mongo-protocol server's CPU under load), claimed with an atomic increment so
  concurrent servers can never exceed the cap together. Promotion ids are escaped as field names
  (``.`` and ``%``).
- Before ranking, the cap is pre-checked against this process's memory of today's claims (no
  database read on the request path). Another server's serves are invisible to that pre-check
  until a claim is refused, which then records the promotion as capped here too; the
  recommender simply moves on to its next candidate.
- **Write-behind** (``write_behind=True``, the serving default): the claim is decided on this
  process's counts alone (loaded from today's stored counters at start, ``load_today``), and the
  increments reach the database in one unordered bulk upsert per ``flush_counters`` (every
  ``write_behind_s`` and on shutdown), after which the stored counts of those counters are read
  back: they include every other process's flushed serves. Exact for one process. With several
  processes (``SHELFCAST_PROMOTION_WORKERS``) a process learns of another's serves of a counter it
  has itself served within one flush of both, and of a counter it has not served yet only when it
  first serves it: a customer can get up to ``cap + processes - 1`` serves a day, more only if
  they are served faster than one flush period by several processes at once. Write-through
  (``SHELFCAST_PROMOTION_WRITE_BEHIND_S=0``) is exact across processes.
"""
from __future__ import annotations

import logging
import random
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from uuid import UUID

from pymongo import ReturnDocument, UpdateOne
from pymongo.database import Database

from services.common.bus import EventProducer
from services.common.events import PromotionExposed
from services.promotion_engine import metrics

log = logging.getLogger(__name__)

FREQUENCY = "promotion_frequency"


def counter_id(customer_id: str, promotion_id: str, at: datetime) -> str:
    """This process's key of one counter (customer, promotion, day)."""
    return f"{customer_id}|{promotion_id}|{at:%Y-%m-%d}"


def day_document_id(customer_id: str, day: str) -> str:
    """The stored document holding a customer's counters of one day (``day`` as YYYY-MM-DD)."""
    return f"{customer_id}|{day}"


def _field(promotion_id: str) -> str:
    return "counts." + promotion_id.replace("%", "%25").replace(".", "%2E")


def _counts(doc: dict) -> dict[str, int]:
    """A stored day document's counters by promotion id."""
    return {name.replace("%2E", ".").replace("%25", "%"): int(n) for name, n in (doc.get("counts") or {}).items()}


class ExposureLog:
    def __init__(self, db: Database, producer: EventProducer, write_behind: bool = False) -> None:
        self._counters = db[FREQUENCY]
        self._producer = producer
        self._day = ""
        self._known: dict[str, int] = {}  # counter id -> serves this process knows of today (a lower bound)
        self._lock = threading.Lock()
        self.write_behind = write_behind
        self._ids = random.Random()  # seeded from os.urandom once: uuid4() reads os.urandom per id, measured 0.1-0.4 ms a call here
        self._unsaved: dict[str, tuple[str, str, str, int]] = {}  # write-behind: counter id -> (customer, promotion, day, increments)
        self._flush_lock = threading.Lock()

    def _known_today(self, now: datetime) -> dict[str, int]:
        day = f"{now:%Y-%m-%d}"
        if day != self._day:
            with self._lock:
                if day != self._day:
                    self._day, self._known = day, {}
        return self._known

    def known_today(self, customer_id: str, promotion_ids: Iterable[str], now: datetime) -> dict[str, int]:
        """Serves today per promotion as far as this process knows (missing = 0): the cheap pre-check."""
        known = self._known_today(now)
        if not known:
            return {}
        prefix, day = f"{customer_id}|", f"|{now:%Y-%m-%d}"
        return {pid: known[key] for pid in promotion_ids if (key := prefix + pid + day) in known}

    def served_today(self, customer_id: str, promotion_ids: Iterable[str], now: datetime) -> dict[str, int]:
        """Serves so far today per promotion across all servers (missing = 0), from the stored day document."""
        doc = self._counters.find_one({"_id": day_document_id(customer_id, f"{now:%Y-%m-%d}")}, {"counts": 1})
        counts = _counts(doc) if doc else {}
        return {pid: counts[pid] for pid in promotion_ids if counts.get(pid)}

    def claim(self, customer_id: str, caps: Sequence[tuple[str, int]], now: datetime) -> set[str]:
        """Count one serve of each (promotion, cap) unless the cap is reached; returns the promotions claimed.

        Write-through: every counter is incremented in one ``_id`` upsert of the day document that
        returns the new counts; a promotion above its cap is refused and its increment undone.
        Concurrent claimers each see their own count, so exactly ``cap`` claims succeed. (A
        conditional filter such as ``{_id, counts.P: {$lt: cap}}`` would need no undo, but
        mongo-java-server answers any filter beyond ``_id`` with a collection scan.)
        """
        known = self._known_today(now)
        day = f"{now:%Y-%m-%d}"
        if self.write_behind:
            return self._claim_in_memory(customer_id, caps, now, known, day)
        if not caps:
            return set()
        doc_id = day_document_id(customer_id, day)
        doc = self._counters.find_one_and_update(
            {"_id": doc_id}, {"$inc": {_field(pid): 1 for pid, _ in caps}, "$setOnInsert": {"customer_id": customer_id, "day": day}},
            projection={"counts": 1}, upsert=True, return_document=ReturnDocument.AFTER)
        counts = _counts(doc)
        over = {pid: cap for pid, cap in caps if counts[pid] > cap}
        if over:
            self._counters.update_one({"_id": doc_id}, {"$inc": {_field(pid): -1 for pid in over}})
        with self._lock:
            for pid, cap in caps:
                known[counter_id(customer_id, pid, now)] = min(counts[pid], cap)
        return {pid for pid, _ in caps if pid not in over}

    def _claim_in_memory(self, customer_id: str, caps: Sequence[tuple[str, int]], now: datetime, known: dict[str, int], day: str) -> set[str]:
        claimed: set[str] = set()
        with self._lock:
            for pid, cap in caps:
                key = counter_id(customer_id, pid, now)
                count = known.get(key, 0)
                if count >= cap:
                    continue
                known[key] = count + 1
                increments = self._unsaved[key][3] if key in self._unsaved else 0
                self._unsaved[key] = (customer_id, pid, day, increments + 1)
                claimed.add(pid)
        return claimed

    def load_today(self, now: datetime) -> int:
        """Write-behind: start from today's stored counters (one scan, at start), so a restart keeps the caps."""
        known = self._known_today(now)
        day = f"{now:%Y-%m-%d}"
        docs = list(self._counters.find({"day": day}, {"customer_id": 1, "counts": 1}))
        with self._lock:
            for doc in docs:
                for pid, n in _counts(doc).items():
                    key = counter_id(doc["customer_id"], pid, now)
                    known[key] = max(known.get(key, 0), n)
        return len(docs)

    def flush_counters(self) -> int:
        """Write-behind: send the unsaved increments as one unordered bulk of ``_id`` upserts (one per customer
        and day); returns how many counters."""
        with self._flush_lock:
            with self._lock:
                batch, self._unsaved = self._unsaved, {}
            if not batch:
                return 0
            days: dict[tuple[str, str], dict[str, int]] = {}
            for customer_id, pid, day, n in batch.values():
                days.setdefault((customer_id, day), {})[_field(pid)] = n
            try:
                self._counters.bulk_write([UpdateOne({"_id": day_document_id(c, d)}, {"$inc": increments, "$setOnInsert": {"customer_id": c, "day": d}},
                                                     upsert=True) for (c, d), increments in days.items()], ordered=False)
            except Exception:
                with self._lock:  # retried at the next flush (an unordered bulk may have applied part: that part can count twice)
                    for key, (c, p, d, n) in batch.items():
                        more = self._unsaved[key][3] if key in self._unsaved else 0
                        self._unsaved[key] = (c, p, d, n + more)
                raise
            self._learn_stored_counts([day_document_id(c, d) for c, d in days])
            return len(batch)

    def _learn_stored_counts(self, document_ids: list[str]) -> None:
        """Write-behind: the stored counts of the day documents just written include other processes' flushed
        serves; take them in, so this process refuses what the others already used up (within one flush of theirs)."""
        docs = list(self._counters.find({"_id": {"$in": document_ids}}, {"customer_id": 1, "day": 1, "counts": 1}))
        with self._lock:
            for doc in docs:
                if doc.get("day") != self._day:
                    continue  # a day that has ended meanwhile caps nothing
                for pid, n in _counts(doc).items():
                    key = f"{doc['customer_id']}|{pid}|{doc['day']}"
                    total = n + (self._unsaved[key][3] if key in self._unsaved else 0)
                    if self._known.get(key, 0) < total:
                        self._known[key] = total

    def customer_ids(self) -> set[str]:
        """Customers this process holds serve counts of."""
        with self._lock:
            return {key.split("|", 1)[0] for key in self._known} | {c for c, _, _, _ in self._unsaved.values()}

    def forget(self, customer_id: str) -> int:
        """Drop an erased customer's serve counts from memory (unsaved increments included); returns how many counters."""
        prefix = f"{customer_id}|"
        with self._lock:
            keys = [key for key in {*self._known, *self._unsaved} if key.startswith(prefix)]
            for key in keys:
                self._known.pop(key, None)
                self._unsaved.pop(key, None)
        return len(keys)

    def purge_before(self, day: datetime) -> int:
        """Drop counters of days before ``day`` (they no longer cap anything)."""
        return self._counters.delete_many({"day": {"$lt": f"{day:%Y-%m-%d}"}}).deleted_count

    def publish(self, customer_id: str, promotion_id: str, arm: str, sku: str | None, channel: str, now: datetime) -> None:
        """Send the exposure event without waiting for the broker; a failed delivery is counted and logged."""
        event = PromotionExposed(event_id=UUID(int=self._ids.getrandbits(128), version=4), occurred_at=now, channel=channel,
                                 customer_id=customer_id, promotion_id=promotion_id, arm=arm, sku=sku)
        future = self._producer.publish(event)
        future.add_errback(_delivery_failed, promotion_id)

    def flush(self, timeout_s: float = 10.0) -> None:
        self._producer.flush(timeout_s)


def _delivery_failed(promotion_id: str, exc: BaseException) -> None:
    metrics.EXPOSURE_PUBLISH_FAILURES.inc()
    log.error("exposure of %s could not be published: %s", promotion_id, exc)


def day_floor(now: datetime, days_back: int) -> datetime:
    return (now - timedelta(days=days_back)).replace(hour=0, minute=0, second=0, microsecond=0)
