"""Forecast reads: per-item shelf space (seed ``/predict``), one series' forecast, reorders, what-if."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from services.common.events import IDENTIFIER_PATTERN
from services.forecast_service import forecasting
from services.forecast_service.api.dependencies import Context, Db, require_read
from services.forecast_service.api.schemas import ForecastOut, PredictItem, WhatIfIn, WhatIfOut
from services.forecast_service.reorder import ReorderSuggestion
from services.forecast_service.shelf_space import DEFAULT_MIN_SHARE_PCT

router = APIRouter(tags=["forecasts"], dependencies=[Depends(require_read)])

StoreId = Annotated[str, Query(min_length=1, max_length=64, pattern=IDENTIFIER_PATTERN)]

PREDICT_DESCRIPTION = f"""
Forecast units per item for the next `days` days (from the day after the active model's last day of
data) and the share of shelf space each item gets **within its store**.

Space allocation: every item keeps a floor of `min({DEFAULT_MIN_SHARE_PCT:g} %, 100/n)`; the rest is
split in proportion to `forecast units × facings factor` (the product's `facings_factor`, default 1 —
how much shelf room one unit takes relative to a typical item). Shares are rounded to 0.01 % with
largest-remainder rounding so they sum to exactly 100 per store. Without `store_id`, every store's
items are listed, each store summing to 100. Facings factors are re-read from the catalog at most
once a minute.
"""


@router.get(
    "/predict",
    response_model=list[PredictItem],
    summary="Predicted sales and shelf space per item",
    description=PREDICT_DESCRIPTION,
)
async def predict(
    context: Context,
    store_id: StoreId | None = None,
    days: Annotated[int, Query(ge=1, le=90, description="forecast period in days")] = 7,
) -> JSONResponse:
    table = context.forecasts.current()
    if store_id is not None and store_id not in table.stores:
        await run_in_threadpool(forecasting.require_store, table, context.db, store_id)
    factors = context.cached_facings_factors()
    if factors is None:
        factors = await run_in_threadpool(context.facings_factors)
    return JSONResponse(forecasting.shelf_plan(table, store_id, days, factors))  # CPU only: stays on the event loop


@router.get(
    "/forecast/{sku}",
    response_model=ForecastOut,
    summary="Daily forecast with a p10–p90 interval",
    description="Daily p10/p50/p90 for `horizon` days from the day after the model's last day of data, and "
    "the last 60 days of units. Served from forecasts precomputed when the model was activated; "
    "a SKU × store pair the model never saw sell is forecast from its peers (same SKU elsewhere, "
    "else all series). Unknown SKU or store → 404.",
)
async def forecast(
    context: Context,
    sku: Annotated[str, Path(min_length=1, max_length=64, pattern=IDENTIFIER_PATTERN)],
    store_id: StoreId,
    horizon: Annotated[int, Query(ge=1, le=90)] = 28,
) -> Response:
    table = context.forecasts.current()
    body = table.forecast_json(sku, store_id, horizon) if 1 <= horizon <= table.horizon else None
    if body is None:
        body = await run_in_threadpool(forecasting.forecast_json, table, context.db, sku, store_id, horizon)
    return Response(body, media_type="application/json")


@router.get(
    "/reorder",
    response_model=list[ReorderSuggestion],
    summary="Reorder points and suggested orders",
    description=forecasting.reorder_rules.__doc__ or "",
)
def reorder(
    context: Context,
    db: Db,
    store_id: StoreId | None = None,
    lead_time_days: Annotated[int, Query(ge=1, le=90)] = 7,
    service_level: Annotated[float, Query(ge=0.5, lt=1.0)] = 0.95,
    review_days: Annotated[
        int, Query(ge=0, le=90, description="days of demand an order covers beyond the lead time")
    ] = 7,
) -> list[dict]:
    return forecasting.reorder_plan(
        context.forecasts.current(), db, store_id, lead_time_days, service_level, review_days
    )


@router.post(
    "/what-if",
    response_model=WhatIfOut,
    summary="Units under a price change or promotion",
    description=forecasting.scenarios.__doc__ or "",
)
def what_if(context: Context, db: Db, body: WhatIfIn) -> dict:
    return forecasting.what_if(
        context.forecasts.current(),
        db,
        body.sku,
        body.store_id,
        body.horizon,
        body.price_change_pct,
        body.promotion_discount_pct,
    )
