"""Which promotions to offer one customer now: eligibility, stock, caps, scoring, budget, exposure log.

``Recommender.recommend`` in order:

1. **Arm**: the hash-based control group (``assignment``) — control customers get nothing, but the
   promotions they *would* have got are logged as control exposures, so both arms of every
   experiment are drawn from the same eligible population.
2. **Eligible promotions**: running now (``starts_at <= now < ends_at``), in this channel, budget
   left, and under the customer's frequency cap for today.
3. **Candidates**: each promotion's SKU, or every SKU of its category, that has stock at the
   location with cover (on_hand / reorder_threshold) at or above the promotion's
   ``stock_cover_threshold`` — a SKU about to run out is never promoted. The table of candidates
   (``CandidateTable``) and their customer-independent columns is rebuilt whenever the cached
   promotions, catalog, stock (``stock_ttl_s``) or order-history snapshot is reloaded, not per
   request; the request masks it by step 2 and adds the customer's own columns.
4. **Scores** (``scoring``): uplift from the active model, or the heuristic prior before one is
   trained; abandoned-cart boost; expected incremental margin after the discount; overstocked SKUs
   boosted. Only a positive expected incremental margin is recommended; a category promotion
   offers its best-scoring SKU.
5. **Serve** the top ``k``: charge each expected cost to the budget, claim the frequency counter
   (both in the database per request, or in memory and written behind: see ``promotions`` and
   ``exposure_log``), publish the exposure event (asynchronously).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from services.common.errors import InvalidFieldError
from services.promotion_engine import metrics, scoring
from services.promotion_engine.assignment import CONTROL, TREATMENT, arm_for
from services.promotion_engine.catalog import NO_STOCK, Catalog, Product, StockLevel, StockView
from services.promotion_engine.config import PromotionConfig
from services.promotion_engine.exposure_log import ExposureLog
from services.promotion_engine.features import (
    CANDIDATE_COLUMNS,
    CUSTOMER_COLUMNS,
    FEATURE_COLUMNS,
    NO_ACTIVITY,
    CandidateFacts,
    CustomerHistory,
    MongoRecentClicks,
    OrderHistory,
    RecentActivity,
    RecentClicks,
    candidate_vector,
    customer_vector,
)
from services.promotion_engine.promotions import Promotion, PromotionStore
from services.promotion_engine.registry import ActiveModel, UpliftModels
from services.promotion_engine.score_cache import Entry, PairKey, ScoreCache, Universe
from services.promotion_engine.uplift.errors import UpliftError

log = logging.getLogger(__name__)

AFFINITY_REASON = 0.3
POPULAR_REASON = 0.5
ANONYMOUS = ""  # score-cache key of customers with no orders and no recent clicks (never a valid customer id)
STATIC_FROM = 3  # CANDIDATE_COLUMNS from here on do not depend on the customer (affinity, viewed and in-cart do)


_ZEROS = np.zeros(1024)
_ZEROS.setflags(write=False)


def _zeros(n: int) -> np.ndarray:
    """A read-only zero column: most customers have no recent clicks, and a fresh ``np.zeros`` per column
    and request showed up at ~0.1 ms a call in profiles of the loaded machine."""
    return _ZEROS[:n] if n <= _ZEROS.size else np.zeros(n)


def pair_key(promotion: Promotion, product: Product) -> PairKey:
    """What a pair's model score depends on besides the customer: the promotion as last edited, and the product."""
    return (
        promotion.promotion_id,
        promotion.updated_at,
        product.sku,
        product.price_cents,
        product.cost_cents,
        product.category,
    )


@dataclass
class CandidateTable:
    """Every (promotion, SKU) pair one channel could offer at one stock location, with every column
    that does not depend on the customer, as arrays. Built when the promotions, catalog, stock or
    order-history snapshot changes (kept while those cached objects stay the same), not per request;
    a request masks it by eligibility and fills in the customer's columns."""

    sources: tuple  # the cached objects it was built from, compared by identity
    promotions: list[Promotion]  # of this channel, dates and budget not yet checked
    promotion_index: np.ndarray  # per candidate: index into ``promotions``
    products: list[Product]
    levels: list[StockLevel]
    discount: np.ndarray
    price: np.ndarray
    cost: np.ndarray
    popularity: np.ndarray
    cover: np.ndarray
    categories: list[str]
    category_code: np.ndarray  # per candidate: index into ``categories``
    rows_of_sku: dict[str, np.ndarray]
    static_features: np.ndarray  # CANDIDATE_COLUMNS[3:], one row per candidate
    score_keys: list[PairKey]  # per candidate: its key in the score cache

    def __len__(self) -> int:
        return len(self.products)


