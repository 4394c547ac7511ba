"""Write-behind frequency counters: the serve journal (one document per flush), what other processes
learn from it, and its folding into the per-customer day documents (``exposure_log``)."""

from __future__ import annotations

import pytest

from services.common.read_models import PROMOTION_FREQUENCY as FREQUENCY
from services.common.read_models import PROMOTION_FREQUENCY_JOURNAL as JOURNAL
from services.common.store import ensure_indexes
from services.promotion_engine import exposure_log
from services.promotion_engine.exposure_log import ExposureLog, day_document_id
from tests.promotion_engine.conftest import NOW

DAY = f"{NOW:%Y-%m-%d}"


def _log(db) -> ExposureLog:
    return ExposureLog(db, producer=None, write_behind=True)  # type: ignore[arg-type]  # claims never publish


@pytest.fixture
def fold_at_once(monkeypatch):
    """Journal documents may be folded as soon as they are written (the test's flushes are milliseconds apart)."""
    monkeypatch.setattr(exposure_log, "FOLD_AFTER_S", 0.0)
    monkeypatch.setattr(exposure_log, "JOURNAL_LOOKBACK_S", 0.0)


def test_a_flush_is_one_journal_document_and_another_process_learns_from_it(db):
    first, second = _log(db), _log(db)
    for customer in ("cu_1", "cu_2", "cu_3"):
        assert first.claim(customer, [("P-A", 2), ("P-B", 5)], NOW) == {"P-A", "P-B"}
    assert first.flush_counters() == 6
    [journal] = db[JOURNAL].find()
    assert sorted((s["customer_id"], s["promotion_id"], s["n"]) for s in journal["serves"]) == [
        ("cu_1", "P-A", 1),
        ("cu_1", "P-B", 1),
        ("cu_2", "P-A", 1),
        ("cu_2", "P-B", 1),
        ("cu_3", "P-A", 1),
        ("cu_3", "P-B", 1),
    ]
    assert db[FREQUENCY].count_documents({}) == 0  # not folded yet
    second.flush_counters()
    assert second.known_today("cu_1", ["P-A", "P-B"], NOW) == {"P-A": 1, "P-B": 1}
    assert second.claim("cu_1", [("P-A", 2)], NOW) == {"P-A"}
    assert second.claim("cu_1", [("P-A", 2)], NOW) == set()  # the cap counts the first process's serve
    second.flush_counters()
    first.flush_counters()
    assert first.known_today("cu_1", ["P-A"], NOW) == {"P-A": 2}
    assert second.known_today("cu_1", ["P-A"], NOW) == {"P-A": 2}  # its own journal document is not counted twice


def test_folding_moves_the_journal_into_day_documents_collapsed_per_customer(db, fold_at_once):
    log = _log(db)
    for _ in range(3):
        log.claim("cu_1", [("P-A", 5)], NOW)
        log._write_journal()  # three flushes' worth of journal, nothing folded yet
    assert db[JOURNAL].count_documents({}) == 3
    before = log.served_today("cu_1", ["P-A"], NOW)
    log.flush_counters()
    assert db[JOURNAL].count_documents({}) == 0
    assert db[FREQUENCY].find_one({"_id": day_document_id("cu_1", DAY)})["counts"] == {"P-A": 3}
    assert log.served_today("cu_1", ["P-A"], NOW) == before == {"P-A": 3}


def test_a_process_killed_before_folding_leaves_a_journal_that_a_restart_counts(db):
    killed = _log(db)
    killed.claim("cu_1", [("P-A", 2)], NOW)
    killed.flush_counters()  # then SIGKILL: no fold
    db[FREQUENCY].insert_one(
        {"_id": day_document_id("cu_1", DAY), "customer_id": "cu_1", "day": DAY, "counts": {"P-B": 1}}
    )  # folded earlier
    restarted = _log(db)
    restarted.load_today(NOW)
    assert restarted.known_today("cu_1", ["P-A", "P-B"], NOW) == {"P-A": 1, "P-B": 1}
    assert restarted.claim("cu_1", [("P-A", 2)], NOW) == {"P-A"}
    assert restarted.claim("cu_1", [("P-A", 2)], NOW) == set()


def test_shutdown_folds_everything_and_an_erased_customer_is_not_folded(db):
    log = _log(db)
    for customer in ("cu_1", "cu_2"):
        log.claim(customer, [("P-A", 2)], NOW)
    log.flush_counters()
    log.claim("cu_1", [("P-A", 2)], NOW)  # unflushed at shutdown
    assert log.forget("cu_2") == 1
    log.fold_all()
    assert db[JOURNAL].count_documents({}) == 0
    assert {doc["customer_id"]: doc["counts"] for doc in db[FREQUENCY].find()} == {"cu_1": {"P-A": 2}}


def test_the_counters_and_the_journal_are_indexed_for_erasure_and_purges(db):
    """mongo-java-server scans either way; a real MongoDB must not scan the journal on every flush and erasure."""
    ensure_indexes(db)
    keys = {name: [info["key"] for info in db[name].index_information().values()] for name in (FREQUENCY, JOURNAL)}
    assert [("at", 1)] in keys[JOURNAL] and [("serves.customer_id", 1)] in keys[JOURNAL]
    assert [("customer_id", 1)] in keys[FREQUENCY] and [("day", 1)] in keys[FREQUENCY]
