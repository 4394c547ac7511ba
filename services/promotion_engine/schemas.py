"""Request and response models of the promotion API: the JSON contract callers script against.

Validation that a schema can do lives here, so a bad field answers 422 with that field in ``loc``;
checks that need the database (does this SKU exist?) are in the domain modules and raise
``InvalidField`` naming the field the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from services.common.events import MAX_CENTS, Channel, Identifier
from services.common.timestamps import to_utc

PromotionType = Literal["percent_off", "amount_off", "bogo"]
Arm = Literal["treatment", "control"]
MAX_BUDGET_CENTS = 10**12
ShortText = Annotated[str, Field(min_length=1, max_length=200)]


class PromotionIn(BaseModel):
    """A promotion as created (POST) or replaced (PUT).

    Exactly one of ``sku`` and ``category`` says what it applies to. ``discount_pct`` is required
    for ``percent_off``; ``discount_cents`` (per unit) for ``amount_off``; ``bogo`` (buy one, get
    one free) needs neither and counts as 50% off per unit. For the other types a
    ``discount_pct`` sent back from a GET is ignored (it is derived).
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "promotion_id": "P-SPRING-SNACKS",
                    "name": "Spring snacks 20% off",
                    "type": "percent_off",
                    "discount_pct": 20,
                    "category": "Grocery",
                    "starts_at": "2026-03-01T00:00:00Z",
                    "ends_at": "2026-03-15T00:00:00Z",
                    "budget_cents": 500000,
                    "max_per_customer_per_day": 2,
                    "stock_cover_threshold": 1.5,
                }
            ]
        },
    )

    promotion_id: Identifier | None = Field(default=None, description="chosen by the caller, or generated")
    name: ShortText
    type: PromotionType = "percent_off"
    discount_pct: float | None = Field(default=None, gt=0, le=100, validate_default=True)
    discount_cents: int | None = Field(default=None, gt=0, le=MAX_CENTS, strict=True, validate_default=True)
    sku: Identifier | None = None
    category: str | None = Field(default=None, min_length=1, max_length=100, validate_default=True)
    channels: list[Channel] | None = Field(
        default=None, min_length=1, max_length=len(Channel), description="where it applies; omitted = every channel"
    )
    starts_at: datetime
    ends_at: datetime
    budget_cents: int = Field(
        ge=0, le=MAX_BUDGET_CENTS, strict=True, description="most the expected discount cost of serves may reach"
    )
    max_per_customer_per_day: int = Field(
        default=1, ge=1, le=1000, description="frequency cap: serves per customer per UTC day"
    )
    stock_cover_threshold: float = Field(
        default=1.0, ge=0, le=1000, description="minimum on_hand / reorder_threshold of a SKU to promote it"
    )

    @field_validator("discount_pct")
    @classmethod
    def _pct_for_percent_off(cls, value: float | None, info: ValidationInfo) -> float | None:
        kind = info.data.get("type")
        if kind == "percent_off" and value is None:
            raise ValueError("required for type percent_off")
        return value if kind == "percent_off" else None

    @field_validator("discount_cents")
    @classmethod
    def _cents_for_amount_off(cls, value: int | None, info: ValidationInfo) -> int | None:
        kind = info.data.get("type")
        if kind == "amount_off" and value is None:
            raise ValueError("required for type amount_off")
        if kind != "amount_off" and value is not None:
            raise ValueError(f"only for type amount_off (this promotion is {kind})")
        return value

    @field_validator("category")
    @classmethod
    def _one_scope(cls, value: str | None, info: ValidationInfo) -> str | None:
        if "sku" not in info.data:  # the sku itself was invalid: that error is enough
            return value
        if (value is None) == (info.data["sku"] is None):
            raise ValueError("give exactly one of sku and category")
        return value

    @field_validator("starts_at")
    @classmethod
    def _starts_aware(cls, value: datetime) -> datetime:
        return to_utc(value, "starts_at")

    @field_validator("ends_at")
    @classmethod
    def _ends_after_start(cls, value: datetime, info: ValidationInfo) -> datetime:
        value = to_utc(value, "ends_at")
        starts = info.data.get("starts_at")
        if starts is not None and value <= starts:
            raise ValueError(f"must be after starts_at ({starts.isoformat()})")
        return value


