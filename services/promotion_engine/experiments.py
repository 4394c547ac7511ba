"""Measuring a promotion as an experiment: treatment vs control conversion, lift with its CI, margin, ROI.

Unit of analysis: the customer. A customer's **first** exposure to the promotion decides the arm
and starts the attribution window (engine-served arms never mix: control is a fixed hash group).
**Conversion**: an order by that customer containing a promoted SKU (the promotion's SKU, or any
SKU of its category) with ``t0 <= occurred_at <= t0 + window``. Revenue, margin and discount sum
over those promoted lines only (revenue is net of discount, as the data consumer stores it).
Windows still open are counted as they stand; ``open_windows`` says how many.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from pymongo.database import Database

from services.common import read_models

Z_95 = 1.959963984540054  # two-sided 95% quantile of the standard normal


@dataclass(frozen=True)
class ArmStats:
    n: int
    conversions: int
    revenue_cents: int
    margin_cents: int
    discount_cents: int

    @property
    def conversion(self) -> float:
        return self.conversions / self.n if self.n else 0.0


@dataclass(frozen=True)
class ExperimentResult:
    promotion_id: str
    window_days: int
    open_windows: int
    treatment: ArmStats
    control: ArmStats
    lift: float | None
    lift_ci: tuple[float, float] | None
    relative_lift: float | None
    relative_lift_ci: tuple[float, float] | None
    incremental_margin_cents: int | None
    roi: float | None


def difference_of_proportions(
    x_t: int, n_t: int, x_c: int, n_c: int, z: float = Z_95
) -> tuple[float, float, float] | None:
    """Lift and its CI, normal approximation (Wald, unpooled):

    p_t = x_t / n_t, p_c = x_c / n_c, lift = p_t - p_c,
    SE = sqrt(p_t (1 - p_t) / n_t + p_c (1 - p_c) / n_c), CI = lift -/+ z * SE.
    ``None`` when an arm is empty. (With both rates at 0 or 1 the SE is 0 and the CI collapses to
    the point: the approximation says nothing there; read the counts.)
    """
    if n_t == 0 or n_c == 0:
        return None
    p_t, p_c = x_t / n_t, x_c / n_c
    lift = p_t - p_c
    se = math.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c)
    return lift, lift - z * se, lift + z * se


def first_exposures(exposures: Iterable[Mapping]) -> dict[str, tuple[datetime, str]]:
    """Each customer's first exposure time and its arm."""
    first: dict[str, tuple[datetime, str]] = {}
    for doc in exposures:
        seen = first.get(doc["customer_id"])
        if seen is None or doc["occurred_at"] < seen[0]:
            first[doc["customer_id"]] = (doc["occurred_at"], doc["arm"])
    return first


@dataclass
class _Outcome:
    converted: bool = False
    revenue: int = 0
    margin: int = 0
    discount: int = 0


def attribute(
    first: Mapping[str, tuple[datetime, str]], orders: Iterable[Mapping], skus: set[str], window: timedelta
) -> dict[str, _Outcome]:
    """Per exposed customer, the promoted lines they bought within the window after their first exposure."""
    outcomes: dict[str, _Outcome] = {}
    for order in orders:
        exposed = first.get(order["customer_id"])
        if exposed is None or not exposed[0] <= order["occurred_at"] <= exposed[0] + window:
            continue
        lines = [line for line in order.get("lines", ()) if line.get("sku") in skus]
        if not lines:
            continue
        outcome = outcomes.setdefault(order["customer_id"], _Outcome())
        outcome.converted = True
        for line in lines:
            revenue = int(
                line.get(
                    "revenue_cents",
                    line.get("quantity", 0) * line.get("unit_price_cents", 0) - line.get("discount_cents", 0),
                )
            )
            outcome.revenue += revenue
            outcome.margin += revenue - int(line.get("cost_cents", 0))
            outcome.discount += int(line.get("discount_cents", 0))
    return outcomes


def _arm(first: Mapping[str, tuple[datetime, str]], outcomes: Mapping[str, _Outcome], arm: str) -> ArmStats:
    members = [c for c, (_, a) in first.items() if a == arm]
    results = [outcomes[c] for c in members if c in outcomes]
    return ArmStats(
        len(members),
        sum(o.converted for o in results),
        sum(o.revenue for o in results),
        sum(o.margin for o in results),
        sum(o.discount for o in results),
    )


def summarize(
    promotion_id: str,
    first: Mapping[str, tuple[datetime, str]],
    outcomes: Mapping[str, _Outcome],
    window_days: int,
    now: datetime,
) -> ExperimentResult:
    """The numbers of ``ExperimentResult`` from first exposures and attributed outcomes.

    incremental margin = n_t * (margin_t / n_t - margin_c / n_c): what the treated arm earned
    beyond what the same number of customers earned without the offer (discounts already netted
    out); ROI = incremental margin / discount given to the treated arm.
    """
    treatment, control = _arm(first, outcomes, "treatment"), _arm(first, outcomes, "control")
    window = timedelta(days=window_days)
    open_windows = sum(1 for at, _ in first.values() if at + window > now)
    stats = difference_of_proportions(treatment.conversions, treatment.n, control.conversions, control.n)
    lift = lift_ci = relative = relative_ci = incremental = roi = None
    if stats is not None:
        lift, lo, hi = stats
        lift_ci = (lo, hi)
        if control.conversion > 0:
            relative = lift / control.conversion
            relative_ci = (lo / control.conversion, hi / control.conversion)
        incremental = round(treatment.n * (treatment.margin_cents / treatment.n - control.margin_cents / control.n))
        roi = incremental / treatment.discount_cents if treatment.discount_cents else None
    return ExperimentResult(
        promotion_id,
        window_days,
        open_windows,
        treatment,
        control,
        lift,
        lift_ci,
        relative,
        relative_ci,
        incremental,
        roi,
    )


def measure_experiment(
    db: Database, promotion_id: str, skus: set[str], window_days: int, now: datetime
) -> ExperimentResult:
    """Read the promotion's exposures and the exposed customers' orders, and summarize."""
    first = first_exposures(
        db[read_models.EXPOSURES].find({"promotion_id": promotion_id}, {"customer_id": 1, "arm": 1, "occurred_at": 1})
    )
    outcomes: dict[str, _Outcome] = {}
    if first:
        window = timedelta(days=window_days)
        starts = [at for at, _ in first.values()]
        orders = db[read_models.ORDERS].find(
            {"customer_id": {"$in": list(first)}, "occurred_at": {"$gte": min(starts), "$lte": max(starts) + window}},
            {"customer_id": 1, "occurred_at": 1, "lines": 1},
        )
        outcomes = attribute(first, orders, skus, window)
    return summarize(promotion_id, first, outcomes, window_days, now)
