"""One mapping from typed errors to HTTP answers for every FastAPI service: ``{"detail": ...}`` with the error's
status."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from services.common.errors import ServiceError


def install_error_handlers(app: FastAPI, core_errors: Mapping[type[Exception], int] = {}) -> None:  # noqa: B006 - read only
    """``ServiceError``s answer with their own status; ``core_errors`` maps a model core's errors (which know no
    HTTP)."""

    async def service_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ServiceError)
        return JSONResponse({"detail": jsonable_encoder(exc.detail())}, status_code=exc.status_code)

    app.add_exception_handler(ServiceError, service_error)
    for error_type, status_code in core_errors.items():
        app.add_exception_handler(error_type, _with_status(status_code))


def _with_status(status_code: int):  # noqa: ANN202 - Starlette's handler signature
    async def handle(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status_code)

    return handle
