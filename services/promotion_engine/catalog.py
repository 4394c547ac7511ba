"""Products and stock as the engine reads them: small tables cached briefly in memory.

The data consumer owns both collections. Products change rarely (cached ``catalog_ttl_s``, and a
lookup of an unknown SKU reloads once so a product created a moment ago validates); stock moves
with every sale, so it is cached only ``stock_ttl_s`` (1 s by default — below the consumer's own
lag, so it adds nothing a reader could notice). Reading the whole stock table at once is cheaper
than per-SKU queries on mongo-java-server, which scans for any non-``_id`` filter.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from pymongo.database import Database

from services.common import read_models

T = TypeVar("T")


class TTLValue(Generic[T]):
    """One value computed by ``loader`` and reused for ``ttl_s``; one loader runs at a time."""

    def __init__(self, loader: Callable[[], T], ttl_s: float) -> None:
        self._loader = loader
        self._ttl_s = ttl_s
        self._value: T | None = None
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()

    def get(self) -> T:
        if self._value is not None and time.monotonic() - self._loaded_at < self._ttl_s:
            return self._value
        with self._lock:
            if self._value is None or time.monotonic() - self._loaded_at >= self._ttl_s:
                self._value = self._loader()
                self._loaded_at = time.monotonic()
            return self._value

    def invalidate(self) -> None:
        self._loaded_at = float("-inf")

    def refresh_if_due(self) -> None:
        """Reload once half the TTL has passed, so a background thread keeps the value fresh and
        requests find it unexpired (they reload it themselves only if that thread falls behind)."""
        if self._value is None or time.monotonic() - self._loaded_at >= self._ttl_s / 2:
            value = self._loader()
            with self._lock:
                self._value, self._loaded_at = value, time.monotonic()


@dataclass(frozen=True)
class Product:
    sku: str
    category: str
    sub_category: str
    price_cents: int
    cost_cents: int


class Catalog:
    """Known products by SKU and by category."""

    def __init__(self, db: Database, ttl_s: float) -> None:
        self._db = db
        self._cache: TTLValue[tuple[dict[str, Product], dict[str, list[str]]]] = TTLValue(self._load, ttl_s)

    def _load(self) -> tuple[dict[str, Product], dict[str, list[str]]]:
        products: dict[str, Product] = {}
        by_category: dict[str, list[str]] = defaultdict(list)
        for doc in self._db[read_models.PRODUCTS].find(
            {}, {"category": 1, "sub_category": 1, "price_cents": 1, "cost_cents": 1}
        ):
            product = Product(
                str(doc["_id"]),
                doc.get("category", ""),
                doc.get("sub_category", ""),
                int(doc.get("price_cents", 0)),
                int(doc.get("cost_cents", 0)),
            )
            products[product.sku] = product
            by_category[product.category].append(product.sku)
        return products, dict(by_category)

    @property
    def products(self) -> dict[str, Product]:
        return self._cache.get()[0]

    def product(self, sku: str) -> Product | None:
        """The product, reloading once on a miss (it may have been created since the last load)."""
        found = self.products.get(sku)
        if found is None:
            self._cache.invalidate()
            found = self.products.get(sku)
        return found

    def refresh_if_due(self) -> None:
        self._cache.refresh_if_due()

    def skus_in(self, category: str, reload_on_miss: bool = True) -> list[str]:
        """SKUs of a category; an unknown category reloads once unless ``reload_on_miss`` is false (the serving
        path)."""
        skus = self._cache.get()[1].get(category)
        if skus is None and reload_on_miss:
            self._cache.invalidate()
            skus = self._cache.get()[1].get(category)
        return skus or []


@dataclass(frozen=True)
class StockLevel:
    on_hand: int
    reorder_threshold: int

    @property
    def cover(self) -> float:
        """Stock cover: on hand in multiples of the reorder threshold (a threshold of 0 counts as 1)."""
        return self.on_hand / max(self.reorder_threshold, 1)


NO_STOCK = StockLevel(0, 0)


class StockView:
    """Stock per store and SKU, plus each SKU's total over all stores (for requests naming no store)."""

    def __init__(self, db: Database, ttl_s: float) -> None:
        self._db = db
        self._cache: TTLValue[dict[str | None, dict[str, StockLevel]]] = TTLValue(self._load, ttl_s)

    def _load(self) -> dict[str | None, dict[str, StockLevel]]:
        by_store: dict[str | None, dict[str, StockLevel]] = defaultdict(dict)
        totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for doc in self._db[read_models.STOCK].find(
            {}, {"sku": 1, "store_id": 1, "on_hand": 1, "reorder_threshold": 1}
        ):
            level = StockLevel(int(doc.get("on_hand", 0)), int(doc.get("reorder_threshold", 0)))
            by_store[doc["store_id"]][doc["sku"]] = level
            totals[doc["sku"]][0] += level.on_hand
            totals[doc["sku"]][1] += level.reorder_threshold
        by_store[None] = {sku: StockLevel(on_hand, threshold) for sku, (on_hand, threshold) in totals.items()}
        return dict(by_store)

    def refresh_if_due(self) -> None:
        self._cache.refresh_if_due()

    def levels(self, store_id: str | None) -> dict[str, StockLevel]:
        """Stock at ``store_id``, or summed over every store when it is ``None``; missing SKUs have none."""
        return self._cache.get().get(store_id, {})
