"""FastAPI dependencies: the per-process `ServiceContext`, its database, producer and settings, and
the API-key scopes (re-exported from `services.common.api_auth`), so routes declare what they need in their
signature."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from pymongo.database import Database

from services.common.api_auth import require_admin, require_read, require_write
from services.common.bus import EventProducer
from services.common.settings import Settings
from services.forecast_service.api.context import ServiceContext

__all__ = ["Context", "Db", "Producer", "SettingsDep", "require_admin", "require_read", "require_write"]


async def get_context(request: Request) -> ServiceContext:
    return request.app.state.context


def get_settings(context: Annotated[ServiceContext, Depends(get_context)]) -> Settings:
    return context.settings


def get_db(context: Annotated[ServiceContext, Depends(get_context)]) -> Database:
    return context.db


def get_producer(context: Annotated[ServiceContext, Depends(get_context)]) -> EventProducer:
    return context.producer()


Context = Annotated[ServiceContext, Depends(get_context)]
Db = Annotated[Database, Depends(get_db)]
Producer = Annotated[EventProducer, Depends(get_producer)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