@dataclass(frozen=True)
class Recommendation:
    promotion: Promotion
    product: Product
    stock: StockLevel
    stock_status: str
    discount_cents: int
    conversion: float
    uplift: float
    incremental_margin_cents: float
    cost_cents: int
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class RecommendationResult:
    customer_id: str
    arm: str
    channel: str
    store_id: str | None
    scored_by: str
    cold_start: bool
    served_at: datetime
    recommendations: list[Recommendation]
    withheld: int


class Recommender:
    def __init__(
        self,
        config: PromotionConfig,
        promotions: PromotionStore,
        catalog: Catalog,
        stock: StockView,
        history: OrderHistory,
        clicks: RecentClicks,
        exposures: ExposureLog,
        models: UpliftModels,
        scores: ScoreCache | None = None,
    ) -> None:
        self._config = config
        self._promotions = promotions
        self._catalog = catalog
        self._stock = stock
        self._history = history
        self._clicks = clicks
        self._exposures = exposures
        self._models = models
        self._tables: dict[tuple[str, str | None], CandidateTable] = {}
        self.scores = scores
        self._universe: Universe | None = None

    @property
    def blocking(self) -> bool:
        """Whether a request waits on the database (write-through caps or per-request click queries): then it
        belongs on a worker thread, else it is pure CPU and cheapest run inline on the event loop."""
        return not (self._promotions.write_behind and self._exposures.write_behind) or isinstance(
            self._clicks, MongoRecentClicks
        )

    def recommend(
        self, customer_id: str, k: int, channel: str, store_id: str | None = None, now: datetime | None = None
    ) -> RecommendationResult:
        now = now or datetime.now(timezone.utc)
        arm = arm_for(customer_id, self._config.control_salt, self._config.control_share)
        location, levels = self._stock_at(channel, store_id)
        history = self._history.customer(customer_id)
        activity = self._clicks.activity(customer_id, now)
        cold_start = history is None and activity.clicks == 0
        table = self._table(channel, location, levels)
        rows = self._eligible(table, customer_id, now)[table.promotion_index].nonzero()[0]
        ranked, scored_by = self._rank(customer_id, table, rows, history, activity, now, cold_start)
        chosen = self._serve(customer_id, arm, ranked, k, now)
        for rec in chosen:
            self._exposures.publish(customer_id, rec.promotion.promotion_id, arm, rec.product.sku, channel, now)
        if chosen:
            metrics.SERVED.labels(arm).inc(len(chosen))
        shown = chosen if arm == TREATMENT else []
        return RecommendationResult(
            customer_id, arm, channel, location, scored_by, cold_start, now, shown, len(chosen) if arm == CONTROL else 0
        )

    # --- steps ------------------------------------------------------------------------------------

    def _stock_at(self, channel: str, store_id: str | None) -> tuple[str | None, dict[str, StockLevel]]:
        """Stock of the named store; else of the channel's default location if it has stock; else summed over stores."""
        if store_id is not None:
            levels = self._stock.levels(store_id)
            if not levels:
                raise InvalidFieldError("store_id", f"no stock is recorded for store '{store_id}'", location="query")
            return store_id, levels
        default = {
            "online": self._config.default_store_online,
            "marketplace": self._config.default_store_marketplace,
        }.get(channel)
        if default is not None:
            levels = self._stock.levels(default)
            if levels:
                return default, levels
        return None, self._stock.levels(None)

    def _table(self, channel: str, location: str | None, levels: dict[str, StockLevel]) -> CandidateTable:
        """The channel's candidate table, rebuilt only when one of the cached objects it reads was reloaded."""
        current, products = self._promotions.current, self._catalog.products
        key = (channel, location)
        table = self._tables.get(key)
        if table is not None:
            promotions_then, levels_then, products_then, history_then = table.sources
            if (
                promotions_then is current
                and levels_then is levels
                and products_then is products
                and history_then == self._history.loaded_at
            ):
                return table
        table = self._build_table(current, levels, products, channel)
        self._tables[key] = table
        return table

    def _build_table(
        self, current: list[Promotion], levels: dict[str, StockLevel], products: dict[str, Product], channel: str
    ) -> CandidateTable:
        """Each promotion's SKU, or every SKU of its category, that has stock at the location with cover at or above
        the promotion's ``stock_cover_threshold`` and a positive discount: a SKU about to run out is never a
        candidate."""
        promotions = [p for p in current if p.applies_to(channel)]
        index: list[int] = []
        chosen: list[Product] = []
        stock: list[StockLevel] = []
        discounts: list[int] = []
        static: list[list[float]] = []
        keys: list[PairKey] = []
        for i, promotion in enumerate(promotions):
            skus = (
                [promotion.sku]
                if promotion.sku
                else self._catalog.skus_in(promotion.category or "", reload_on_miss=False)
            )
            for sku in skus:
                product = products.get(sku)
                level = levels.get(sku, NO_STOCK)
                if product is None or level.on_hand <= 0 or level.cover < promotion.stock_cover_threshold:
                    continue
                discount = promotion.discount_per_unit(product.price_cents)
                if discount <= 0:
                    continue
                index.append(i)
                keys.append(pair_key(promotion, product))
                chosen.append(product)
                stock.append(level)
                discounts.append(discount)
                static.append(_static_features(promotion, product, discount))
        categories = sorted({p.category for p in chosen})
        code = {c: n for n, c in enumerate(categories)}
        rows: dict[str, list[int]] = {}
        for n, product in enumerate(chosen):
            rows.setdefault(product.sku, []).append(n)
        return CandidateTable(
            sources=(current, levels, products, self._history.loaded_at),
            promotions=promotions,
            promotion_index=np.array(index, dtype=np.intp),
            products=chosen,
            levels=stock,
            discount=np.array(discounts, dtype=float),
            price=np.array([p.price_cents for p in chosen], dtype=float),
            cost=np.array([p.cost_cents for p in chosen], dtype=float),
            popularity=np.array([self._history.popularity(p.sku) for p in chosen], dtype=float),
            cover=np.array([level.cover for level in stock], dtype=float),
            categories=categories,
            category_code=np.array([code[p.category] for p in chosen], dtype=np.intp),
            rows_of_sku={sku: np.array(r, dtype=np.intp) for sku, r in rows.items()},
            static_features=np.array(static, dtype=float).reshape(len(chosen), len(CANDIDATE_COLUMNS) - STATIC_FROM),
            score_keys=keys,
        )

    # --- scores ahead of requests (score_cache) -------------------------------------------------------

    def universe(self) -> Universe:
        """Every (promotion, SKU) pair of the current promotions, in any channel and whatever the stock; the same
        object as long as no pair's key changed (so cached scores stay usable across cache reloads)."""
        products = self._catalog.products
        pairs: list[tuple[Promotion, Product]] = []
        for promotion in self._promotions.current:
            skus = (
                [promotion.sku]
                if promotion.sku
                else self._catalog.skus_in(promotion.category or "", reload_on_miss=False)
            )
            pairs += [(promotion, products[sku]) for sku in skus if sku in products and products[sku].price_cents > 0]
        keys = [pair_key(promotion, product) for promotion, product in pairs]
        if self._universe is not None and self._universe.keys == tuple(keys):
            return self._universe
        static: list[list[float]] = []
        chosen: list[Product] = []
        for promotion, product in pairs:
            discount = promotion.discount_per_unit(product.price_cents)
            chosen.append(product)
            static.append(_static_features(promotion, product, discount))
        categories = sorted({p.category for p in chosen})
        code = {c: n for n, c in enumerate(categories)}
        self._universe = Universe(
            tuple(keys),
            {k: n for n, k in enumerate(keys)},
            np.array(static, dtype=float).reshape(len(keys), len(CANDIDATE_COLUMNS) - STATIC_FROM),
            categories,
            np.array([code[p.category] for p in chosen], dtype=np.intp),
            [p.sku for p in chosen],
        )
        return self._universe

    def precompute(self, customer_ids: list[str], batch: int = 32, stop: threading.Event | None = None) -> int:
        """Score the customers whose cached scores are missing or stale, ``batch`` customers per model call;
        returns how many were scored. Off the request path (the engine's scorer thread)."""
        model = self._models.active
        if (
            self.scores is None
            or model is None
            or model.feature_columns != FEATURE_COLUMNS
            or isinstance(self._clicks, MongoRecentClicks)
        ):
            return 0
        universe = self.universe()
        n = len(universe.keys)
        if n == 0:
            return 0
        now = datetime.now(timezone.utc)
        todo = []
        if not self.scores.fresh(ANONYMOUS, model.version, None, NO_ACTIVITY, universe):
            todo.append((ANONYMOUS, None, NO_ACTIVITY))
        for customer_id in customer_ids:
            history, activity = self._history.customer(customer_id), self._clicks.activity(customer_id, now)
            if not self.scores.fresh(customer_id, model.version, history, activity, universe):
                todo.append((customer_id, history, activity))
        scored = 0
        all_rows = np.arange(n)
        for start in range(0, len(todo), batch):
            if stop is not None and stop.is_set():
                break
            group = todo[start : start + batch]
            scored_at = time.monotonic()
            X = np.vstack(
                [
                    self.features(
                        universe, all_rows, history, activity, now, self._universe_columns(universe, history, activity)
                    )
                    for _, history, activity in group
                ]
            )
            try:
                uplift = model.learner.predict_uplift(X)
            except (UpliftError, ValueError) as exc:
                log.error("model %s failed to score ahead of requests (%s); requests score inline", model.version, exc)
                return scored
            for j, (customer_id, history, activity) in enumerate(group):
                self.scores.store(
                    customer_id,
                    Entry(model.version, history, activity, scored_at, universe, uplift[j * n : (j + 1) * n]),
                )
            scored += len(group)
        return scored

    def _score_universe(
        self,
        customer_id: str,
        model: ActiveModel,
        history: CustomerHistory | None,
        activity: RecentActivity,
        now: datetime,
    ) -> bool:
        """On a cache miss (new customer, new click, a click aged out of the window): score the customer's whole
        universe in one model call and keep it, so their next requests hit until something changes again;
        False when the model cannot score it (the caller then scores the request's rows alone)."""
        universe = self.universe()
        if self.scores is None or not universe.keys:
            return False
        rows = np.arange(len(universe.keys))
        try:
            uplift = model.learner.predict_uplift(
                self.features(
                    universe, rows, history, activity, now, self._universe_columns(universe, history, activity)
                )
            )
        except (UpliftError, ValueError):
            return False
        self.scores.store(customer_id, Entry(model.version, history, activity, time.monotonic(), universe, uplift))
        return True

    @staticmethod
    def _universe_columns(
        universe: Universe, history: CustomerHistory | None, activity: RecentActivity
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = len(universe.keys)
        affinity = (
            np.array([history.affinity(c) for c in universe.categories])[universe.category_code]
            if history is not None
            else np.zeros(n)
        )
        viewed = np.array([float(sku in activity.viewed) for sku in universe.skus]) if activity.viewed else np.zeros(n)
        in_cart = (
            np.array([float(sku in activity.in_cart) for sku in universe.skus]) if activity.in_cart else np.zeros(n)
        )
        return affinity, viewed, in_cart

    def _eligible(self, table: CandidateTable, customer_id: str, now: datetime) -> np.ndarray:
        """Per promotion of the table: running now, budget left, and under the customer's frequency cap for today."""
        ok = np.array([p.is_active(now) and self._promotions.has_budget(p) for p in table.promotions], dtype=bool)
        if ok.any():
            open_ids = [p.promotion_id for p, eligible in zip(table.promotions, ok) if eligible]
            served = self._exposures.known_today(customer_id, open_ids, now)
            if served:
                ok &= np.array(
                    [served.get(p.promotion_id, 0) < p.max_per_customer_per_day for p in table.promotions], dtype=bool
                )
        return ok

    def _mark(self, table: CandidateTable, skus: frozenset[str], rows: np.ndarray) -> np.ndarray:
        """1.0 for the candidates (of ``rows``) whose SKU is in ``skus``."""
        if not skus:
            return _zeros(rows.size)
        marked = np.zeros(len(table))
        for sku in skus:
            found = table.rows_of_sku.get(sku)
            if found is not None:
                marked[found] = 1.0
        return marked[rows]

    @staticmethod
    def features(
        table: CandidateTable | Universe,
        rows: np.ndarray,
        history: CustomerHistory | None,
        activity: RecentActivity,
        now: datetime,
        candidate_columns: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> np.ndarray:
        """The model's input for ``rows`` of the table: the same matrix as ``features.feature_matrix``, assembled
        by column (``candidate_columns`` = affinity, viewed, in cart of those rows)."""
        X = np.empty((len(rows), len(FEATURE_COLUMNS)))
        X[:, : len(CUSTOMER_COLUMNS)] = customer_vector(history, activity, now)
        for offset, column in enumerate(candidate_columns):
            X[:, len(CUSTOMER_COLUMNS) + offset] = column
        X[:, len(CUSTOMER_COLUMNS) + STATIC_FROM :] = table.static_features[rows]
        return X

    def candidate_columns(
        self, table: CandidateTable, rows: np.ndarray, history: CustomerHistory | None, activity: RecentActivity
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The customer-dependent candidate columns of ``rows``: category affinity, SKU viewed, SKU in the cart."""
        if history is not None:
            affinity = np.array([history.affinity(c) for c in table.categories])[table.category_code[rows]]
        else:
            affinity = _zeros(rows.size)
        return affinity, self._mark(table, activity.viewed, rows), self._mark(table, activity.in_cart, rows)

    def table_for(self, channel: str, store_id: str | None = None) -> CandidateTable:
        """The candidate table a request in ``channel`` (at ``store_id``) would use."""
        location, levels = self._stock_at(channel, store_id)
        return self._table(channel, location, levels)

    def _uplift(
        self,
        customer_id: str,
        table: CandidateTable,
        rows: np.ndarray,
        history: CustomerHistory | None,
        activity: RecentActivity,
        now: datetime,
        candidate_columns: tuple[np.ndarray, np.ndarray, np.ndarray],
        heuristic: np.ndarray,
    ) -> tuple[np.ndarray, str]:
        model = self._models.active
        if model is None:
            return heuristic, "heuristic"
        if model.feature_columns != FEATURE_COLUMNS:
            log.warning("model %s was trained on other feature columns; using the heuristic", model.version)
            return heuristic, "heuristic"
        if self.scores is not None:
            who = (
                customer_id if history is not None or activity.clicks else ANONYMOUS
            )  # every unknown, idle customer has the same features
            cached = self.scores.lookup(who, model.version, history, activity, table.score_keys, table, rows)
            if cached is None and self._score_universe(who, model, history, activity, now):
                cached = self.scores.lookup(
                    who, model.version, history, activity, table.score_keys, table, rows, count=False
                )
            if cached is not None:
                return cached, f"model:{model.version}"
        try:
            return model.learner.predict_uplift(
                self.features(table, rows, history, activity, now, candidate_columns)
            ), f"model:{model.version}"
        except (UpliftError, ValueError) as exc:  # a broken model must not take serving down: fall back, loudly
            log.error("model %s failed to score (%s); using the heuristic", model.version, exc)
            return heuristic, "heuristic"

    def _rank(
        self,
        customer_id: str,
        table: CandidateTable,
        rows: np.ndarray,
        history: CustomerHistory | None,
        activity: RecentActivity,
        now: datetime,
        cold_start: bool,
    ) -> tuple[Iterator[Recommendation], str]:
        if rows.size == 0:
            model = self._models.active
            return iter(()), f"model:{model.version}" if model else "heuristic"
        price, cost, discount = table.price[rows], table.cost[rows], table.discount[rows]
        popularity, cover = table.popularity[rows], table.cover[rows]
        affinity, viewed, in_cart = self.candidate_columns(table, rows, history, activity)
        recency = history.recency_days(now) if history else math.nan
        base = scoring.heuristic_base_rate(popularity, affinity, recency)
        prior = scoring.heuristic_uplift(
            discount / price, popularity, affinity, history.deal_share if history else 0.0, viewed, base
        )
        uplift, scored_by = self._uplift(
            customer_id, table, rows, history, activity, now, (affinity, viewed, in_cart), prior
        )
        uplift = scoring.apply_cart_boost(uplift, in_cart, base)
        econ = scoring.economics(base, uplift, price, cost, discount)
        overstocked = cover >= self._config.overstock_cover
        score = scoring.rank_score(econ.incremental_margin_cents, overstocked, self._config.overstock_boost)

        def ranked() -> Iterator[Recommendation]:
            """Best first, one SKU per promotion, only a positive expected incremental margin; built as the server
            asks."""
            seen: set[int] = set()
            for i in (-score).argsort(kind="stable"):
                row = rows[i]
                promotion_at = int(table.promotion_index[row])
                if econ.incremental_margin_cents[i] <= 0 or promotion_at in seen:
                    continue
                seen.add(promotion_at)
                reasons = [
                    name
                    for name, applies in (
                        ("cold_start", cold_start),
                        ("abandoned_cart", in_cart[i] > 0),
                        ("recently_viewed", viewed[i] > 0 and in_cart[i] == 0),
                        ("overstocked", overstocked[i]),
                        ("high_uplift", uplift[i] >= scoring.HIGH_UPLIFT),
                        ("category_affinity", affinity[i] >= AFFINITY_REASON),
                        ("popular", popularity[i] >= POPULAR_REASON),
                    )
                    if applies
                ]
                yield Recommendation(
                    table.promotions[promotion_at],
                    table.products[row],
                    table.levels[row],
                    "overstocked" if overstocked[i] else "ok",
                    int(table.discount[row]),
                    float(econ.conversion[i]),
                    float(uplift[i]),
                    float(econ.incremental_margin_cents[i]),
                    max(1, math.ceil(econ.cost_cents[i])),
                    float(score[i]),
                    tuple(reasons),
                )

        return ranked(), scored_by

    def _serve(
        self, customer_id: str, arm: str, ranked: Iterator[Recommendation], k: int, now: datetime
    ) -> list[Recommendation]:
        """Take the top k that the budget still covers (treatment only: control costs nothing) and the cap admits.

        Budget first (one conditional update per promotion), then the frequency counters (one bulk
        write); a promotion another server capped meanwhile gets its charge refunded and the next
        candidate takes its place.
        """
        served: list[Recommendation] = []
        queue = ranked
        while len(served) < k:
            batch: list[Recommendation] = []
            for rec in queue:
                if arm == TREATMENT and not self._promotions.charge(rec.promotion.promotion_id, rec.cost_cents):
                    metrics.BUDGET_REFUSED.inc()
                    continue
                batch.append(rec)
                if len(served) + len(batch) == k:
                    break
            if not batch:
                break
            claimed = self._exposures.claim(
                customer_id, [(r.promotion.promotion_id, r.promotion.max_per_customer_per_day) for r in batch], now
            )
            for rec in batch:
                if rec.promotion.promotion_id in claimed:
                    served.append(rec)
                    continue
                metrics.FREQUENCY_REFUSED.inc()
                if arm == TREATMENT:
                    self._promotions.refund(rec.promotion.promotion_id, rec.cost_cents)
        return served


def _static_features(promotion: Promotion, product: Product, discount: float) -> list[float]:
    """The customer-independent part of a candidate's model features (computed once per table, not per request)."""
    facts = CandidateFacts(
        product.category,
        product.sku,
        discount / product.price_cents,
        promotion.type,
        promotion.sku is None,
        float(product.price_cents),
        float(product.cost_cents),
    )
    return list(candidate_vector(facts, None, NO_ACTIVITY)[STATIC_FROM:])
