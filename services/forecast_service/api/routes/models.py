"""Model versions: list them, read the active one, activate another (admin)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, status

from services.forecast_service.api.dependencies import Context, require_admin, require_read
from services.forecast_service.api.schemas import ModelInfo, model_info

router = APIRouter(prefix="/models", tags=["models"])


@router.get(
    "",
    response_model=list[ModelInfo],
    dependencies=[Depends(require_read)],
    summary="Every model version, newest first",
)
def list_models(context: Context) -> list[ModelInfo]:
    return [model_info(doc) for doc in context.registry.versions()]


@router.get(
    "/active",
    response_model=ModelInfo,
    dependencies=[Depends(require_read)],
    summary="The version serving forecasts",
    description="Metrics come from data the version did not train on: the last 28 days held out (train) or "
    "the most recent window of new days (retrain); `baseline_smape` is seasonal naive on the same days.",
)
def active_model(context: Context) -> ModelInfo:
    doc = context.registry.active()
    if doc is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no model has been activated yet: POST /train first")
    return model_info(doc, active=True)


@router.post(
    "/{version}/activate",
    response_model=ModelInfo,
    dependencies=[Depends(require_admin)],
    summary="Serve another version (admin)",
)
def activate(context: Context, version: str) -> ModelInfo:
    return model_info(context.activate(version), active=True)
