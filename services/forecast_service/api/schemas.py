"""Request and response bodies of the forecast API: the JSON contract callers script against."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.common.events import Identifier
from services.forecast_service.sales_intake import MAX_RECORDS, SaleRecord

__all__ = ["MAX_RECORDS", "SaleRecord"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class TrainStatus(_Out):
    state: Literal["idle", "running", "done", "failed"]
    kind: Literal["train", "retrain"] | None = None
    progress: float = Field(ge=0, le=1)
    message: str
    version: str | None = Field(None, description="the version the job produced (or kept, for a rejected retrain)")
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: dict[str, Any] | None = Field(
        None, description="train: holdout metrics; retrain: candidate vs incumbent on the window"
    )


class PredictItem(_Out):
    item: str = Field(description="SKU")
    store_id: str
    predicted_sales: float = Field(description="forecast units over the requested days")
    shelf_space_percentage: float = Field(description="share of the store's shelf; sums to 100 within a store")


class AddDataAccepted(_Out):
    accepted: int
    event_ids: list[str]
    topic: str


class ForecastPoint(_Out):
    date: str
    p10: float
    p50: float
    p90: float


class HistoryPoint(_Out):
    date: str
    units: float


class ForecastOut(_Out):
    sku: str
    store_id: str
    model_version: str
    points: list[ForecastPoint]
    history: list[HistoryPoint] = Field(description="the last 60 days of units the model holds (channels summed)")


class WhatIfIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"sku": "SKU-0001", "store_id": "s1", "price_change_pct": 10, "horizon": 28}]},
    )

    sku: Identifier
    store_id: Identifier
    price_change_pct: float | None = Field(None, gt=-100, le=300, description="e.g. 10 = price up 10 %")
    promotion_discount_pct: float | None = Field(None, gt=0, lt=100, description="e.g. 20 = 20 % off")
    horizon: int = Field(28, ge=1, le=90)

    @model_validator(mode="after")
    def _exactly_one_knob(self) -> WhatIfIn:
        if (self.price_change_pct is None) == (self.promotion_discount_pct is None):
            raise ValueError("give exactly one of price_change_pct or promotion_discount_pct")
        return self


class WhatIfOut(_Out):
    sku: str
    store_id: str
    horizon: int
    start: str
    price_multiplier: float
    baseline_units: float
    scenario_units: float
    change_pct: float | None
    elasticity: float
    elasticity_source: Literal["own_history", "category_default"]
    elasticity_note: str


class ModelMetrics(_Out):
    smape: float | None = None
    wape: float | None = None
    mase: float | None = None
    coverage: float | None = Field(None, description="share of holdout actuals inside [p10, p90]")
    baseline_smape: float | None = Field(
        None, description="seasonal-naive (same weekday last week) SMAPE on the same days"
    )


class ModelInfo(_Out):
    version: str
    active: bool = False
    kind: str | None = None
    parent: str | None = None
    trained_at: datetime | None = None
    trained_until: str | None = None
    series: int | None = None
    max_horizon: int | None = None
    metrics: ModelMetrics
    evaluation: dict[str, Any] | None = None
    activated_at: datetime | None = None
    training_seconds: float | None = None


def model_info(doc: dict[str, Any], active: bool | None = None) -> ModelInfo:
    fields = {
        k: doc.get(k)
        for k in (
            "version",
            "kind",
            "parent",
            "trained_at",
            "trained_until",
            "series",
            "max_horizon",
            "evaluation",
            "activated_at",
            "training_seconds",
        )
    }
    return ModelInfo(
        **fields,
        active=doc.get("active", False) if active is None else active,
        metrics=ModelMetrics(**(doc.get("metrics") or {})),
    )


class Check(_Out):
    ok: bool
    error: str | None = None


class HealthOut(_Out):
    status: Literal["ok", "unavailable"]
    mongo: Check
    kafka: Check
    active_model: str | None
    training: str
