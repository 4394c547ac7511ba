"""``/experiments/{promotion_id}``: treatment vs control for one promotion."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.common.api_auth import require_scope
from services.promotion_engine.api.dependencies import get_config, get_engine
from services.promotion_engine.config import PromotionConfig
from services.promotion_engine.engine import Engine
from services.promotion_engine.experiments import ArmStats, measure_experiment
from services.promotion_engine.schemas import ArmOut, ExperimentOut

router = APIRouter(tags=["experiments"], dependencies=[Depends(require_scope("read"))])


def _arm(stats: ArmStats) -> ArmOut:
    return ArmOut(
        n=stats.n,
        conversions=stats.conversions,
        conversion=stats.conversion,
        revenue_cents=stats.revenue_cents,
        margin_cents=stats.margin_cents,
        discount_cents=stats.discount_cents,
    )


@router.get("/experiments/{promotion_id}", response_model=ExperimentOut)
def experiment(
    promotion_id: str,
    window_days: Annotated[
        int | None, Query(ge=1, le=90, description="attribution window; default from settings")
    ] = None,
    engine: Engine = Depends(get_engine),
    config: PromotionConfig = Depends(get_config),
) -> ExperimentOut:
    promotion = engine.promotions.get(promotion_id, include_deleted=True)
    skus = {promotion.sku} if promotion.sku else set(engine.catalog.skus_in(promotion.category or ""))
    result = measure_experiment(
        engine.db, promotion_id, skus, window_days or config.attribution_days, datetime.now(timezone.utc)
    )
    return ExperimentOut(
        promotion_id=result.promotion_id,
        window_days=result.window_days,
        open_windows=result.open_windows,
        treatment=_arm(result.treatment),
        control=_arm(result.control),
        lift=result.lift,
        lift_ci=result.lift_ci,
        relative_lift=result.relative_lift,
        relative_lift_ci=result.relative_lift_ci,
        incremental_margin_cents=result.incremental_margin_cents,
        roi=result.roi,
    )
