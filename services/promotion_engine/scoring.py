"""How a (customer, promotion, SKU) candidate is scored: conversion, uplift, margin, cost. Pure functions.

Notation per candidate: price p, unit cost c, discount per unit d (cents); b = P(the customer buys
the SKU within the attribution window without the offer), u = the offer's uplift on that
probability (treated minus not treated). Then

- expected conversion when offered:        b + u
- expected cost (discount paid):            (b + u) * d          — charged to the budget on serve
- expected incremental margin:              (b + u)(p - d - c) - b(p - c)  =  u(p - d - c) - b d

The second term is why a discount to someone who would buy anyway loses money: a promotion is
recommended only when the incremental margin is positive.

**Heuristic prior** (used until an uplift model is trained, and always for b), in plain numbers:

- b = 0.02 + 0.04 * popularity + 0.20 * affinity * exp(-recency_days / 30)
  (popularity: the SKU's units sold relative to the best seller; affinity: the customer's share of
  spend in the promotion's category; a customer with no orders has affinity 0)
- u = 0.5 * discount_fraction * (0.3 + 0.4 * popularity + 0.3 * affinity) * (1 + deal_share) * (1 - b)
  (deal_share: share of the customer's orders that used a discount or promotion), + 0.01 if the
  customer viewed the SKU in the last minutes.

Then for every scorer, model or heuristic: a SKU in an abandoned cart gets u := 1.5 u + 0.02 (the
customer already wanted it; a nudge closes the sale), and u is clipped to [-b, 0.9 - b].

**Rank score** = expected incremental margin, times (1 + overstock_boost) when the SKU is
overstocked (cover at or above ``overstock_cover``): clearing surplus stock is preferred.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BASE_RATE = 0.02
POPULARITY_BASE = 0.04
AFFINITY_BASE = 0.20
RECENCY_SCALE_DAYS = 30.0
ELASTICITY = 0.5
VIEWED_UPLIFT = 0.01
CART_UPLIFT_FACTOR = 1.5
CART_UPLIFT_BONUS = 0.02
MAX_CONVERSION = 0.9
HIGH_UPLIFT = 0.05


def heuristic_base_rate(popularity: np.ndarray, affinity: np.ndarray, recency_days: float) -> np.ndarray:
    """b: purchase probability without an offer (see the module docstring)."""
    recency_weight = 0.0 if np.isnan(recency_days) else float(np.exp(-recency_days / RECENCY_SCALE_DAYS))
    return BASE_RATE + POPULARITY_BASE * popularity + AFFINITY_BASE * affinity * recency_weight


def heuristic_uplift(
    discount_frac: np.ndarray,
    popularity: np.ndarray,
    affinity: np.ndarray,
    deal_share: float,
    viewed: np.ndarray,
    base_rate: np.ndarray,
) -> np.ndarray:
    """u before the cart boost: bigger discounts, popular items, the customer's own categories, deal-seekers."""
    u = ELASTICITY * discount_frac * (0.3 + 0.4 * popularity + 0.3 * affinity) * (1.0 + deal_share) * (1.0 - base_rate)
    return u + VIEWED_UPLIFT * viewed


def apply_cart_boost(uplift: np.ndarray, in_cart: np.ndarray, base_rate: np.ndarray) -> np.ndarray:
    """Abandoned-cart SKUs get a stronger nudge; the result is clipped so b + u stays a probability."""
    boosted = np.where(in_cart > 0, uplift * CART_UPLIFT_FACTOR + CART_UPLIFT_BONUS, uplift)
    return np.minimum(
        np.maximum(boosted, -base_rate), MAX_CONVERSION - base_rate
    )  # np.clip, without its Python-level dispatch


@dataclass(frozen=True)
class Economics:
    """Per-candidate expected conversion, cost and incremental margin (arrays, cents)."""

    conversion: np.ndarray
    cost_cents: np.ndarray
    incremental_margin_cents: np.ndarray


def economics(
    base_rate: np.ndarray, uplift: np.ndarray, price: np.ndarray, cost: np.ndarray, discount: np.ndarray
) -> Economics:
    """The formulas of the module docstring."""
    conversion = base_rate + uplift
    return Economics(conversion, conversion * discount, uplift * (price - discount - cost) - base_rate * discount)


def rank_score(incremental_margin: np.ndarray, overstocked: np.ndarray, overstock_boost: float) -> np.ndarray:
    """Margin, boosted for overstocked SKUs when positive (a loss is never made to look better)."""
    return np.where(
        (incremental_margin > 0) & overstocked, incremental_margin * (1.0 + overstock_boost), incremental_margin
    )
