"""``/train`` and ``/train/status``: fit a new uplift model from the logged experiment, in the background."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response, status

from services.common.api_auth import require_scope
from services.promotion_engine.api.dependencies import get_trainer
from services.promotion_engine.errors import TrainingDataError
from services.promotion_engine.schemas import TrainIn, TrainStatusOut
from services.promotion_engine.training import Trainer, TrainingStatus

router = APIRouter(tags=["training"], dependencies=[Depends(require_scope("read"))])


def status_out(s: TrainingStatus) -> TrainStatusOut:
    return TrainStatusOut(
        state=s.state,
        stage=s.stage,
        progress=s.progress,
        job_id=s.job_id,
        started_at=s.started_at,  # type: ignore[arg-type]
        finished_at=s.finished_at,
        version=s.version,
        error=s.error,
    )


@router.post(
    "/train",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=TrainStatusOut,
    dependencies=[Depends(require_scope("write"))],
    responses={409: {"description": "an arm has no usable exposures, or a training job is already running"}},
)
def train(
    response: Response,
    body: TrainIn | None = None,
    wait: bool = Query(False, description="answer when training has finished"),
    trainer: Trainer = Depends(get_trainer),
) -> TrainStatusOut:
    """Starts a job (202) and returns at once; poll ``GET /train/status``. The active model changes only on success."""
    body = body or TrainIn()
    result = trainer.start(body.learner, body.seed, wait=wait)
    if wait:
        if result.state == "failed":
            raise TrainingDataError(result.error or "training failed")
        response.status_code = status.HTTP_200_OK
    return status_out(result)


@router.get("/train/status", response_model=TrainStatusOut)
def train_status(trainer: Trainer = Depends(get_trainer)) -> TrainStatusOut:
    return status_out(trainer.status)
