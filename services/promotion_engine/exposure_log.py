"""Every promotion decision served, recorded twice: as an event and as a frequency counter.

- The ``PromotionExposed`` event goes to Kafka (``events.exposure_to_bytes``, asynchronous: the
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
  process's counts alone (loaded at start from today's day documents and journal, ``load_today``).
  Every ``flush_counters`` (every ``write_behind_s`` and on shutdown) writes the increments since
  the last one as **one journal document** in ``promotion_frequency_journal``
  (``{_id: "writer|seq", writer, at, serves: [{customer_id, promotion_id, day, n}]}``) and reads the
  other processes' journal documents it has not seen yet (listed by ``at`` over the last
  ``JOURNAL_LOOKBACK_S``): one insert and two small reads per flush, however many customers were
  served. (Writing each customer's day document and reading it back per flush was one upsert and
  one read per customer served, and on a 2-core box hosting the store those bursts were what
  pushed the recommendation p99 from ~23 ms to ~45 ms: README "API latency".) Each process folds
  its own journal into the day documents later (``FOLD_AFTER_S``), collapsed per customer and
  spread over flushes (``FOLD_CHUNK`` upserts each), then deletes the folded journal documents.
  Exact for one process. With several processes (``SHELFCAST_PROMOTION_WORKERS``) a process learns
  of another's serves within one flush of both, so a customer can get up to
  ``cap + processes - 1`` serves a day, more only if served faster than one flush period by
  several processes at once (or by a process that stalled longer than ``JOURNAL_LOOKBACK_S``). A
  process killed before folding leaves its journal documents: they still count (``load_today``
  reads them) until the day ends; one killed mid-fold may count that part twice (stricter, never
  looser). Write-through (``SHELFCAST_PROMOTION_WRITE_BEHIND_S=0``) is exact across processes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from uuid import UUID

from pymongo import ReturnDocument, UpdateOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.common import read_models
from services.common.bus import EventProducer
from services.common.events import exposure_to_bytes
from services.promotion_engine import metrics

log = logging.getLogger(__name__)

JOURNAL_LOOKBACK_S = (
    10.0  # others' journal documents are listed this far back (slow inserts, small clock skew); none is folded sooner
)
# own journal documents are folded into the day documents once the oldest is this old (a customer served often: one
# upsert)
FOLD_AFTER_S = 30.0
FOLD_CHUNK = 200  # day-document upserts per flush while folding: the store's work spread, not one burst


def utc_day(at: datetime) -> str:
    """``at``'s day as YYYY-MM-DD (``at`` in UTC); ``date().isoformat()`` costs an eighth of ``strftime``, and this runs
    several times a request."""
    return at.date().isoformat()


def counter_id(customer_id: str, promotion_id: str, day: str) -> str:
    """This process's key of one counter (customer, promotion, day as YYYY-MM-DD)."""
    return f"{customer_id}|{promotion_id}|{day}"


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
        self._counters = db[read_models.PROMOTION_FREQUENCY]
        self._journal = db[read_models.PROMOTION_FREQUENCY_JOURNAL]
        self._producer = producer
        self._day = ""
        self._known: dict[str, int] = {}  # counter id -> serves this process knows of today (a lower bound)
        self._lock = threading.Lock()
        self.write_behind = write_behind
        self._ids = (
            random.Random()
        )  # seeded from os.urandom once: uuid4() reads os.urandom per id, measured 0.1-0.4 ms a call here
        self._unsaved: dict[
            str, tuple[str, str, str, int]
        ] = {}  # write-behind: counter id -> (customer, promotion, day, increments)
        self._flush_lock = threading.RLock()  # reentrant: ``writes_held`` wraps a flush
        self._writer = f"{os.uname().nodename}:{os.getpid()}:{self._ids.getrandbits(32):08x}"
        self._seq = 0
        self._unwritten: tuple[dict, dict[str, tuple[str, str, str, int]]] | None = (
            None  # a journal document whose insert failed
        )
        # (and its serves): retried as is, same _id, so never counted twice
        self._unfolded: list[
            tuple[str, datetime, dict[str, tuple[str, str, str, int]]]
        ] = []  # own journal: (_id, at, serves)
        self._folding: tuple[list[str], list[tuple[str, str, dict[str, int]]]] | None = (
            None  # journal ids, upserts left
        )
        self._seen: dict[str, datetime] = {}  # journal documents counted (own and others'), until out of the lookback

    def _known_today(self, now: datetime) -> dict[str, int]:
        day = utc_day(now)
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
        prefix, day = f"{customer_id}|", f"|{utc_day(now)}"
        return {pid: known[key] for pid in promotion_ids if (key := prefix + pid + day) in known}

    def served_today(self, customer_id: str, promotion_ids: Iterable[str], now: datetime) -> dict[str, int]:
        """Serves so far today per promotion across all servers (missing = 0), as stored: the day document plus the
        journal's entries not folded into it yet (a scan of the journal: for checks, not for requests)."""
        day = utc_day(now)
        doc = self._counters.find_one({"_id": day_document_id(customer_id, day)}, {"counts": 1})
        counts = _counts(doc) if doc else {}
        for entry in self._journal.find({"serves.customer_id": customer_id}, {"serves": 1}):
            for serve in entry["serves"]:
                if serve["customer_id"] == customer_id and serve["day"] == day:
                    counts[serve["promotion_id"]] = counts.get(serve["promotion_id"], 0) + serve["n"]
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
        day = utc_day(now)
        if self.write_behind:
            return self._claim_in_memory(customer_id, caps, known, day)
        if not caps:
            return set()
        doc_id = day_document_id(customer_id, day)
        doc = self._counters.find_one_and_update(
            {"_id": doc_id},
            {"$inc": {_field(pid): 1 for pid, _ in caps}, "$setOnInsert": {"customer_id": customer_id, "day": day}},
            projection={"counts": 1},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        counts = _counts(doc)
        over = {pid: cap for pid, cap in caps if counts[pid] > cap}
        if over:
            self._counters.update_one({"_id": doc_id}, {"$inc": {_field(pid): -1 for pid in over}})
        with self._lock:
            for pid, cap in caps:
                known[counter_id(customer_id, pid, day)] = min(counts[pid], cap)
        return {pid for pid, _ in caps if pid not in over}

    def _claim_in_memory(
        self, customer_id: str, caps: Sequence[tuple[str, int]], known: dict[str, int], day: str
    ) -> set[str]:
        claimed: set[str] = set()
        with self._lock:
            for pid, cap in caps:
                key = counter_id(customer_id, pid, day)
                count = known.get(key, 0)
                if count >= cap:
                    continue
                known[key] = count + 1
                increments = self._unsaved[key][3] if key in self._unsaved else 0
                self._unsaved[key] = (customer_id, pid, day, increments + 1)
                claimed.add(pid)
        return claimed

    def load_today(self, now: datetime) -> int:
        """Write-behind: start from today's stored counters, day documents and journal (scans, at start), so a restart
        keeps the caps; returns how many customers."""
        known = self._known_today(now)
        day = utc_day(now)
        docs = list(self._counters.find({"day": day}, {"customer_id": 1, "counts": 1}))
        journal = list(self._journal.find({}, {"at": 1, "serves": 1}))
        with self._lock:
            for doc in docs:
                for pid, n in _counts(doc).items():
                    key = counter_id(doc["customer_id"], pid, day)
                    known[key] = max(known.get(key, 0), n)
            self._take_in(journal)
        return len(docs)

    def flush_counters(self) -> int:
        """Write-behind: the increments since the last flush as one journal document, then the other processes'
        new journal documents taken in, then a chunk of folding (module docstring); returns how many counters."""
        if not self.write_behind:
            return 0
        with self._flush_lock:
            written = self._write_journal()
            self._learn_from_journal()
            self._fold_some()
            return written

    def _write_journal(self) -> int:
        if self._unwritten is None:
            with self._lock:
                batch, self._unsaved = self._unsaved, {}
            if not batch:
                return 0
            self._seq += 1
            doc = {
                "_id": f"{self._writer}|{self._seq:010d}",
                "writer": self._writer,
                "at": datetime.now(timezone.utc),
                "serves": [{"customer_id": c, "promotion_id": p, "day": d, "n": n} for c, p, d, n in batch.values()],
            }
            self._unwritten = (doc, batch)
        doc, batch = self._unwritten
        with contextlib.suppress(DuplicateKeyError):  # an earlier attempt did write it
            self._journal.insert_one(doc)
        self._unwritten = None
        with self._lock:
            self._seen[doc["_id"]] = doc["at"]
            self._unfolded.append((doc["_id"], doc["at"], batch))
        return len(batch)

    def _learn_from_journal(self) -> None:
        """Take in the journal documents written since the lookback that this process has not counted yet."""
        now = datetime.now(timezone.utc)
        self._known_today(now)  # a day that has ended caps nothing: count toward the current one
        since = now - timedelta(seconds=JOURNAL_LOOKBACK_S)
        listed = [doc["_id"] for doc in self._journal.find({"at": {"$gte": since}}, {"_id": 1})]
        with self._lock:
            unseen = [doc_id for doc_id in listed if doc_id not in self._seen]
            for doc_id, at in list(self._seen.items()):
                if at < since - timedelta(seconds=JOURNAL_LOOKBACK_S):
                    del self._seen[doc_id]
        if unseen:
            docs = list(self._journal.find({"_id": {"$in": unseen}}, {"at": 1, "serves": 1}))
            with self._lock:
                self._take_in(docs)

    def _take_in(self, docs: list[dict]) -> None:
        """Add journal documents' serves of today to what this process knows (caller holds the lock)."""
        for doc in docs:
            if doc["_id"] in self._seen:
                continue
            self._seen[doc["_id"]] = doc["at"].replace(tzinfo=timezone.utc)
            for serve in doc.get("serves", ()):
                if serve["day"] == self._day:
                    key = f"{serve['customer_id']}|{serve['promotion_id']}|{serve['day']}"
                    self._known[key] = self._known.get(key, 0) + serve["n"]

    def _fold_some(self, everything: bool = False) -> None:
        """Fold own journal documents into the day documents: start when the oldest is ``FOLD_AFTER_S`` old (those
        older than the lookback, collapsed per customer and day), ``FOLD_CHUNK`` upserts a flush, then delete them."""
        now = datetime.now(timezone.utc)
        if self._folding is None:
            with self._lock:
                if not self._unfolded or (
                    not everything and now - self._unfolded[0][1] < timedelta(seconds=FOLD_AFTER_S)
                ):
                    return
                ready = [
                    item
                    for item in self._unfolded
                    if everything or now - item[1] >= timedelta(seconds=JOURNAL_LOOKBACK_S)
                ]
                self._unfolded = self._unfolded[len(ready) :]
                days: dict[tuple[str, str], dict[str, int]] = {}
                for _, _, serves in ready:
                    for customer_id, pid, day, n in serves.values():
                        increments = days.setdefault((customer_id, day), {})
                        increments[_field(pid)] = increments.get(_field(pid), 0) + n
                self._folding = ([doc_id for doc_id, _, _ in ready], [(c, d, inc) for (c, d), inc in days.items()])
        journal_ids, upserts = self._folding
        while upserts:
            with self._lock:  # ``forget`` filters the list meanwhile
                chunk, upserts[:] = upserts[-FOLD_CHUNK:], upserts[:-FOLD_CHUNK]
            try:
                self._counters.bulk_write(
                    [
                        UpdateOne(
                            {"_id": day_document_id(c, d)},
                            {"$inc": increments, "$setOnInsert": {"customer_id": c, "day": d}},
                            upsert=True,
                        )
                        for c, d, increments in chunk
                    ],
                    ordered=False,
                )
            except BulkWriteError as exc:
                failed = {error["index"] for error in exc.details.get("writeErrors", [])}
                with (
                    self._lock
                ):  # the rest of the unordered bulk was applied; the failed ones are retried at the next flush
                    upserts.extend(upsert for i, upsert in enumerate(chunk) if i in failed)
                raise
            except Exception:
                with (
                    self._lock
                ):  # retried at the next flush (if part was applied before the connection broke, it counts twice)
                    upserts.extend(chunk)
                raise
            if upserts and not everything:
                return  # the rest at the next flushes
        self._journal.delete_many({"_id": {"$in": journal_ids}})
        self._folding = None

    @contextmanager
    def writes_held(self) -> Iterator[None]:
        """No flush or fold chunk runs meanwhile: an erasure must not race a chunk that re-creates what it deletes."""
        with self._flush_lock:
            yield

    def fold_all(self) -> None:
        """Write-behind, at shutdown: everything of this process into the day documents, its journal deleted."""
        if not self.write_behind:
            return
        with self._flush_lock:
            self._write_journal()
            while self._folding is not None or self._unfolded:  # a fold under way first, then the rest
                self._fold_some(everything=True)

    def customer_ids(self) -> set[str]:
        """Customers this process holds serve counts of."""
        with self._lock:
            return {key.split("|", 1)[0] for key in self._known} | {c for c, _, _, _ in self._unsaved.values()}

    def forget(self, customer_id: str) -> int:
        """Drop an erased customer's serve counts from memory (unsaved and unfolded increments included); returns how
        many counters. Their journal entries in the store are erasure's to remove (``data_subjects``)."""
        prefix = f"{customer_id}|"
        with self._lock:
            keys = [key for key in {*self._known, *self._unsaved} if key.startswith(prefix)]
            for key in keys:
                self._known.pop(key, None)
                self._unsaved.pop(key, None)
            for _, _, serves in self._unfolded:
                for key in [key for key in serves if key.startswith(prefix)]:
                    del serves[key]
            if self._folding is not None:
                self._folding[1][:] = [upsert for upsert in self._folding[1] if upsert[0] != customer_id]
            if self._unwritten is not None:  # a journal document waiting for its insert to be retried
                doc, serves = self._unwritten
                doc["serves"] = [serve for serve in doc["serves"] if serve["customer_id"] != customer_id]
                for key in [key for key in serves if key.startswith(prefix)]:
                    del serves[key]
        return len(keys)

    def purge_before(self, day: datetime) -> int:
        """Drop counters of days before ``day`` (they no longer cap anything), journal documents included."""
        self._journal.delete_many({"at": {"$lt": day}})
        return self._counters.delete_many({"day": {"$lt": utc_day(day)}}).deleted_count

    def publish(
        self, customer_id: str, promotion_id: str, arm: str, sku: str | None, channel: str, now: datetime
    ) -> None:
        """Send the exposure event without waiting for the broker; a failed delivery is counted and logged."""
        value = exposure_to_bytes(
            UUID(int=self._ids.getrandbits(128), version=4), now, channel, customer_id, promotion_id, arm, sku
        )
        topic = self._producer.topics.for_event_type("exposure")
        future = self._producer.publish_raw(
            topic, value, key=customer_id.encode()
        )  # keyed by customer, as ``bus.partition_key`` does
        future.add_errback(_delivery_failed, promotion_id)

    def flush(self, timeout_s: float = 10.0) -> None:
        self._producer.flush(timeout_s)


def _delivery_failed(promotion_id: str, exc: BaseException) -> None:
    metrics.EXPOSURE_PUBLISH_FAILURES.inc()
    log.error("exposure of %s could not be published: %s", promotion_id, exc)


def day_floor(now: datetime, days_back: int) -> datetime:
    return (now - timedelta(days=days_back)).replace(hour=0, minute=0, second=0, microsecond=0)
