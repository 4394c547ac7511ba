"""Which promotions to offer one customer now: eligibility, stock, caps, scoring, budget, exposure log.

``Recommender.recommend`` in order:

1. **Arm**: the hash-based control group (``assignment``) — control customers get nothing, but the
   promotions they *would* have got are logged as control exposures, so both arms of every
   experiment are drawn from the same eligible population.
2. **Eligible promotions**: running now (``starts_at <= now < ends_at``), in this channel, budget
   left, and under the customer's frequency cap for today.
3. **Candidates**: each promotion's SKU, or every SKU of its category, that has stock at the
   location with cover (on_hand / reorder_threshold) at or above the promotion's
   ``stock_cover_threshold`` — a SKU about to run out is never promoted.
4. **Scores** (``scoring``): uplift from the active model, or the heuristic prior before one is
   trained; abandoned-cart boost; expected incremental margin after the discount; overstocked SKUs
   boosted. Only a positive expected incremental margin is recommended; a category promotion
   offers its best-scoring SKU.
5. **Serve** the top ``k``: charge each expected cost to the budget (atomic, conditional), claim
   the frequency counter, publish the exposure event.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from services.promotion_engine import metrics, scoring
from services.promotion_engine.assignment import CONTROL, TREATMENT, arm_for
from services.promotion_engine.catalog import NO_STOCK, Catalog, Product, StockLevel, StockView
from services.promotion_engine.config import PromotionConfig
from services.promotion_engine.errors import UpliftError
from services.promotion_engine.exceptions import InvalidField
from services.promotion_engine.exposure_log import ExposureLog
from services.promotion_engine.features import (FEATURE_COLUMNS, CandidateFacts, CustomerHistory, OrderHistory, RecentActivity, RecentClicks,
                                                customer_vector, feature_matrix)
from services.promotion_engine.promotions import Promotion, PromotionStore
from services.promotion_engine.registry import ModelRegistry

log = logging.getLogger(__name__)

AFFINITY_REASON = 0.3
POPULAR_REASON = 0.5


@dataclass(frozen=True)
class Candidate:
    promotion: Promotion
    product: Product
    stock: StockLevel
    discount_cents: int


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
    def __init__(self, config: PromotionConfig, promotions: PromotionStore, catalog: Catalog, stock: StockView, history: OrderHistory,
                 clicks: RecentClicks, exposures: ExposureLog, models: ModelRegistry) -> None:
        self._config = config
        self._promotions = promotions
        self._catalog = catalog
        self._stock = stock
        self._history = history
        self._clicks = clicks
        self._exposures = exposures
        self._models = models

    def recommend(self, customer_id: str, k: int, channel: str, store_id: str | None = None, now: datetime | None = None) -> RecommendationResult:
        now = now or datetime.now(timezone.utc)
        arm = arm_for(customer_id, self._config.control_salt, self._config.control_share)
        location, levels = self._stock_at(channel, store_id)
        history = self._history.customer(customer_id)
        activity = self._clicks.activity(customer_id, now)
        cold_start = history is None and activity.clicks == 0
        promotions = self._under_frequency_cap(customer_id, self._promotions.servable(now, channel), now)
        candidates = self._candidates(promotions, levels)
        ranked, scored_by = self._rank(candidates, history, activity, now, cold_start)
        chosen = self._serve(customer_id, arm, ranked, k, now)
        for rec in chosen:
            self._exposures.publish(customer_id, rec.promotion.promotion_id, arm, rec.product.sku, channel, now)
        if chosen:
            metrics.SERVED.labels(arm).inc(len(chosen))
        shown = chosen if arm == TREATMENT else []
        return RecommendationResult(customer_id, arm, channel, location, scored_by, cold_start, now, shown, len(chosen) if arm == CONTROL else 0)

    # --- steps ------------------------------------------------------------------------------------

    def _stock_at(self, channel: str, store_id: str | None) -> tuple[str | None, dict[str, StockLevel]]:
        """Stock of the named store; else of the channel's default location if it has stock; else summed over stores."""
        if store_id is not None:
            levels = self._stock.levels(store_id)
            if not levels:
                raise InvalidField("store_id", f"no stock is recorded for store '{store_id}'", location="query")
            return store_id, levels
        default = {"online": self._config.default_store_online, "marketplace": self._config.default_store_marketplace}.get(channel)
        if default is not None:
            levels = self._stock.levels(default)
            if levels:
                return default, levels
        return None, self._stock.levels(None)

    def _under_frequency_cap(self, customer_id: str, promotions: list[Promotion], now: datetime) -> list[Promotion]:
        if not promotions:
            return promotions
        served = self._exposures.known_today(customer_id, (p.promotion_id for p in promotions), now)
        return [p for p in promotions if served.get(p.promotion_id, 0) < p.max_per_customer_per_day]

    def _candidates(self, promotions: list[Promotion], levels: dict[str, StockLevel]) -> list[Candidate]:
        products = self._catalog.products
        candidates = []
        for promotion in promotions:
            skus = [promotion.sku] if promotion.sku else self._catalog.skus_in(promotion.category or "", reload_on_miss=False)
            for sku in skus:
                product = products.get(sku)
                level = levels.get(sku, NO_STOCK)
                if product is None or level.on_hand <= 0 or level.cover < promotion.stock_cover_threshold:
                    continue
                discount = promotion.discount_per_unit(product.price_cents)
                if discount > 0:
                    candidates.append(Candidate(promotion, product, level, discount))
        return candidates

    def _uplift(self, candidates: list[Candidate], history: CustomerHistory | None, activity: RecentActivity, now: datetime,
                heuristic: np.ndarray) -> tuple[np.ndarray, str]:
        model = self._models.active
        if model is None:
            return heuristic, "heuristic"
        if model.feature_columns != FEATURE_COLUMNS:
            log.warning("model %s was trained on other feature columns; using the heuristic", model.version)
            return heuristic, "heuristic"
        facts = [CandidateFacts(c.product.category, c.product.sku, c.discount_cents / c.product.price_cents, c.promotion.type,
                                c.promotion.sku is None, float(c.product.price_cents), float(c.product.cost_cents)) for c in candidates]
        X = feature_matrix(customer_vector(history, activity, now), facts, history, activity)
        try:
            return model.learner.predict_uplift(X), f"model:{model.version}"
        except (UpliftError, ValueError) as exc:  # a broken model must not take serving down: fall back, loudly
            log.error("model %s failed to score (%s); using the heuristic", model.version, exc)
            return heuristic, "heuristic"

    def _rank(self, candidates: list[Candidate], history: CustomerHistory | None, activity: RecentActivity, now: datetime,
              cold_start: bool) -> tuple[list[Recommendation], str]:
        if not candidates:
            model = self._models.active
            return [], f"model:{model.version}" if model else "heuristic"
        price = np.array([c.product.price_cents for c in candidates], dtype=float)
        cost = np.array([c.product.cost_cents for c in candidates], dtype=float)
        discount = np.array([c.discount_cents for c in candidates], dtype=float)
        popularity = np.array([self._history.popularity(c.product.sku) for c in candidates])
        affinities: dict[str, float] = {}
        if history is not None:
            for category in {c.product.category for c in candidates}:
                affinities[category] = history.affinity(category)
        affinity = np.array([affinities.get(c.product.category, 0.0) for c in candidates])
        viewed = np.array([float(c.product.sku in activity.viewed) for c in candidates])
        in_cart = np.array([float(c.product.sku in activity.in_cart) for c in candidates])
        cover = np.array([c.stock.cover for c in candidates])
        recency = history.recency_days(now) if history else math.nan
        base = scoring.heuristic_base_rate(popularity, affinity, recency)
        prior = scoring.heuristic_uplift(discount / price, popularity, affinity, history.deal_share if history else 0.0, viewed, base)
        uplift, scored_by = self._uplift(candidates, history, activity, now, prior)
        uplift = scoring.apply_cart_boost(uplift, in_cart, base)
        econ = scoring.economics(base, uplift, price, cost, discount)
        overstocked = cover >= self._config.overstock_cover
        score = scoring.rank_score(econ.incremental_margin_cents, overstocked, self._config.overstock_boost)
        ranked: list[Recommendation] = []
        seen: set[str] = set()
        for i in np.argsort(-score, kind="stable"):
            c = candidates[i]
            if econ.incremental_margin_cents[i] <= 0 or c.promotion.promotion_id in seen:
                continue
            seen.add(c.promotion.promotion_id)
            reasons = [name for name, applies in (
                ("cold_start", cold_start), ("abandoned_cart", in_cart[i] > 0), ("recently_viewed", viewed[i] > 0 and in_cart[i] == 0),
                ("overstocked", overstocked[i]), ("high_uplift", uplift[i] >= scoring.HIGH_UPLIFT),
                ("category_affinity", affinity[i] >= AFFINITY_REASON), ("popular", popularity[i] >= POPULAR_REASON)) if applies]
            ranked.append(Recommendation(c.promotion, c.product, c.stock, "overstocked" if overstocked[i] else "ok", c.discount_cents,
                                         float(econ.conversion[i]), float(uplift[i]), float(econ.incremental_margin_cents[i]),
                                         max(1, math.ceil(econ.cost_cents[i])), float(score[i]), tuple(reasons)))
        return ranked, scored_by

    def _serve(self, customer_id: str, arm: str, ranked: list[Recommendation], k: int, now: datetime) -> list[Recommendation]:
        """Take the top k that the budget still covers (treatment only: control costs nothing) and the cap admits.

        Budget first (one conditional update per promotion), then the frequency counters (one bulk
        write); a promotion another server capped meanwhile gets its charge refunded and the next
        candidate takes its place.
        """
        served: list[Recommendation] = []
        queue = iter(ranked)
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
            claimed = self._exposures.claim(customer_id, [(r.promotion.promotion_id, r.promotion.max_per_customer_per_day) for r in batch], now)
            for rec in batch:
                if rec.promotion.promotion_id in claimed:
                    served.append(rec)
                    continue
                metrics.FREQUENCY_REFUSED.inc()
                if arm == TREATMENT:
                    self._promotions.refund(rec.promotion.promotion_id, rec.cost_cents)
        return served
