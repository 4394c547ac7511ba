"""Promotion definitions in MongoDB, and their budgets.

A promotion document keeps ``budget_cents``, ``spent_cents`` and ``remaining_cents`` (= budget -
spent). A PUT changes the budget with ``$inc`` on ``remaining_cents`` guarded by the budget it
read, so it composes with concurrent charges. Serving charges the expected discount cost in one of
two ways:

- **write-through** (``write_behind=False``): one conditional update per charge,
  ``{remaining_cents: {$gte: cost}}`` + ``$inc``, so any number of servers sharing the database can
  never together spend past the budget. A database round trip per served promotion (~1-4 ms on
  mongo-java-server, which answers any filter beyond ``_id`` with a scan).
- **write-behind** (``write_behind=True``, the serving default): the charge is checked against and
  taken from this process's own view of the remaining budget, in memory; ``flush_charges`` (the
  engine calls it every ``write_behind_s`` and on shutdown) applies the accumulated charges with
  one unordered bulk of ``$inc`` (one per promotion, one round trip) and re-reads every promotion's remaining budget.
  One process never
  spends past the budget. Several processes sharing a budget can overspend it by at most what the
  *other* processes serve during one flush interval after it runs out (each sees the others'
  spend only at its next flush). Charges not yet flushed are lost if the process is killed
  (SIGKILL); a normal stop flushes them. Reads through this store (``get``, ``listing``) include
  this process's unflushed charges.

Deleting retires a promotion (``deleted_at``): it is no longer listed or served, while its
exposures and experiment stay readable.
"""

from __future__ import annotations

import dataclasses
import secrets
import statistics
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

from pymongo import ReturnDocument, UpdateOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.common import read_models
from services.common.errors import ConflictError, InvalidFieldError, NotFoundError
from services.promotion_engine import metrics
from services.promotion_engine.catalog import Catalog, TTLValue
from services.promotion_engine.schemas import PromotionIn

BOGO_PCT = 50.0
_EDITABLE = (
    "name",
    "type",
    "discount_pct",
    "discount_cents",
    "sku",
    "category",
    "channels",
    "starts_at",
    "ends_at",
    "budget_cents",
    "max_per_customer_per_day",
    "stock_cover_threshold",
)


@dataclass(frozen=True)
class Promotion:
    promotion_id: str
    name: str
    type: str
    discount_pct: float | None
    discount_cents: int | None
    sku: str | None
    category: str | None
    channels: tuple[str, ...] | None
    starts_at: datetime
    ends_at: datetime
    budget_cents: int
    spent_cents: int
    remaining_cents: int
    max_per_customer_per_day: int
    stock_cover_threshold: float
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None

    @classmethod
    def from_doc(cls, doc: dict) -> Promotion:
        """The dates in ``datetime.timezone.utc``: pymongo's own UTC tzinfo is Python code, and comparing against it
        (``is_active``, every promotion on every request) cost ten times as much."""
        channels = doc.get("channels")
        return cls(
            promotion_id=doc["_id"],
            name=doc["name"],
            type=doc["type"],
            discount_pct=doc.get("discount_pct"),
            discount_cents=doc.get("discount_cents"),
            sku=doc.get("sku"),
            category=doc.get("category"),
            channels=tuple(channels) if channels else None,
            starts_at=doc["starts_at"].astimezone(timezone.utc),
            ends_at=doc["ends_at"].astimezone(timezone.utc),
            budget_cents=int(doc["budget_cents"]),
            spent_cents=int(doc.get("spent_cents", 0)),
            remaining_cents=int(doc.get("remaining_cents", 0)),
            max_per_customer_per_day=int(doc.get("max_per_customer_per_day", 1)),
            stock_cover_threshold=float(doc.get("stock_cover_threshold", 1.0)),
            created_at=doc["created_at"],
            updated_at=doc["updated_at"],
            deleted_at=doc.get("deleted_at"),
        )

    def is_active(self, now: datetime) -> bool:
        """Within its dates and not retired (budget is a separate question)."""
        return self.deleted_at is None and self.starts_at <= now < self.ends_at

    def applies_to(self, channel: str) -> bool:
        return self.channels is None or channel in self.channels

    def discount_per_unit(self, price_cents: int) -> int:
        """Cents off one unit at ``price_cents``; BOGO gives every second unit free, i.e. half off per unit."""
        if self.type == "percent_off":
            return round(price_cents * (self.discount_pct or 0.0) / 100)
        if self.type == "amount_off":
            return min(self.discount_cents or 0, price_cents)
        return round(price_cents * BOGO_PCT / 100)

    def effective_discount_pct(self, reference_price_cents: int | None) -> float:
        if self.type == "percent_off":
            return float(self.discount_pct or 0.0)
        if self.type == "bogo":
            return BOGO_PCT
        if not reference_price_cents:
            return 0.0
        return round(100.0 * min(self.discount_cents or 0, reference_price_cents) / reference_price_cents, 2)


