"""The promotion engine's HTTP app: ``create_app(settings)`` wires routers, auth, limits and metrics.

Domain errors become status codes here and nowhere else: every ``services.common.errors`` error by
its own status (``InvalidFieldError`` 422 in FastAPI's own ``detail`` shape, the field in ``loc``),
the uplift core's bad input 422, an unusable model or an unreachable MongoDB 503. Bodies above
``max_body_bytes`` get 413.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from prometheus_client import multiprocess
from pymongo.errors import PyMongoError

from services.common.api_auth import install_api_keys
from services.common.bus import EventProducer
from services.common.http_errors import install_error_handlers
from services.common.http_limits import BodySizeLimit
from services.common.http_metrics import RequestMetrics, multiprocess_mode
from services.common.logs import configure_logging
from services.common.settings import Settings, get_settings
from services.promotion_engine import metrics
from services.promotion_engine.api.routes import (
    admin,
    experiments,
    health,
    models,
    promotions,
    recommendations,
    training,
)
from services.promotion_engine.config import PromotionConfig, load_promotion_config
from services.promotion_engine.engine import Engine
from services.promotion_engine.uplift.errors import UpliftInputError, UpliftModelError

log = logging.getLogger(__name__)


# FastAPI's native OpenTelemetry (versions that have it; older ones ignore the keyword): Shelfcast exports Prometheus
# metrics, and the telemetry's per-request provider checks cost ~10 µs of the engine's request (README: API latency)
NO_TELEMETRY = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}


def _detail(status: int, detail: object) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    install_error_handlers(app, {UpliftInputError: 422})

    @app.exception_handler(UpliftModelError)
    async def uplift_model(_: Request, exc: UpliftModelError) -> JSONResponse:
        log.error("uplift model unusable: %s", exc)
        return _detail(503, f"the uplift model is unusable: {exc}")

    @app.exception_handler(PyMongoError)
    async def store_down(_: Request, exc: PyMongoError) -> JSONResponse:
        log.error("MongoDB error while serving a request: %s", exc)
        return _detail(503, "the database is unavailable; try again shortly")


def create_app(
    settings: Settings,
    config: PromotionConfig | None = None,
    producer: EventProducer | None = None,
    freeze_heap: bool = False,
) -> FastAPI:
    """The app; connections open when it starts (lifespan), not here. ``producer`` may be injected (tests);
    ``freeze_heap`` only where the app owns its process (``Engine``'s docstring)."""
    config = config or load_promotion_config()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = Engine.start(settings, config, producer, freeze_heap)
        app.state.engine = engine
        try:
            yield
        finally:
            engine.close()
            if multiprocess_mode():
                multiprocess.mark_process_dead(os.getpid())  # its live gauges leave the sums

    app = FastAPI(
        title="Shelfcast promotion engine",
        version="1.0",
        description="Uplift-ranked promotions that respect stock, budgets and frequency caps; experiment measurement; "
        "model training.",
        lifespan=lifespan,
        telemetry=NO_TELEMETRY,
    )
    app.state.settings = settings
    app.state.config = config
    install_api_keys(app, settings.api_keys.get_secret_value(), "promotion engine")
    _install_error_handlers(app)
    for module in (
        recommendations,
        health,
        promotions,
        experiments,
        training,
        models,
        admin,
    ):  # the hot route matched first
        app.include_router(module.router)
    app.add_middleware(BodySizeLimit, max_bytes=config.max_body_bytes)
    app.add_middleware(RequestMetrics, histogram=metrics.REQUEST_SECONDS, service=metrics.SERVICE)
    return app


def app_from_environment() -> FastAPI:
    """The app for ``python -m services.promotion_engine``, built in each uvicorn worker process from the
    environment."""
    settings = get_settings()
    configure_logging(settings.log_level)
    return create_app(settings, freeze_heap=True)
