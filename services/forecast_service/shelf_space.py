"""Shelf space per item within a store, from forecast demand.

Allocation rule (documented in the ``GET /predict`` description too)::

    floor_i  = min(min_share_pct, 100 / n)                      every item keeps a facing
    weight_i = forecast_units_i × facings_factor_i              facings_factor defaults to 1
    share_i  = floor_i + (100 − Σ floor) × weight_i / Σ weight  (equal split of the rest if Σ weight = 0)

Shares are rounded to 0.01 % with largest-remainder rounding, so they sum to exactly 100 per store.
The facings factor is a product attribute (``products.facings_factor``, e.g. 2 for an item twice as
wide as the typical one); space is then proportional to the shelf room the forecast units occupy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

DEFAULT_MIN_SHARE_PCT = 2.0
_STEPS = 10_000  # 100 % in units of 0.01 %


def allocate_shelf_space(
    forecast_units: Sequence[float],
    facings_factors: Sequence[float] | None = None,
    min_share_pct: float = DEFAULT_MIN_SHARE_PCT,
) -> list[float]:
    """Percentages (2 decimals) summing to 100 for items in one store, in the input order."""
    n = len(forecast_units)
    if n == 0:
        return []
    units = np.clip(np.asarray(forecast_units, dtype=float), 0.0, None)
    units[~np.isfinite(units)] = 0.0
    factors = np.ones(n) if facings_factors is None else np.clip(np.asarray(facings_factors, dtype=float), 0.0, None)
    weight = units * factors
    floor = min(max(min_share_pct, 0.0), 100.0 / n)
    rest = 100.0 - floor * n
    total = weight.sum()
    share = floor + (rest * weight / total if total > 0 else np.full(n, rest / n))
    return _round_to_hundred(share)


def _round_to_hundred(share: np.ndarray) -> list[float]:
    """Largest-remainder rounding to 0.01 so the parts add up to 100.00 exactly."""
    scaled = share / share.sum() * _STEPS
    base = np.floor(scaled).astype(int)
    short = _STEPS - int(base.sum())
    order = np.argsort(-(scaled - base), kind="stable")
    base[order[:short]] += 1
    return [round(int(v) / 100, 2) for v in base]


def facings_factor(product: Mapping | None) -> float:
    """A product's facings factor (shelf room per unit relative to a typical item), default 1."""
    if not product:
        return 1.0
    value = product.get("facings_factor", 1.0)
    try:
        value = float(value)
    except (TypeError, ValueError):
        return 1.0
    return value if value > 0 else 1.0