class PromotionStore:
    """CRUD, validation against the catalog, the cached list of servable promotions and budget charges."""

    def __init__(self, db: Database, catalog: Catalog, ttl_s: float, write_behind: bool = False) -> None:
        self._db = db
        self._collection = db[read_models.PROMOTIONS]
        self._catalog = catalog
        self._live = TTLValue(self._load_current, ttl_s)
        self._lock = threading.Lock()
        self.write_behind = write_behind
        self._left: dict[
            str, int
        ] = {}  # write-behind: remaining budget as this process sees it (database minus unflushed)
        self._pending: dict[str, int] = {}  # write-behind: charges not yet sent to the database
        self._in_flight: dict[str, int] = {}  # write-behind: charges being sent right now
        self._flush_lock = threading.Lock()

    # --- validation ------------------------------------------------------------------------------

    def validate(self, spec: PromotionIn) -> None:
        """What the schema cannot know: the SKU or category exists; an amount off is below the SKU's price."""
        if spec.sku is not None:
            product = self._catalog.product(spec.sku)
            if product is None:
                raise InvalidFieldError("sku", f"unknown SKU '{spec.sku}' (not in the products catalog)")
            if (
                spec.type == "amount_off"
                and spec.discount_cents is not None
                and spec.discount_cents >= product.price_cents
            ):
                raise InvalidFieldError(
                    "discount_cents",
                    f"{spec.discount_cents} is not below the price of {spec.sku} ({product.price_cents})",
                )
        if spec.category is not None and not self._catalog.skus_in(spec.category):
            raise InvalidFieldError(
                "category", f"unknown category '{spec.category}' (no product in the catalog has it)"
            )

    def reference_price(self, promotion: Promotion) -> int | None:
        """The SKU's price, or the median price of the category: what a derived discount percent is relative to."""
        if promotion.sku:
            product = self._catalog.product(promotion.sku)
            return product.price_cents if product else None
        products = self._catalog.products
        prices = [
            products[s].price_cents
            for s in self._catalog.skus_in(promotion.category or "", reload_on_miss=False)
            if s in products
        ]
        return int(statistics.median(prices)) if prices else None

    # --- CRUD -----------------------------------------------------------------------------------

    def create(self, spec: PromotionIn, now: datetime | None = None) -> Promotion:
        self.validate(spec)
        now = now or datetime.now(timezone.utc)
        promotion_id = spec.promotion_id or f"P-{secrets.token_hex(6)}"
        doc = {
            "_id": promotion_id,
            **self._fields(spec),
            "spent_cents": 0,
            "remaining_cents": spec.budget_cents,
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
        }
        try:
            self._collection.insert_one(doc)
        except DuplicateKeyError:
            raise ConflictError(
                f"promotion '{promotion_id}' already exists (ids of deleted promotions are not reused)"
            ) from None
        with self._lock:
            self._left[promotion_id] = spec.budget_cents
        self._live.invalidate()
        return Promotion.from_doc(doc)

    def get(self, promotion_id: str, include_deleted: bool = False) -> Promotion:
        doc = self._collection.find_one({"_id": promotion_id})
        if doc is None or (doc.get("deleted_at") is not None and not include_deleted):
            raise NotFoundError(f"promotion '{promotion_id}' not found")
        return self._with_unflushed(Promotion.from_doc(doc))

    def listing(self, limit: int, offset: int = 0, active_at: datetime | None = None) -> list[Promotion]:
        """Promotions by start date, newest first; ``active_at`` keeps only those running then."""
        query: dict = {"deleted_at": None}
        if active_at is not None:
            query |= {"starts_at": {"$lte": active_at}, "ends_at": {"$gt": active_at}}
        cursor = self._collection.find(query).sort([("starts_at", -1), ("_id", 1)]).skip(offset).limit(limit)
        return [self._with_unflushed(Promotion.from_doc(doc)) for doc in cursor]

    def _with_unflushed(self, promotion: Promotion) -> Promotion:
        """The stored promotion plus this process's charges not yet written (write-behind)."""
        with self._lock:
            unflushed = self._pending.get(promotion.promotion_id, 0) + self._in_flight.get(promotion.promotion_id, 0)
        if not unflushed:
            return promotion
        return dataclasses.replace(
            promotion,
            spent_cents=promotion.spent_cents + unflushed,
            remaining_cents=promotion.remaining_cents - unflushed,
        )

    def replace(
        self, promotion_id: str, spec: PromotionIn, now: datetime | None = None, attempts: int = 5
    ) -> Promotion:
        """Replace every editable field; spend so far is kept and the remaining budget follows the new budget."""
        if spec.promotion_id is not None and spec.promotion_id != promotion_id:
            raise InvalidFieldError(
                "promotion_id", f"'{spec.promotion_id}' differs from the id in the path ('{promotion_id}')"
            )
        self.validate(spec)
        now = now or datetime.now(timezone.utc)
        for _ in range(attempts):
            current = self.get(promotion_id)
            updated = self._collection.find_one_and_update(
                {"_id": promotion_id, "budget_cents": current.budget_cents, "deleted_at": None},
                {
                    "$set": {**self._fields(spec), "updated_at": now},
                    "$inc": {"remaining_cents": spec.budget_cents - current.budget_cents},
                },
                return_document=ReturnDocument.AFTER,
            )
            if updated is not None:
                with self._lock:
                    self._left[promotion_id] = (
                        int(updated["remaining_cents"])
                        - self._pending.get(promotion_id, 0)
                        - self._in_flight.get(promotion_id, 0)
                    )
                self._live.invalidate()
                return self._with_unflushed(Promotion.from_doc(updated))
        raise ConflictError(f"promotion '{promotion_id}' kept changing while it was being replaced; try again")

    def delete(self, promotion_id: str, now: datetime | None = None) -> None:
        result = self._collection.update_one(
            {"_id": promotion_id, "deleted_at": None}, {"$set": {"deleted_at": now or datetime.now(timezone.utc)}}
        )
        if result.matched_count == 0:
            raise NotFoundError(f"promotion '{promotion_id}' not found")
        self._live.invalidate()

    @staticmethod
    def _fields(spec: PromotionIn) -> dict:
        fields = spec.model_dump(include=set(_EDITABLE), mode="python")
        fields["channels"] = [c.value for c in spec.channels] if spec.channels else None
        return fields

    # --- serving ----------------------------------------------------------------------------------

    def _load_current(self) -> list[Promotion]:
        """Promotions not retired and not over (ended ones stay in the collection for their experiments)."""
        now = datetime.now(timezone.utc)
        current = [
            Promotion.from_doc(doc) for doc in self._collection.find({"deleted_at": None, "ends_at": {"$gt": now}})
        ]
        metrics.report_budgets(
            {p.promotion_id: p.remaining_cents / p.budget_cents if p.budget_cents > 0 else 0.0 for p in current}
        )
        return current

    @property
    def current(self) -> list[Promotion]:
        """The cached promotions not retired and not over; the same list object until the cache reloads."""
        return self._live.get()

    def refresh_if_due(self) -> None:
        """Reload the cache ahead of its expiry (called off the request path)."""
        self._live.refresh_if_due()

    def has_budget(self, promotion: Promotion) -> bool:
        """Budget left, as of the cache (write-through) or this process's running balance (write-behind)."""
        if not self.write_behind:
            return promotion.remaining_cents > 0
        return self._left.get(promotion.promotion_id, promotion.remaining_cents) > 0

    def servable(self, now: datetime, channel: str) -> list[Promotion]:
        """Promotions running now in ``channel`` with budget left (as of the cache; the charge re-checks)."""
        return [p for p in self._live.get() if p.is_active(now) and p.applies_to(channel) and self.has_budget(p)]

    def charge(self, promotion_id: str, cents: int) -> bool:
        """Spend ``cents`` of the budget if that much remains. False = budget exhausted.

        Write-through: atomic across servers. Write-behind: against this process's balance, in memory.
        """
        if self.write_behind:
            return self._charge_in_memory(promotion_id, cents)
        result = self._collection.update_one(
            {"_id": promotion_id, "remaining_cents": {"$gte": cents}},
            {"$inc": {"remaining_cents": -cents, "spent_cents": cents}},
        )
        if result.modified_count == 0:
            self._live.invalidate()  # our cached view thought it had budget: refresh it
            return False
        return True

    def refund(self, promotion_id: str, cents: int) -> None:
        """Give back a charge for a serve that did not happen (lost a frequency-cap race)."""
        if self.write_behind:
            with self._lock:
                self._left[promotion_id] = self._left.get(promotion_id, 0) + cents
                self._pending[promotion_id] = self._pending.get(promotion_id, 0) - cents
            return
        self._collection.update_one({"_id": promotion_id}, {"$inc": {"remaining_cents": cents, "spent_cents": -cents}})

    def _charge_in_memory(self, promotion_id: str, cents: int) -> bool:
        with self._lock:
            left = self._left.get(promotion_id)
            if (
                left is None
            ):  # first charge of a promotion this process has not written or synced: the cache is exact for it
                cached = next((p for p in self._live.get() if p.promotion_id == promotion_id), None)
                left = cached.remaining_cents if cached is not None else 0
            if left < cents:
                self._left[promotion_id] = left
                return False
            self._left[promotion_id] = left - cents
            self._pending[promotion_id] = self._pending.get(promotion_id, 0) + cents
            return True

    def _write_charges(self, batch: dict[str, int]) -> int:
        """One unordered bulk of ``$inc`` by ``_id`` (one round trip); the charges applied leave ``_in_flight``: after a
        write error every one but those it names (unordered: MongoDB applies the rest, and mongo-java-server ignores
        ``ordered`` anyway), after any other error none (a retry may then charge twice, never lose a charge)."""
        failed = set(range(len(batch)))
        try:
            self._collection.bulk_write(
                [
                    UpdateOne({"_id": pid}, {"$inc": {"remaining_cents": -cents, "spent_cents": cents}})
                    for pid, cents in batch.items()
                ],
                ordered=False,
            )
            failed = set()
        except BulkWriteError as exc:
            failed = {error["index"] for error in exc.details.get("writeErrors", [])}
            raise
        finally:
            with self._lock:
                written = sum(self._in_flight.pop(pid) for i, pid in enumerate(batch) if i not in failed)
        return written

    def flush_charges(self, now: datetime | None = None) -> int:
        """Write-behind: apply the unflushed charges (``_write_charges``), then re-read
        every current promotion's remaining budget, which brings in other processes' spend. Returns
        the cents written."""
        if not self.write_behind:
            return 0
        with self._flush_lock:
            with self._lock:
                batch, self._pending = {pid: c for pid, c in self._pending.items() if c}, {}
                self._in_flight = dict(batch)
            written = 0
            try:
                if batch:
                    written = self._write_charges(batch)
                now = now or datetime.now(timezone.utc)
                docs = list(
                    self._collection.find({"deleted_at": None, "ends_at": {"$gt": now}}, {"remaining_cents": 1})
                )
            finally:
                with self._lock:  # whatever was not written goes back to pending, to be retried
                    for pid, cents in self._in_flight.items():
                        self._pending[pid] = self._pending.get(pid, 0) + cents
                    self._in_flight = {}
            with self._lock:
                for doc in docs:
                    self._left[doc["_id"]] = int(doc.get("remaining_cents", 0)) - self._pending.get(doc["_id"], 0)
            return written
