"""Composition root of the forecast API: `create_app(settings)` wires context, auth, middleware,
error mapping and routers; `python -m services.forecast_service` serves it with uvicorn.

Typed errors from the domain modules become HTTP here and only here:

==========================================  =====
UnknownEntityError (sku, store, version)    404
ForecastInputError, RecordsRejectedError    422
NoActiveModelError, NotEnoughDataError,     409
InsufficientHistoryError, TrainingInProgress
PublishFailedError                          503
==========================================  =====
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from services.common.api_auth import HEADER, install_api_keys
from services.common.http_limits import BodySizeLimit
from services.common.http_metrics import RequestMetrics
from services.common.settings import Settings
from services.forecast_service.api.context import MODEL_REFRESH_S, ServiceContext
from services.forecast_service.model.errors import ForecastInputError, InsufficientHistoryError
from services.forecast_service.metrics import SERVICE
from services.forecast_service.api.routes import ROUTERS
from services.forecast_service.errors import (
    NoActiveModelError,
    NotEnoughDataError,
    PublishFailedError,
    RecordsRejectedError,
    TrainingInProgressError,
    UnknownEntityError,
)
from services.forecast_service.training import TrainingConfig

DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024  # 10,000 add-data records with ids of ~40 chars fit

DESCRIPTION = f"""
Demand forecasts (XGBoost, one global model per horizon bucket), shelf space, reorder points and
price scenarios for Shelfcast. Send an API key in the `{HEADER}` header: `GET` routes need scope
`read`, `POST` routes `write`, activating a model version `admin`. `/health`, `/metrics` and the docs
are open. Forecasts are precomputed per active model version, so reads never run the model.
"""

_STATUS_BY_ERROR: tuple[tuple[type[Exception], int], ...] = (
    (UnknownEntityError, status.HTTP_404_NOT_FOUND),
    (ForecastInputError, 422),
    (NoActiveModelError, status.HTTP_409_CONFLICT),
    (NotEnoughDataError, status.HTTP_409_CONFLICT),
    (InsufficientHistoryError, status.HTTP_409_CONFLICT),
    (TrainingInProgressError, status.HTTP_409_CONFLICT),
    (PublishFailedError, status.HTTP_503_SERVICE_UNAVAILABLE),
)


def create_app(settings: Settings, training: TrainingConfig | None = None, *, model_refresh_s: float = MODEL_REFRESH_S,
               max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> FastAPI:
    """The forecast API over ``settings``' MongoDB and Kafka; ``training`` overrides model parameters (tests)."""
    context = ServiceContext(settings, training, model_refresh_s=model_refresh_s)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        context.start()
        try:
            yield
        finally:
            context.close()

    app = FastAPI(title="Shelfcast forecast service", version="1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.context = context
    install_api_keys(app, settings.api_keys.get_secret_value(), "forecast API")
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    app.add_middleware(RequestMetrics, histogram=context.metrics.request_seconds, service=SERVICE)
    return app


def install_error_handlers(app: FastAPI) -> None:
    """Map the domain's typed errors to status codes with the message as ``detail``."""
    for error_type, code in _STATUS_BY_ERROR:
        app.add_exception_handler(error_type, _handler(code))

    async def records_rejected(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RecordsRejectedError)
        return JSONResponse({"detail": jsonable_encoder(exc.errors)}, status_code=422)

    app.add_exception_handler(RecordsRejectedError, records_rejected)


def _handler(code: int):  # noqa: ANN202 - Starlette's handler signature
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=code)

    return handle
