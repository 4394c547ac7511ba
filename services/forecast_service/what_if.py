"""Price and promotion scenarios: forecast units under a different price, by constant elasticity.

    scenario_units = baseline_units × (new_price / old_price) ** elasticity

``new_price / old_price`` is ``1 + price_change_pct/100`` or ``1 − promotion_discount_pct/100`` (a
promotion is treated as a temporary price cut, without an extra promotion-display lift).

The elasticity is estimated from the SKU's own history when it varied its price enough: an OLS fit of
``ln(units) = a + e·ln(price) + weekday effects`` over days with sales (all stores and channels,
price = revenue / units, so discounts count). It is used only if there are ≥ 28 such days, the
price's coefficient of variation is ≥ 3 %, ``e`` is in [−6, −0.05] and its t-statistic is ≤ −2;
otherwise the category default (−1.5, a typical grocery/retail own-price elasticity) is used.
The answer always says which one was used and why.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

DEFAULT_ELASTICITY = -1.5
CATEGORY_ELASTICITY: dict[str, float] = {}  # per-category overrides; empty = every category uses the default
MIN_DAYS = 28
MIN_PRICE_CV = 0.03
ELASTICITY_RANGE = (-6.0, -0.05)
MAX_T_STAT = -2.0


@dataclass(frozen=True)
class Elasticity:
    value: float
    source: str  # "own_history" | "category_default"
    note: str
    days_used: int

    def as_dict(self) -> dict:
        return asdict(self)


def category_default(category: str | None) -> float:
    return CATEGORY_ELASTICITY.get(category or "", DEFAULT_ELASTICITY)


def estimate_elasticity(daily: pd.DataFrame, category: str | None = None) -> Elasticity:
    """Own-price elasticity from ``date, units, price_cents`` rows (days with sales), or the default."""
    fallback = category_default(category)
    rows = daily[(daily["units"] > 0) & (daily["price_cents"] > 0)]
    n = len(rows)
    if n < MIN_DAYS:
        return Elasticity(fallback, "category_default", f"only {n} days with sales (need {MIN_DAYS})", n)
    price = rows["price_cents"].to_numpy(dtype=float)
    cv = float(price.std() / price.mean())
    if cv < MIN_PRICE_CV:
        return Elasticity(
            fallback,
            "category_default",
            f"price barely varied (coefficient of variation {cv:.1%}, need {MIN_PRICE_CV:.0%})",
            n,
        )
    weekday = pd.to_datetime(rows["date"]).dt.day_of_week.to_numpy()
    design = np.column_stack([np.ones(n), np.log(price), *[(weekday == d).astype(float) for d in range(1, 7)]])
    target = np.log(rows["units"].to_numpy(dtype=float))
    coef, _, rank, _ = np.linalg.lstsq(design, target, rcond=None)
    if rank < design.shape[1]:
        return Elasticity(fallback, "category_default", "price history is collinear with weekdays", n)
    residual = target - design @ coef
    dof = max(n - design.shape[1], 1)
    covariance = np.linalg.inv(design.T @ design) * float(residual @ residual) / dof
    value, stderr = float(coef[1]), float(np.sqrt(covariance[1, 1]))
    t_stat = value / stderr if stderr > 0 else -np.inf
    low, high = ELASTICITY_RANGE
    if not (low <= value <= high) or t_stat > MAX_T_STAT:
        return Elasticity(
            fallback,
            "category_default",
            f"own-history estimate {value:.2f} (t={t_stat:.1f}) is implausible or not significant",
            n,
        )
    return Elasticity(round(value, 3), "own_history", f"log-log fit over {n} days, t={t_stat:.1f}", n)


def price_multiplier(price_change_pct: float | None, promotion_discount_pct: float | None) -> float:
    """New price / old price for exactly one of the two scenario knobs."""
    if (price_change_pct is None) == (promotion_discount_pct is None):
        raise ValueError("give exactly one of price_change_pct or promotion_discount_pct")
    if price_change_pct is not None:
        return 1.0 + price_change_pct / 100.0
    return 1.0 - float(promotion_discount_pct) / 100.0  # type: ignore[arg-type]


def scenario_units(baseline_units: float, multiplier: float, elasticity: float) -> float:
    """Units at the new price under constant elasticity."""
    if multiplier <= 0:
        raise ValueError("the scenario price must stay above zero")
    return baseline_units * multiplier**elasticity
