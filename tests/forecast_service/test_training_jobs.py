"""The background job runner on its own: one job at a time, and every job ends in a status."""

from __future__ import annotations

import threading

import pytest

from services.forecast_service.errors import TrainingInProgressError
from services.forecast_service.model.errors import InsufficientHistoryError
from services.forecast_service.training import TrainingJobs


def test_a_second_job_while_one_runs_is_refused_and_the_first_completes() -> None:
    release = threading.Event()
    finished: list[str] = []
    jobs = TrainingJobs(on_finished=lambda kind, seconds, status: finished.append(status.state))

    def slow(progress):
        progress(0.5, "halfway")
        assert release.wait(30)
        return "v1", "trained", {"metrics": {}}

    assert jobs.start("train", slow).state == "running"
    with pytest.raises(TrainingInProgressError, match="still running"):
        jobs.start("retrain", slow)
    release.set()
    jobs.wait(30)
    status = jobs.status()
    assert (status.state, status.progress, status.version, status.message) == ("done", 1.0, "v1", "trained")
    assert finished == ["done"]


def test_a_failing_job_ends_failed_with_the_reason() -> None:
    jobs = TrainingJobs()

    def too_short(progress):
        raise InsufficientHistoryError("history covers 20 days")

    jobs.start("train", too_short)
    jobs.wait(30)
    status = jobs.status()
    assert status.state == "failed" and status.message == "history covers 20 days" and status.version is None
