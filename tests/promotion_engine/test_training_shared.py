"""One training status and one training slot for every process on the database (several engine workers).

Two ``Trainer``s on the same database stand for two worker processes. Their jobs are real trainings
held at a gate the test opens (``GatedTrainer``), so "running" lasts exactly as long as a test needs
without sleeping; a crashed owner is a heartbeat backdated in the real store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pymongo.database import Database

from services.common import read_models
from services.common.errors import ConflictError
from services.promotion_engine.catalog import Catalog
from services.promotion_engine.registry import UpliftModels
from services.promotion_engine.training import CURRENT, STALE_AFTER, Progress, Trainer, TrainingStatus
from tests.promotion_engine.conftest import WAIT_S, add_product, make_config, set_stock
from tests.promotion_engine.test_training import finished, seed_experiment


class GatedTrainer(Trainer):
    """A real trainer whose job waits for ``gate`` before training (``at="start"``) or after it, before its end is
    recorded
    (``at="end"``).
    """

    def __init__(self, db: Database, models_dir: Path, at: str) -> None:
        super().__init__(db, Catalog(db, 0.0), UpliftModels(db, models_dir), make_config())
        self.at = at
        self.waiting = threading.Event()
        self.gate = threading.Event()

    def train(self, learner: str, seed: int, progress: Progress = lambda stage, fraction: None) -> str:
        if self.at == "start":
            self._pause()
        version = super().train(learner, seed, progress)
        if self.at == "end":
            self._pause()
        return version

    def _pause(self) -> None:
        self.waiting.set()
        if not self.gate.wait(WAIT_S):
            raise TimeoutError("the test never opened the gate")

    def start_held(self) -> TrainingStatus:
        """Start a background job and return once it waits at the gate."""
        job = self.start("t", 1)
        assert self.waiting.wait(WAIT_S), "the job never reached its gate"
        return job

    def release(self) -> None:
        self.gate.set()
        self.join(WAIT_S)


@pytest.fixture
def experiment(db: Database) -> Database:
    for sku, category in (("SKU-A", "Grocery"), ("SKU-B", "Toys")):
        add_product(db, sku, category=category)
        set_stock(db, sku, on_hand=50)
    seed_experiment(db, customers=120)
    return db


@pytest.fixture
def trainer(experiment: Database, tmp_path: Path) -> Iterator[Callable[..., GatedTrainer]]:
    """``trainer(at="start")``: another "process" on the test's database; every job is released at teardown."""
    made: list[GatedTrainer] = []

    def make(at: str = "start") -> GatedTrainer:
        made.append(GatedTrainer(experiment, tmp_path / "models", at))
        return made[-1]

    yield make
    for t in made:
        t.release()


def seen(status: TrainingStatus) -> tuple:
    """What identifies a job's point in time (the store keeps times to the millisecond, so whole statuses differ)."""
    return status.state, status.stage, status.job_id


def backdate_heartbeat(db: Database) -> None:
    """What a crashed owner leaves behind: a running job not refreshed for longer than the staleness limit."""
    db[read_models.PROMOTION_TRAINING].update_one(
        {"_id": CURRENT}, {"$set": {"updated_at": datetime.now(timezone.utc) - STALE_AFTER - timedelta(minutes=1)}}
    )


def test_a_job_started_in_one_process_is_the_status_in_every_process(trainer, experiment):
    a, b = trainer(), trainer()
    assert b.status == TrainingStatus()
    job = a.start_held()
    assert seen(b.status) == seen(a.status) == ("running", "queued", job.job_id)
    a.release()
    done = b.status
    assert (
        done.state == "succeeded"
        and done.job_id == job.job_id
        and done.progress == 1.0
        and done.finished_at is not None
    )
    assert experiment[read_models.MODEL_VERSIONS].find_one({"_id": done.version}) is not None


def test_a_second_start_while_a_job_runs_is_refused_in_every_process(trainer, experiment):
    a, b = trainer(), trainer()
    job = a.start_held()
    for process in (b, a):
        with pytest.raises(ConflictError, match=f"training job {job.job_id} is still running"):
            process.start("t", 1)
    assert seen(b.status) == seen(job)
    a.release()
    b.gate.set()  # b's own job runs straight through
    after = b.start("t", 1, wait=True)  # the slot is free again once the job ended, in whichever process asks
    assert after.state == "succeeded" and after.job_id != job.job_id and seen(a.status) == seen(after)
    assert experiment[read_models.MODEL_VERSIONS].count_documents({}) == 2


def test_a_running_job_without_a_heartbeat_reads_as_failed_and_is_taken_over(trainer, experiment):
    crashed, b = trainer(), trainer()
    old = crashed.start_held()
    backdate_heartbeat(experiment)
    dead = b.status
    assert dead.state == "failed" and dead.job_id == old.job_id and f"job {old.job_id}" in dead.error

    new = b.start_held()
    assert new.job_id != old.job_id and seen(crashed.status) == seen(new)
    crashed.release()  # the old owner wakes up: its next progress step finds the slot taken and stops
    assert seen(b.status) == seen(new)
    b.release()
    assert b.status.state == "succeeded" and b.status.job_id == new.job_id
    assert [doc["_id"] for doc in experiment[read_models.MODEL_VERSIONS].find({})] == [
        b.status.version
    ]  # only the new job activated a model


def test_the_end_of_a_job_that_lost_the_slot_does_not_overwrite_the_newer_job(trainer, experiment):
    old_owner, b = trainer(at="end"), trainer()
    old = old_owner.start_held()  # trained; held just before its end is recorded
    backdate_heartbeat(experiment)
    new = b.start_held()
    old_owner.release()
    assert seen(b.status) == seen(new) and old.job_id != new.job_id
    b.release()
    assert b.status.state == "succeeded" and b.status.job_id == new.job_id


def test_two_apps_on_one_database_answer_the_same_training_status(experiment, start_app):
    a, b = start_app(), start_app()
    started = a.post("/train", json={"learner": "t"})
    assert started.status_code == 202
    status = finished(b)
    assert status["job_id"] == started.json()["job_id"] and status["state"] == "succeeded"
    assert a.get("/train/status").json() == status