class PromotionOut(BaseModel):
    promotion_id: str
    name: str
    type: PromotionType
    discount_pct: float = Field(
        description="percent off the reference price: as set for percent_off, 50 for bogo, derived for amount_off"
    )
    discount_cents: int | None = None
    sku: str | None = None
    category: str | None = None
    channels: list[Channel] | None = None
    starts_at: datetime
    ends_at: datetime
    budget_cents: int
    spent_cents: int
    remaining_cents: int
    max_per_customer_per_day: int
    stock_cover_threshold: float
    active: bool = Field(description="now is within [starts_at, ends_at)")
    budget_exhausted: bool
    created_at: datetime
    updated_at: datetime


class StockOut(BaseModel):
    store_id: str | None = Field(description="where stock was read; null = summed over every store")
    status: Literal["overstocked", "ok"]
    on_hand: int
    reorder_threshold: int
    cover: float = Field(description="on_hand / reorder_threshold")


class RecommendationOut(BaseModel):
    promotion_id: str
    name: str
    type: PromotionType
    sku: str
    category: str
    price_cents: int
    discount_cents_per_unit: int
    expected_conversion: float = Field(description="P(buys the SKU within the attribution window | offered)")
    expected_incremental_conversion: float = Field(description="uplift: offered minus not offered")
    expected_incremental_margin_cents: int = Field(
        description="uplift x unit margin after discount, minus the discount given to those who would buy anyway"
    )
    expected_cost_cents: int = Field(description="expected discount paid; charged to the budget when served")
    score: float
    stock: StockOut
    reasons: list[str]


class RecommendationsOut(BaseModel):
    customer_id: str
    arm: Arm
    channel: Channel
    store_id: str | None
    scored_by: str = Field(description="'model:<version>' or 'heuristic'")
    cold_start: bool
    served_at: datetime
    recommendations: list[RecommendationOut] = Field(description="empty for the control arm")
    withheld: int = Field(
        description="control arm: how many promotions were withheld (each logged as a control exposure)"
    )


class ArmOut(BaseModel):
    n: int = Field(description="customers exposed (first exposure decides the arm)")
    conversions: int
    conversion: float
    revenue_cents: int = Field(description="revenue of promoted items bought within the window, net of discounts")
    margin_cents: int
    discount_cents: int


class ExperimentOut(BaseModel):
    promotion_id: str
    window_days: int
    open_windows: int = Field(
        description="exposures whose attribution window has not closed yet (counted as they stand)"
    )
    treatment: ArmOut
    control: ArmOut
    lift: float | None = Field(description="absolute: treatment conversion minus control conversion")
    lift_ci: tuple[float, float] | None = Field(
        description="95% CI of lift, normal approximation for a difference of proportions"
    )
    relative_lift: float | None = Field(description="lift / control conversion")
    relative_lift_ci: tuple[float, float] | None = Field(
        description="lift_ci / control conversion (control rate taken as known)"
    )
    incremental_margin_cents: int | None = Field(
        description="n_treatment x (margin per treated customer - margin per control customer)"
    )
    roi: float | None = Field(description="incremental margin / discount given in the treatment arm")


class TrainIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    learner: Literal["auto", "s", "t", "x", "ct"] = Field(
        default="auto", description="auto: best held-out Qini among the applicable learners"
    )
    seed: int = Field(default=0, ge=0, le=2**31 - 1)


class TrainStatusOut(BaseModel):
    state: Literal["idle", "running", "succeeded", "failed"]
    stage: str
    progress: float
    job_id: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    version: str | None = None
    error: str | None = None


class QiniPointOut(BaseModel):
    x: float = Field(description="share of customers targeted, best predicted uplift first")
    model: float
    random: float


class ModelOut(BaseModel):
    version: str
    learner: str
    trained_at: datetime
    metrics: dict[str, float | None] = Field(description="held-out qini, auuc, uplift_at_30")
    qini_curve: list[QiniPointOut]
    rows: dict[str, int]
    selection_scores: dict[str, float] = Field(
        default_factory=dict, description="each candidate learner's Qini on the selection split"
    )
    feature_columns: list[str]
