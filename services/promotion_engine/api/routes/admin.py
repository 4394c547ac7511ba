"""``/admin/customers/{customer_id}``: data-subject export and erasure (admin scope only).

The store side is ``services.common.data_subjects``; this adds what only a running engine holds in
memory: the customer's order summary (RFM snapshot) and their recent clicks, reported on export and
dropped on erasure (after the store, so a snapshot reload cannot bring them back), along with their
precomputed uplift scores; serve counts not yet written behind are flushed first so the erasure
deletes them too.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timezone
from typing import Annotated, Any

from bson import ObjectId
from fastapi import APIRouter, Depends, Path
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel

from services.common.api_auth import Caller, require_scope
from services.common.data_subjects import CUSTOMER_ID_PATTERN, erase_customer, export_customer
from services.promotion_engine.api.dependencies import get_engine
from services.promotion_engine.engine import Engine

router = APIRouter(prefix="/admin", tags=["admin"])
CustomerId = Annotated[str, Path(pattern=CUSTOMER_ID_PATTERN, description="customer pseudonym: cu_ + 24 lowercase hex")]


class ExportOut(BaseModel):
    customer_id: str
    exported_at: datetime
    collections: dict[str, list[dict[str, Any]]]
    in_memory: dict[str, Any]


class ErasureOut(BaseModel):
    audit_id: str
    subject_sha256: str
    anonymized: dict[str, int]
    deleted: dict[str, int]
    forgotten: dict[str, int]
    erased_at: datetime


@router.get(
    "/customers/{customer_id}/export",
    response_model=ExportOut,
    summary="Everything held about a customer, grouped by collection, plus the engine's in-memory view",
)
def export(
    customer_id: CustomerId, caller: Caller = Depends(require_scope("admin")), engine: Engine = Depends(get_engine)
) -> ExportOut:
    now = datetime.now(timezone.utc)
    collections = export_customer(engine.db, customer_id, caller.actor)
    history = engine.history.customer(customer_id)
    activity = engine.clicks.activity(customer_id, now)
    in_memory = {
        "order_summary": asdict(history) if history else None,
        "recent_clicks": {
            "clicks": activity.clicks,
            "viewed": sorted(activity.viewed),
            "in_cart": sorted(activity.in_cart),
        },
    }
    stored = jsonable_encoder(
        collections, custom_encoder={ObjectId: str}
    )  # documents inserted without an _id carry an ObjectId
    return ExportOut(
        customer_id=customer_id, exported_at=now, collections=stored, in_memory=jsonable_encoder(in_memory)
    )


@router.delete(
    "/customers/{customer_id}",
    response_model=ErasureOut,
    summary="Erase a customer: anonymize orders, returns and exposures, delete clicks and counters, drop in-memory "
    "state",
)
def erase(
    customer_id: CustomerId, caller: Caller = Depends(require_scope("admin")), engine: Engine = Depends(get_engine)
) -> ErasureOut:
    with engine.exposures.writes_held():
        # write-behind serve counts go to the store first, so the erasure deletes them
        engine.exposures.flush_counters()
        report = erase_customer(engine.db, customer_id, caller.actor)
        forgotten = engine.forget(customer_id)  # other engine processes apply it from the audit within seconds
    return ErasureOut(
        audit_id=report.audit_id,
        subject_sha256=report.subject_sha256,
        anonymized=report.anonymized,
        deleted=report.deleted,
        forgotten=forgotten,
        erased_at=report.at,
    )
