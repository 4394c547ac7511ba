"""Open endpoints: health (MongoDB + Kafka reachability) and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from services.forecast_service.api.dependencies import Context
from services.forecast_service.api.schemas import HealthOut

router = APIRouter(tags=["system"])


@router.get(
    "/health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut}},
    summary="200 when MongoDB answers a ping and a Kafka bootstrap server accepts a connection, else 503",
)
def health(context: Context) -> JSONResponse:
    report = HealthOut(**context.health())
    return JSONResponse(report.model_dump(mode="json"), status_code=200 if report.status == "ok" else 503)


@router.get("/metrics", response_class=Response, summary="Prometheus metrics")
def metrics(context: Context) -> Response:
    payload, content_type = context.metrics.render()
    return Response(payload, media_type=content_type)
