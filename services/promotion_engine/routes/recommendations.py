"""``/recommendations/{customer_id}``: the ranked promotions to offer a customer now."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from services.common.events import Channel
from services.promotion_engine.auth import require_scope
from services.promotion_engine.dependencies import get_recommender
from services.promotion_engine.exceptions import InvalidField
from services.promotion_engine.recommender import RecommendationResult, Recommender
from services.promotion_engine.schemas import RecommendationOut, RecommendationsOut, StockOut

router = APIRouter(tags=["recommendations"], dependencies=[Depends(require_scope("read"))])
IDENTIFIER = r"^[A-Za-z0-9_.:\-]+$"


def recommendations_out(result: RecommendationResult) -> RecommendationsOut:
    items = [RecommendationOut(
        promotion_id=r.promotion.promotion_id, name=r.promotion.name, type=r.promotion.type,  # type: ignore[arg-type]
        sku=r.product.sku, category=r.product.category, price_cents=r.product.price_cents, discount_cents_per_unit=r.discount_cents,
        expected_conversion=round(r.conversion, 6), expected_incremental_conversion=round(r.uplift, 6),
        expected_incremental_margin_cents=round(r.incremental_margin_cents), expected_cost_cents=r.cost_cents, score=round(r.score, 4),
        stock=StockOut(store_id=result.store_id, status=r.stock_status, on_hand=r.stock.on_hand,  # type: ignore[arg-type]
                       reorder_threshold=r.stock.reorder_threshold, cover=round(r.stock.cover, 3)),
        reasons=list(r.reasons)) for r in result.recommendations]
    return RecommendationsOut(customer_id=result.customer_id, arm=result.arm, channel=result.channel, store_id=result.store_id,  # type: ignore[arg-type]
                              scored_by=result.scored_by, cold_start=result.cold_start, served_at=result.served_at, recommendations=items,
                              withheld=result.withheld)


@router.get("/recommendations/{customer_id}", response_model=RecommendationsOut)
def recommend(request: Request,
              customer_id: Annotated[str, Path(min_length=1, max_length=64, pattern=IDENTIFIER, description="pseudonymous customer id")],
              k: Annotated[int, Query(ge=1, description="how many promotions at most")] = 3,
              channel: Channel = Channel.ONLINE,
              store_id: Annotated[str | None, Query(min_length=1, max_length=64, pattern=IDENTIFIER, description="stock location; default: the channel's")] = None,
              recommender: Recommender = Depends(get_recommender)) -> RecommendationsOut:
    limit = request.app.state.config.max_k
    if k > limit:
        raise InvalidField("k", f"at most {limit}", location="query")
    return recommendations_out(recommender.recommend(customer_id, k, channel.value, store_id))
