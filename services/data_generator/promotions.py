"""The shop's promotion calendar: campaign waves of a few promotions every four weeks.

Waves are derived from the seed and the wave number alone, so the calendar is endless (a stream
can run for simulated months) yet any promotion can be recomputed from its id.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Literal

from services.data_generator.catalog import CATEGORIES, Product

WAVE_DAYS = 28
PROMOTIONS_PER_WAVE = 4
DISCOUNTS_PCT = (10, 15, 20, 25, 30)


@dataclass(frozen=True)
class Promotion:
    promotion_id: str
    scope: Literal["sku", "category"]
    target: str  # the SKU, or the category name
    category: str
    discount_pct: int
    starts_at: datetime  # inclusive, midnight UTC
    ends_at: datetime  # exclusive, midnight UTC
    strength: float  # scale of its true effect on purchase probability

    def is_active(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at

    def as_dict(self) -> dict[str, object]:
        return {
            "promotion_id": self.promotion_id,
            "scope": self.scope,
            "target": self.target,
            "category": self.category,
            "discount_pct": self.discount_pct,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
        }


class PromotionCalendar:
    """Which promotions run when; wave ``k`` covers days ``[28k, 28k + 28)`` after the start's midnight."""

    def __init__(self, seed: int, start: datetime, catalog: tuple[Product, ...]) -> None:
        self._seed = seed
        self._origin = start.replace(hour=0, minute=0, second=0, microsecond=0)
        self._catalog = catalog
        self._tag = f"{random.Random(f'{seed}:promotions').getrandbits(16):04X}"  # keeps ids of different seeds apart
        self.wave = lru_cache(maxsize=64)(self._build_wave)

    def active(self, at: datetime) -> tuple[Promotion, ...]:
        """Promotions running at ``at``; a wave's promotions may run into the next wave's days."""
        k = (at - self._origin).days // WAVE_DAYS
        return tuple(p for w in (k - 1, k) if w >= 0 for p in self.wave(w) if p.is_active(at))

    def started_by(self, at: datetime) -> tuple[Promotion, ...]:
        """Every promotion that had started by ``at``: the ones a truth table for a run must cover."""
        last = (at - self._origin).days // WAVE_DAYS
        return tuple(p for w in range(last + 1) for p in self.wave(w) if p.starts_at <= at)

    def get(self, promotion_id: str) -> Promotion:
        """A promotion by id (``PR<tag>-<wave>-<n>``); ``KeyError`` if this calendar never had it."""
        try:
            tag, wave, number = promotion_id.removeprefix("PR").split("-")
            if tag == self._tag:
                return self.wave(int(wave))[int(number)]
        except (ValueError, IndexError):
            pass
        raise KeyError(f"unknown promotion {promotion_id!r}")

    def _build_wave(self, k: int) -> tuple[Promotion, ...]:
        rng = random.Random(f"{self._seed}:promotions:{k}")
        wave_start = self._origin + timedelta(days=WAVE_DAYS * k)
        promotions = []
        for n in range(PROMOTIONS_PER_WAVE):
            starts = wave_start + timedelta(days=rng.randint(0, WAVE_DAYS - 10))
            if rng.random() < 0.5:
                product = rng.choices(self._catalog, weights=[p.popularity for p in self._catalog])[0]
                scope, target, category = "sku", product.sku, product.category
            else:
                category = rng.choice(CATEGORIES).name
                scope, target = "category", category
            promotions.append(
                Promotion(
                    promotion_id=f"PR{self._tag}-{k:03d}-{n}",
                    scope=scope,
                    target=target,
                    category=category,
                    discount_pct=rng.choice(DISCOUNTS_PCT),
                    starts_at=starts,
                    ends_at=starts + timedelta(days=rng.randint(5, 12)),
                    strength=round(rng.uniform(0.04, 0.12), 4),
                )
            )
        return tuple(promotions)
