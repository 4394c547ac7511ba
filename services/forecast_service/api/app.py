"""Composition root of the forecast API: `create_app(settings)` wires context, auth, middleware,
error mapping and routers; `python -m services.forecast_service` serves it with uvicorn.

Typed errors become HTTP here and only here (``services.common.http_errors``): the service's own
(``errors.py``) by the status each carries, the model core's ``ForecastInputError`` 422 and
``InsufficientHistoryError`` 409.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common.api_auth import HEADER, install_api_keys
from services.common.http_errors import install_error_handlers
from services.common.http_limits import BodySizeLimit
from services.common.http_metrics import RequestMetrics
from services.common.settings import Settings
from services.forecast_service.api.context import MODEL_REFRESH_S, ServiceContext
from services.forecast_service.api.routes import ROUTERS
from services.forecast_service.metrics import SERVICE
from services.forecast_service.model.errors import ForecastInputError, InsufficientHistoryError
from services.forecast_service.training import TrainingConfig

DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024  # 10,000 add-data records with ids of ~40 chars fit

DESCRIPTION = f"""
Demand forecasts (XGBoost, one global model per horizon bucket), shelf space, reorder points and
price scenarios for Shelfcast. Send an API key in the `{HEADER}` header: `GET` routes need scope
`read`, `POST` routes `write`, activating a model version `admin`. `/health`, `/metrics` and the docs
are open. Forecasts are precomputed per active model version, so reads never run the model.
"""

CORE_ERRORS: dict[type[Exception], int] = {ForecastInputError: 422, InsufficientHistoryError: 409}
"""The model core's errors know no HTTP; the service's own (``errors.py``) carry their status."""


def create_app(
    settings: Settings,
    training: TrainingConfig | None = None,
    *,
    model_refresh_s: float = MODEL_REFRESH_S,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> FastAPI:
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
    install_error_handlers(app, CORE_ERRORS)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    app.add_middleware(RequestMetrics, histogram=context.metrics.request_seconds, service=SERVICE)
    return app
