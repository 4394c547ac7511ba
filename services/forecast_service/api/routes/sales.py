"""Sales in (``/add-data`` through Kafka) and the seed API's two PNG charts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, status
from fastapi.responses import Response

from services.forecast_service import charts, sales_intake
from services.forecast_service.api.dependencies import Context, Db, require_read, require_write
from services.forecast_service.api.schemas import MAX_RECORDS, AddDataAccepted, SaleRecord
from services.forecast_service.sales_history import totals_by_item

router = APIRouter(tags=["sales"])

PNG = {200: {"content": {"image/png": {}}, "description": "PNG bar chart"}}
Top = Annotated[int, Query(ge=1, le=100, description="how many items to show")]
StoreFilter = Annotated[str | None, Query(min_length=1, max_length=64)]


@router.post(
    "/add-data",
    response_model=AddDataAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[Depends(require_write)],
    summary="Publish sale records as OrderPlaced events",
    description=f"Validates up to {MAX_RECORDS:,} records (unknown SKU/store → 422 naming index and field), publishes "
    "each as an `OrderPlaced` event on the transactions topic and answers once Kafka acknowledged "
    "them. The data consumer then stores them like any channel's sale, so they appear in "
    "`daily_sales` shortly after, not at once. Give `order_id`s to make retries idempotent.",
)
def add_data(
    context: Context, db: Db, records: Annotated[list[SaleRecord], Body(min_length=1, max_length=MAX_RECORDS)]
) -> AddDataAccepted:
    sales_intake.check_references(db, records)
    customer = sales_intake.api_customer(context.settings.pseudonym_key.get_secret_value())
    event_ids = sales_intake.publish_sales(context.producer(), records, customer)
    return AddDataAccepted(
        accepted=len(event_ids), event_ids=event_ids, topic=context.settings.topics.for_event_type("order")
    )


@router.get(
    "/profit_by_item",
    response_class=Response,
    responses=PNG,
    dependencies=[Depends(require_read)],
    summary="PNG: profit (revenue − cost) per item",
)
def profit_by_item(db: Db, top: Top = 20, store_id: StoreFilter = None) -> Response:
    return Response(charts.profit_by_item_png(totals_by_item(db, store_id), top, store_id), media_type="image/png")


@router.get(
    "/frequency_of_sale",
    response_class=Response,
    responses=PNG,
    dependencies=[Depends(require_read)],
    summary="PNG: units sold per item",
)
def frequency_of_sale(db: Db, top: Top = 20, store_id: StoreFilter = None) -> Response:
    return Response(charts.frequency_of_sale_png(totals_by_item(db, store_id), top, store_id), media_type="image/png")
