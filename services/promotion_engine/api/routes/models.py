"""``/models``: the active uplift model's version, held-out metrics and Qini curve (JSON and PNG)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response

from services.common.api_auth import require_scope
from services.promotion_engine.api.dependencies import get_registry
from services.promotion_engine.registry import UpliftModels
from services.promotion_engine.schemas import ModelOut
from services.promotion_engine.uplift.evaluation import qini_chart_png

router = APIRouter(prefix="/models", tags=["models"], dependencies=[Depends(require_scope("read"))])


def model_out(doc: dict) -> ModelOut:
    return ModelOut(
        version=doc["_id"],
        learner=doc["learner"],
        trained_at=doc["trained_at"],
        metrics=doc.get("metrics", {}),
        qini_curve=doc.get("qini_curve", []),
        rows=doc.get("rows", {}),
        selection_scores=doc.get("selection_scores", {}),
        feature_columns=doc.get("feature_columns", []),
    )


@router.get("/active", response_model=ModelOut, responses={404: {"description": "no model trained yet"}})
def active_model(registry: UpliftModels = Depends(get_registry)) -> ModelOut:
    return model_out(registry.active_document())


@router.get(
    "/active/qini.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, 404: {"description": "no model trained yet"}},
)
def active_qini_png(registry: UpliftModels = Depends(get_registry)) -> Response:
    doc = registry.active_document()
    held_out = registry.held_out(doc["_id"])
    png = qini_chart_png(held_out["y"], held_out["t"], held_out["uplift"], title=f"Qini curve, model {doc['_id']}")
    return Response(png, media_type="image/png", headers={"Cache-Control": "max-age=60"})


@router.get("", response_model=list[ModelOut])
def model_versions(
    limit: int = Query(20, ge=1, le=200), registry: UpliftModels = Depends(get_registry)
) -> list[ModelOut]:
    """Trained versions, newest first (without their Qini curves)."""
    return [model_out(doc) for doc in registry.versions(limit)]
