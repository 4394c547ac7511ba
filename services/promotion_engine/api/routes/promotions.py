"""``/promotions``: create, list, read, replace and retire promotions."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Query, Request, Response, status

from services.common.api_auth import require_scope
from services.promotion_engine.api.dependencies import get_promotion_store
from services.promotion_engine.promotions import Promotion, PromotionStore
from services.promotion_engine.schemas import PromotionIn, PromotionOut

router = APIRouter(prefix="/promotions", tags=["promotions"], dependencies=[Depends(require_scope("read"))])
MAX_LIMIT = 500


def promotion_out(promotion: Promotion, promotions: PromotionStore, now: datetime) -> PromotionOut:
    """The stored fields as they are (``PromotionOut`` ignores ``deleted_at``), plus what is derived at read time."""
    return PromotionOut.model_validate(
        vars(promotion)
        | {
            "discount_pct": promotion.effective_discount_pct(promotions.reference_price(promotion)),
            "active": promotion.is_active(now),
            "budget_exhausted": promotion.remaining_cents <= 0,
        }
    )


@router.post(
    "", status_code=status.HTTP_201_CREATED, dependencies=[Depends(require_scope("write"))], response_model=PromotionOut
)
def create_promotion(
    body: PromotionIn, response: Response, request: Request, promotions: PromotionStore = Depends(get_promotion_store)
) -> PromotionOut:
    promotion = promotions.create(body)
    response.headers["Location"] = str(request.url_for("get_promotion", promotion_id=promotion.promotion_id))
    return promotion_out(promotion, promotions, datetime.now(timezone.utc))


@router.get("", response_model=list[PromotionOut])
def list_promotions(
    active: bool = Query(False, description="only those running now"),
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0, le=1_000_000),
    promotions: PromotionStore = Depends(get_promotion_store),
) -> list[PromotionOut]:
    now = datetime.now(timezone.utc)
    return [promotion_out(p, promotions, now) for p in promotions.listing(limit, offset, now if active else None)]


@router.get("/{promotion_id}", response_model=PromotionOut)
def get_promotion(promotion_id: str, promotions: PromotionStore = Depends(get_promotion_store)) -> PromotionOut:
    return promotion_out(promotions.get(promotion_id), promotions, datetime.now(timezone.utc))


@router.put("/{promotion_id}", dependencies=[Depends(require_scope("write"))], response_model=PromotionOut)
def replace_promotion(
    promotion_id: str, body: PromotionIn, promotions: PromotionStore = Depends(get_promotion_store)
) -> PromotionOut:
    return promotion_out(promotions.replace(promotion_id, body), promotions, datetime.now(timezone.utc))


@router.delete(
    "/{promotion_id}", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Depends(require_scope("write"))]
)
def delete_promotion(promotion_id: str, promotions: PromotionStore = Depends(get_promotion_store)) -> Response:
    promotions.delete(promotion_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
