"""Reorder points and suggested orders from a daily forecast with a p10–p90 interval.

For one SKU × store with lead time ``L`` days (forecast days 1..L)::

    demand_over_lead_time μ_L = Σ p50_d                                  (d = 1..L)
    daily spread          σ_d = (p90_d − p50_d) / 1.2816                  (z of the 90th percentile)
    lead-time spread      σ_L = sqrt(Σ σ_d²)                             (days independent)
    safety_stock         SS  = z(service_level) × σ_L
    reorder_point        ROP = μ_L + SS
    order_up_to          S   = ROP + Σ p50 over the next ``review_days`` after the lead time
    suggested_order          = ceil(S − on_hand) if on_hand ≤ ROP else 0   (never negative)
    stockout_risk            = P(D_L > on_hand) = 1 − Φ((on_hand − μ_L) / σ_L), D_L ~ Normal(μ_L, σ_L)
    days_of_cover            = days until cumulative p50 exceeds on_hand (linear within the day;
                               past the forecast, at the forecast's mean daily rate)

The interval is read as a normal one because the model's intervals are symmetric-ish count noise
(scaled residual quantiles); the upper half is used since stock-outs live there.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import NormalDist

import numpy as np

Z_P90 = NormalDist().inv_cdf(0.9)  # 1.2816


@dataclass(frozen=True)
class ReorderSuggestion:
    sku: str
    store_id: str
    on_hand: float
    lead_time_days: int
    service_level: float
    demand_over_lead_time: float
    safety_stock: float
    reorder_point: float
    order_up_to: float
    suggested_order: float
    days_of_cover: float | None
    stockout_risk: float

    def as_dict(self) -> dict:
        return asdict(self)


def suggest_reorder(
    sku: str,
    store_id: str,
    on_hand: float,
    p50: np.ndarray,
    p90: np.ndarray,
    lead_time_days: int,
    service_level: float,
    review_days: int = 7,
) -> ReorderSuggestion:
    """One reorder suggestion from daily p50/p90 forecasts starting tomorrow (see module doc)."""
    if not 1 <= lead_time_days <= len(p50):
        raise ValueError(f"lead_time_days must be between 1 and {len(p50)}, got {lead_time_days}")
    if not 0.5 <= service_level < 1.0:
        raise ValueError(f"service_level must be in [0.5, 1), got {service_level}")
    p50 = np.clip(np.asarray(p50, dtype=float), 0.0, None)
    p90 = np.maximum(np.asarray(p90, dtype=float), p50)
    lead = slice(0, lead_time_days)
    mu = float(p50[lead].sum())
    sigma = float(np.sqrt((((p90[lead] - p50[lead]) / Z_P90) ** 2).sum()))
    safety = NormalDist().inv_cdf(service_level) * sigma
    reorder_point = mu + safety
    review = p50[lead_time_days : lead_time_days + review_days]
    order_up_to = reorder_point + float(review.sum())
    suggested = math.ceil(order_up_to - on_hand - 1e-9) if on_hand <= reorder_point else 0
    return ReorderSuggestion(
        sku=sku,
        store_id=store_id,
        on_hand=on_hand,
        lead_time_days=lead_time_days,
        service_level=service_level,
        demand_over_lead_time=round(mu, 2),
        safety_stock=round(safety, 2),
        reorder_point=round(round(mu, 2) + round(safety, 2), 2),
        order_up_to=round(order_up_to, 2),
        suggested_order=float(max(0, suggested)),
        days_of_cover=days_of_cover(on_hand, p50),
        stockout_risk=round(stockout_probability(on_hand, mu, sigma), 4),
    )


def stockout_probability(on_hand: float, mean: float, sigma: float) -> float:
    """P(demand > on_hand) for demand ~ Normal(mean, sigma); a step when sigma is 0."""
    stock = max(on_hand, 0.0)
    if sigma <= 0:
        return 1.0 if mean > stock else 0.0
    return 1.0 - NormalDist(mean, sigma).cdf(stock)


def days_of_cover(on_hand: float, p50: np.ndarray) -> float | None:
    """How many days the stock lasts at forecast demand; None when nothing is forecast to sell."""
    stock = max(on_hand, 0.0)
    daily = np.clip(np.asarray(p50, dtype=float), 0.0, None)
    if daily.sum() <= 0:
        return None
    cumulative = np.cumsum(daily)
    if stock < cumulative[-1]:
        day = int(np.searchsorted(cumulative, stock, side="right"))
        before = cumulative[day - 1] if day > 0 else 0.0
        return round(day + (stock - before) / daily[day], 1)
    return round(len(daily) + (stock - cumulative[-1]) / daily.mean(), 1)
