"""Read use cases over the active forecast table: forecasts, shelf space, reorders, what-if scenarios.

Each takes the `ForecastTable` and the MongoDB handle it needs (stock, catalog, price history) and
returns plain dicts; unknown SKUs and stores raise `UnknownEntityError` naming them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from pymongo.database import Database

from services.common import read_models
from services.forecast_service import reorder as reorder_rules
from services.forecast_service import what_if as scenarios
from services.forecast_service.errors import UnknownEntityError
from services.forecast_service.model.errors import ForecastInputError
from services.forecast_service.sales_history import daily_price_and_units, on_hand, product
from services.forecast_service.serving import ForecastTable
from services.forecast_service.shelf_space import allocate_shelf_space, facings_factor


def _check_horizon(table: ForecastTable, days: int, name: str) -> None:
    if not 1 <= days <= table.horizon:
        raise ForecastInputError(
            f"{name} must be between 1 and {table.horizon} (the active model's horizon), got {days}"
        )


def require_store(table: ForecastTable, db: Database, store_id: str) -> None:
    if store_id not in table.stores and db[read_models.STORES].find_one({"_id": store_id}, {"_id": 1}) is None:
        raise UnknownEntityError("store_id", store_id)


def ensure_series(table: ForecastTable, db: Database, sku: str, store_id: str) -> None:
    """Make sure the pair is in the table, forecasting it with the peer fallback if the catalog knows
    both SKU and store but the model never saw them sell together."""
    if table.is_cached(sku, store_id):
        return
    if sku not in table.skus and db[read_models.PRODUCTS].find_one({"_id": sku}, {"_id": 1}) is None:
        raise UnknownEntityError("sku", sku)
    require_store(table, db, store_id)
    table.add_unseen(sku, store_id)


def forecast_json(table: ForecastTable, db: Database, sku: str, store_id: str, horizon: int) -> bytes:
    """``GET /forecast/{sku}`` body: p10/p50/p90 per day for ``horizon`` days and 60 days of history."""
    _check_horizon(table, horizon, "horizon")
    body = table.forecast_json(sku, store_id, horizon)
    if body is None:
        ensure_series(table, db, sku, store_id)
        body = table.forecast_json(sku, store_id, horizon)
    assert body is not None
    return body


def facings_factors(db: Database) -> dict[str, float]:
    """Every product's facings factor (shelf room per unit vs a typical item; default 1)."""
    return {doc["_id"]: facings_factor(doc) for doc in db[read_models.PRODUCTS].find({}, {"facings_factor": 1})}


def shelf_plan(
    table: ForecastTable, store_id: str | None, days: int, factors: Mapping[str, float]
) -> list[dict[str, Any]]:
    """Per item and store: forecast units over ``days`` and its share of the store's shelf (sums to 100).

    Pure CPU over the table (no I/O), so the API runs it on the event loop; check an unknown
    ``store_id`` with `require_store` first.
    """
    _check_horizon(table, days, "days")
    rows = table.series_of_store(store_id)
    predicted = table.p50[rows, :days].sum(axis=1) if rows else np.zeros(0)
    by_store: dict[str, list[tuple[str, float]]] = {}
    for i, units in zip(rows, predicted):
        sku, store_of_row = table.keys[i]
        by_store.setdefault(store_of_row, []).append((sku, float(units)))
    out: list[dict[str, Any]] = []
    for store_of_rows in sorted(by_store):
        items = sorted(by_store[store_of_rows], key=lambda item: (-item[1], item[0]))
        shares = allocate_shelf_space([u for _, u in items], [factors.get(sku, 1.0) for sku, _ in items])
        out.extend(
            {
                "item": sku,
                "store_id": store_of_rows,
                "predicted_sales": round(units, 2),
                "shelf_space_percentage": share,
            }
            for (sku, units), share in zip(items, shares)
        )
    return out


def reorder_plan(
    table: ForecastTable,
    db: Database,
    store_id: str | None,
    lead_time_days: int,
    service_level: float,
    review_days: int,
) -> list[dict[str, Any]]:
    """Reorder suggestions for every SKU × store the model forecasts (of one store, or all), riskiest first."""
    _check_horizon(table, lead_time_days, "lead_time_days")
    if store_id is not None:
        require_store(table, db, store_id)
    stock = on_hand(db, store_id)
    suggestions = [
        reorder_rules.suggest_reorder(
            sku,
            store_of_row,
            stock.get((sku, store_of_row), 0.0),
            table.p50[i],
            table.p90[i],
            lead_time_days,
            service_level,
            review_days,
        ).as_dict()
        for i in table.series_of_store(store_id)
        for sku, store_of_row in [table.keys[i]]
    ]
    suggestions.sort(key=lambda s: (-s["stockout_risk"], s["store_id"], s["sku"]))
    return suggestions


def what_if(
    table: ForecastTable,
    db: Database,
    sku: str,
    store_id: str,
    horizon: int,
    price_change_pct: float | None,
    promotion_discount_pct: float | None,
) -> dict[str, Any]:
    """Baseline vs scenario units (and revenue, margin at list price) over ``horizon`` days."""
    _check_horizon(table, horizon, "horizon")
    ensure_series(table, db, sku, store_id)
    arrays = table.series(sku, store_id)
    assert arrays is not None
    baseline = float(np.clip(arrays[1][:horizon], 0.0, None).sum())
    item = product(db, sku) or {}
    elasticity = scenarios.estimate_elasticity(daily_price_and_units(db, sku), item.get("category"))
    multiplier = scenarios.price_multiplier(price_change_pct, promotion_discount_pct)
    scenario = scenarios.scenario_units(baseline, multiplier, elasticity.value)
    out: dict[str, Any] = {
        "sku": sku,
        "store_id": store_id,
        "horizon": horizon,
        "start": table.dates[0],
        "model_version": table.version,
        "price_multiplier": round(multiplier, 4),
        "baseline_units": round(baseline, 2),
        "scenario_units": round(scenario, 2),
        "change_pct": round((scenario / baseline - 1) * 100, 2) if baseline > 0 else None,
        "elasticity": elasticity.value,
        "elasticity_source": elasticity.source,
        "elasticity_note": elasticity.note,
    }
    price, cost = item.get("price_cents"), item.get("cost_cents")
    if isinstance(price, int) and isinstance(cost, int):
        new_price = price * multiplier
        out |= {
            "baseline_revenue_cents": round(baseline * price),
            "scenario_revenue_cents": round(scenario * new_price),
            "baseline_margin_cents": round(baseline * (price - cost)),
            "scenario_margin_cents": round(scenario * (new_price - cost)),
        }
    return out
