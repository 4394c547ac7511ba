"""``OrderHistory.refresh`` over the real Mongo-protocol server: a full rebuild at the start and every
``FULL_REBUILD_EVERY``, otherwise only the orders ingested since, each applied once, to new objects
for the customers they touch (the score cache compares summaries by value; the recommender and the
scorer notice a new snapshot by ``loaded_at``). Time is driven with ``now``."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

from pymongo.database import Database

from services.common.store import ensure_indexes
from services.promotion_engine.catalog import Catalog
from services.promotion_engine.features import FULL_REBUILD_EVERY, INGEST_OVERLAP, OrderHistory
from tests.promotion_engine.conftest import NOW, add_order, add_product

ALICE, BOB = "cu_" + "a" * 24, "cu_" + "b" * 24


def ingest(
    db: Database,
    order_id: str,
    customer_id: str,
    sku: str,
    ingested_at: datetime,
    occurred_at: datetime | None = None,
    quantity: int = 1,
) -> None:
    """An order as the data consumer stores it: stamped with ``ingested_at``."""
    add_order(db, customer_id, sku, occurred_at or ingested_at, quantity=quantity, order_id=order_id)
    db.orders.update_one({"_id": order_id}, {"$set": {"ingested_at": ingested_at}})


def loaded(db: Database, lookback_days: int = 30) -> OrderHistory:
    """Two customers with one order each, SKU-A and SKU-B in the catalog, fully loaded at ``NOW``."""
    add_product(db, "SKU-A", category="Grocery")
    add_product(db, "SKU-B", category="Toys")
    ingest(db, "o-alice-1", ALICE, "SKU-A", NOW - timedelta(hours=1))
    ingest(db, "o-bob-1", BOB, "SKU-A", NOW - timedelta(hours=1))
    history = OrderHistory(db, Catalog(db, 0.0), lookback_days)
    history.refresh(now=NOW)
    return history


def test_an_incremental_refresh_publishes_a_new_summary_for_the_customer_it_touches_only(db) -> None:
    history = loaded(db)
    alice, bob, alice_then = history.customer(ALICE), history.customer(BOB), copy.deepcopy(history.customer(ALICE))
    ingest(db, "o-alice-2", ALICE, "SKU-B", NOW + timedelta(minutes=1), quantity=3)

    history.refresh(now=NOW + timedelta(minutes=2))

    assert history.loaded_at == NOW + timedelta(minutes=2)
    assert history.customer(BOB) is bob
    assert history.customer(ALICE) is not alice and alice == alice_then  # the published object was copied, not changed
    assert history.customer(ALICE).orders == 2 and history.customer(ALICE).category_spend == {
        "Grocery": 1000,
        "Toys": 3000,
    }
    assert history.popularity("SKU-B") == 1.0 and history.popularity("SKU-A") == 2 / 3


def test_a_refresh_that_finds_nothing_new_leaves_the_snapshot_untouched_and_never_counts_twice(db) -> None:
    history = loaded(db)
    ingest(db, "o-alice-2", ALICE, "SKU-B", NOW + timedelta(minutes=1))
    history.refresh(now=NOW + timedelta(minutes=2))
    alice, bob, applied_at = history.customer(ALICE), history.customer(BOB), history.loaded_at

    for minutes in (3, 4):  # the new order is still within the overlap: read again, skipped
        history.refresh(now=NOW + timedelta(minutes=minutes))

    assert history.loaded_at == applied_at
    assert history.customer(ALICE) is alice and history.customer(BOB) is bob
    assert alice.orders == 2 and history.popularity("SKU-A") == 1.0 and history.popularity("SKU-B") == 0.5


def test_an_order_stamped_before_the_watermark_but_visible_later_is_applied_once_within_the_overlap(db) -> None:
    history = loaded(db)
    ingest(db, "o-bob-2", BOB, "SKU-A", NOW + timedelta(minutes=10))
    history.refresh(now=NOW + timedelta(minutes=11))  # watermark: NOW + 10 min
    ingest(
        db, "o-alice-late", ALICE, "SKU-B", NOW + timedelta(minutes=10) - INGEST_OVERLAP / 2
    )  # stamped earlier, landed now
    ingest(db, "o-alice-too-late", ALICE, "SKU-B", NOW + timedelta(minutes=10) - INGEST_OVERLAP * 2)

    history.refresh(now=NOW + timedelta(minutes=12))
    history.refresh(now=NOW + timedelta(minutes=13))

    assert history.customer(ALICE).orders == 2 and history.customer(BOB).orders == 2
    history.refresh(now=NOW + FULL_REBUILD_EVERY)  # a write landing later than the overlap waits for the full rebuild
    assert history.customer(ALICE).orders == 3


def test_an_incremental_refresh_does_not_bring_back_a_customer_erased_while_it_ran(db) -> None:
    history = loaded(db)
    catalog = history._catalog

    class ForgetsAliceMidRefresh:
        """The catalog read ``refresh`` does after it began: where an erasure lands during a refresh."""

        @property
        def products(self):  # noqa: ANN201 - Catalog's own type
            history.forget(ALICE)
            return catalog.products

    ingest(
        db, "o-alice-2", ALICE, "SKU-B", NOW + timedelta(minutes=1)
    )  # read under her id, as before the anonymization
    ingest(db, "o-bob-2", BOB, "SKU-B", NOW + timedelta(minutes=1))
    history._catalog = ForgetsAliceMidRefresh()  # type: ignore[assignment]
    history.refresh(now=NOW + timedelta(minutes=2))
    assert history.customer(ALICE) is None and history.customer(BOB).orders == 2

    history._catalog = catalog
    db.orders.update_many({"customer_id": ALICE}, {"$set": {"customer_id": "erased_x"}})
    history.refresh(
        now=NOW + timedelta(minutes=3)
    )  # after an erasure: a full rebuild, which files the orders under the tombstone
    ingest(db, "o-bob-3", BOB, "SKU-A", NOW + timedelta(minutes=3))
    history.refresh(now=NOW + timedelta(minutes=4))
    assert (
        history.customer(ALICE) is None
        and history.customer("erased_x").orders == 2
        and history.customer(BOB).orders == 3
    )


def test_the_periodic_full_rebuild_drops_orders_that_left_the_lookback_and_adds_orders_without_ingested_at(db) -> None:
    add_product(db, "SKU-A")
    ingest(db, "o-alice-recent", ALICE, "SKU-A", NOW - timedelta(days=1))
    ingest(
        db, "o-alice-old", ALICE, "SKU-A", NOW - timedelta(days=30, hours=-1), quantity=5
    )  # leaves the 30 days in an hour
    history = OrderHistory(db, Catalog(db, 0.0), lookback_days=30)
    history.refresh(now=NOW)
    add_order(
        db, BOB, "SKU-A", NOW + timedelta(hours=1), order_id="o-bob-seed"
    )  # written straight into MongoDB: no ingested_at

    history.refresh(now=NOW + timedelta(hours=2))
    assert (
        history.customer(ALICE).orders == 2 and history.customer(BOB) is None
    )  # incremental: nothing ages out or comes in

    history.refresh(now=NOW + FULL_REBUILD_EVERY)
    assert history.customer(ALICE).orders == 1 and history.customer(BOB).orders == 1
    assert history.popularity("SKU-A") == 1.0 and history.loaded_at == NOW + FULL_REBUILD_EVERY


def test_orders_are_indexed_by_ingested_at_for_the_incremental_read(db) -> None:
    ensure_indexes(db)
    assert [("ingested_at", 1)] in [info["key"] for info in db.orders.index_information().values()]
