"""Training jobs: full training, incremental retraining, and their status."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from services.forecast_service.api.dependencies import Context, require_read, require_write
from services.forecast_service.api.schemas import TrainStatus

router = APIRouter(tags=["training"])


@router.post(
    "/train",
    response_model=TrainStatus,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[Depends(require_write)],
    summary="Train a new model on all daily sales (background)",
    description="Fits on `daily_sales` summed over channels per SKU × store and day (days without sales are 0), "
    "after a holdout backtest on the last 28 days; the new version is activated when done. "
    "Poll `GET /train/status`. Too little data → 409 and the active model stays; a running job → 409.",
)
def train(context: Context) -> TrainStatus:
    return TrainStatus(**context.start_train().as_dict())


@router.get(
    "/train/status", response_model=TrainStatus, dependencies=[Depends(require_read)], summary="The last training job"
)
def train_status(context: Context) -> TrainStatus:
    return TrainStatus(**context.jobs.status().as_dict())


@router.post(
    "/retrain",
    response_model=TrainStatus,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[Depends(require_write)],
    summary="Continue the active model on the days since its training (background)",
    description="The new days are split into a part to train on and the most recent window (≤ 28 days, at most "
    "half). The continued model replaces the active one only if its SMAPE on that window is not "
    "worse than the active model's with the same history; `result` reports both numbers.",
)
def retrain(context: Context) -> TrainStatus:
    return TrainStatus(**context.start_retrain().as_dict())
