"""Export and erasure over what the real data consumer stored from real Kafka events.

Stock, the stock ledger and the daily rollups must come out of an erasure byte-for-byte unchanged;
the customer's orders, returns and exposures anonymized, their clicks gone, the other customer
untouched, and every call audited.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from uuid import UUID

import pytest
from pymongo.database import Database

from services.common import read_models
from services.common.bus import EventProducer
from services.common.data_subjects import (
    ANONYMIZED,
    DELETED,
    TOMBSTONE_PREFIX,
    InvalidCustomerId,
    erase_customer,
    export_customer,
    subject_hash,
)
from services.common.events import Click, PromotionExposed, ReturnReceived
from services.common.settings import Settings
from services.common.store import connect
from services.data_consumer.main import run_consumer
from tests.factories import order, product, restock, shop_store
from tests.privacy.conftest import ALICE, BOB
from tests.waiting import wait_for

NOW = datetime.now(timezone.utc)


@pytest.fixture
def consumer_settings(isolated_settings: Settings) -> Settings:
    return isolated_settings.model_copy(
        update={"consumer_batch_size": 500, "consumer_poll_ms": 100, "consumer_metrics_port": 0}
    )


@pytest.fixture
def stored(consumer_settings: Settings) -> Iterator[tuple[Database, EventProducer]]:
    """Catalog, stock, and for both customers orders, clicks and an exposure (Alice also a return), all through the
    consumer.
    """
    db = connect(consumer_settings.mongo_uri, consumer_settings.mongo_db)
    stop = threading.Event()
    consumer = threading.Thread(target=run_consumer, args=(consumer_settings, stop), daemon=True)
    consumer.start()
    with EventProducer(consumer_settings.kafka_bootstrap, consumer_settings.topics) as producer:
        producer.publish(shop_store("s1"))
        producer.publish(product("A1"))
        producer.flush()
        # topics are not ordered among each other: a restock read before its product is dead-lettered (unknown sku)
        wait_for(lambda: db[read_models.PRODUCTS].count_documents({}) == 1, "the product")
        producer.publish(restock("A1", 50))
        producer.flush()
        wait_for(lambda: (db[read_models.STOCK].find_one({"_id": "A1|s1"}) or {}).get("on_hand") == 50, "the restock")
        for event in (
            order("A1", 2, customer=ALICE, minutes=1),
            order("A1", 1, customer=ALICE, minutes=2),
            order("A1", 3, customer=BOB, minutes=3),
            ReturnReceived(
                occurred_at=NOW,
                channel="online",
                order_id="o-A1-1",
                customer_id=ALICE,
                store_id="s1",
                sku="A1",
                quantity=1,
                refund_cents=1000,
            ),
            *(
                Click(occurred_at=NOW, channel="online", session_id=f"s-{c}", customer_id=c, action="view", sku="A1")
                for c in (ALICE, ALICE, BOB)
            ),
            *(
                PromotionExposed(occurred_at=NOW, channel="online", customer_id=c, promotion_id="P1", arm="treatment")
                for c in (ALICE, BOB)
            ),
        ):
            producer.publish(event)
        producer.flush()
        counts = {read_models.ORDERS: 3, read_models.RETURNS: 1, read_models.CLICKS: 3, read_models.EXPOSURES: 2}
        wait_for(
            lambda: all(db[name].count_documents({}) == n for name, n in counts.items()),
            f"the consumer to store {counts}",
        )
        wait_for(
            lambda: _rolled_up(db) == (6, 1), "the sales and the return to reach the daily rollups"
        )  # written after the events, as the consumer runs on
        db[read_models.PROMOTION_FREQUENCY].insert_one(
            {"_id": f"{ALICE}|{NOW:%Y-%m-%d}", "customer_id": ALICE, "day": f"{NOW:%Y-%m-%d}", "counts": {"P1": 1}}
        )
        db[read_models.PROMOTION_FREQUENCY_JOURNAL].insert_one(
            {
                "_id": "host:1:0|0000000001",
                "writer": "host:1:0",
                "at": NOW,
                "serves": [
                    {"customer_id": c, "promotion_id": "P1", "day": f"{NOW:%Y-%m-%d}", "n": 1} for c in (ALICE, BOB)
                ],
            }
        )
        try:
            yield db, producer
        finally:
            stop.set()
            consumer.join(30)


def _rolled_up(db: Database) -> tuple[int, int]:
    docs = list(db[read_models.DAILY_SALES].find({}, {"units": 1, "returned_units": 1}))
    return sum(d.get("units", 0) for d in docs), sum(d.get("returned_units", 0) for d in docs)


def _snapshot(db: Database) -> dict[str, list[dict]]:
    return {
        name: sorted(db[name].find(), key=lambda d: str(d["_id"]))
        for name in (read_models.STOCK, read_models.STOCK_LEDGER, read_models.DAILY_SALES)
    }


def test_export_holds_the_customers_documents_and_nothing_of_anyone_else(stored) -> None:
    db, _ = stored
    held = export_customer(db, ALICE, "key-test")
    assert {name: len(docs) for name, docs in held.items()} == {
        read_models.ORDERS: 2,
        read_models.RETURNS: 1,
        read_models.EXPOSURES: 1,
        read_models.CLICKS: 2,
        read_models.PROMOTION_FREQUENCY: 1,
        read_models.PROMOTION_FREQUENCY_JOURNAL: 1,
        read_models.PRIVACY_AUDIT: 0,
    }
    assert [serve["customer_id"] for serve in held[read_models.PROMOTION_FREQUENCY_JOURNAL][0]["serves"]] == [
        ALICE
    ]  # not Bob's entry of the same document
    assert all(doc["customer_id"] == ALICE for name in (*ANONYMIZED, *DELETED) for doc in held[name])
    assert sorted(line["quantity"] for doc in held[read_models.ORDERS] for line in doc["lines"]) == [1, 2]
    audit = db[read_models.PRIVACY_AUDIT].find_one({"action": "export"})
    assert audit["subject_sha256"] == subject_hash(ALICE) and audit["actor"] == "key-test"
    assert audit["exported"][read_models.ORDERS] == 2 and audit["exported"][read_models.CLICKS] == 2
    assert ALICE not in str(audit)


def test_erasure_anonymizes_and_deletes_across_collections_and_leaves_stock_and_rollups_exact(stored) -> None:
    db, _ = stored
    before = _snapshot(db)
    report = erase_customer(db, ALICE, "key-test")

    assert report.anonymized == {read_models.ORDERS: 2, read_models.RETURNS: 1, read_models.EXPOSURES: 1}
    assert report.deleted == {
        read_models.CLICKS: 2,
        read_models.PROMOTION_FREQUENCY: 1,
        read_models.PROMOTION_FREQUENCY_JOURNAL: 1,
    }
    assert [serve["customer_id"] for serve in db[read_models.PROMOTION_FREQUENCY_JOURNAL].find_one()["serves"]] == [BOB]
    assert all(db[name].count_documents({"customer_id": ALICE}) == 0 for name in (*ANONYMIZED, *DELETED))
    tombstones = {doc["customer_id"] for name in ANONYMIZED for doc in db[name].find({"customer_id": {"$ne": BOB}})}
    assert len(tombstones) == 1 and next(iter(tombstones)).startswith(
        TOMBSTONE_PREFIX
    )  # one per erasure: the records still belong together
    assert (
        db[read_models.ORDERS].count_documents({}) == 3 and db[read_models.CLICKS].count_documents({}) == 1
    )  # Bob's click stays
    assert {
        name: db[name].count_documents({"customer_id": BOB})
        for name in (read_models.ORDERS, read_models.CLICKS, read_models.EXPOSURES)
    } == {read_models.ORDERS: 1, read_models.CLICKS: 1, read_models.EXPOSURES: 1}
    assert _snapshot(db) == before

    audit = db[read_models.PRIVACY_AUDIT].find_one({"_id": report.audit_id})
    assert (
        audit["action"] == "erase" and audit["actor"] == "key-test" and audit["subject_sha256"] == report.subject_sha256
    )
    assert audit["anonymized"] == report.anonymized and audit["deleted"] == report.deleted
    assert ALICE not in str(audit) and next(iter(tombstones)) not in str(
        audit
    )  # the audit must not re-link the tombstone

    after = export_customer(db, ALICE, "key-test")
    assert all(not after[name] for name in (*ANONYMIZED, *DELETED, read_models.PROMOTION_FREQUENCY_JOURNAL))
    assert [doc["action"] for doc in after[read_models.PRIVACY_AUDIT]] == ["erase"]


def test_a_redelivered_event_of_an_erased_customer_stays_out(stored) -> None:
    db, producer = stored
    first_order = db[read_models.ORDERS].find_one({"customer_id": ALICE, "order_id": "o-A1-1"})
    erase_customer(db, ALICE, "key-test")
    again = order("A1", 2, customer=ALICE, minutes=1).model_copy(update={"event_id": UUID(first_order["_id"])})
    marker = order("A1", 1, customer=BOB, minutes=9)
    producer.publish(again)
    producer.publish(marker)
    producer.flush()
    expected_on_hand = 50 - 2 - 1 - 3 + 1 - 1  # the re-delivered sale is not applied twice; the marker's is
    wait_for(
        lambda: (
            db[read_models.ORDERS].count_documents({"_id": str(marker.event_id)}) == 1
            and db[read_models.STOCK].find_one({"_id": "A1|s1"})["on_hand"] == expected_on_hand
        ),
        "the marker order and its stock move",
    )
    assert db[read_models.ORDERS].count_documents({"customer_id": ALICE}) == 0


def test_erasing_an_unknown_customer_succeeds_with_zero_counts_and_is_audited(live_settings: Settings) -> None:
    db = connect(live_settings.mongo_uri, "privacy_unknown_" + NOW.strftime("%H%M%S%f"))
    report = erase_customer(db, BOB, "key-test")
    assert set(report.anonymized.values()) | set(report.deleted.values()) == {0}
    assert db[read_models.PRIVACY_AUDIT].count_documents({"action": "erase", "subject_sha256": subject_hash(BOB)}) == 1
    erase_customer(db, BOB, "key-test")
    assert db[read_models.PRIVACY_AUDIT].count_documents({"action": "erase"}) == 2
    db.client.drop_database(db.name)


@pytest.mark.parametrize(
    "bad",
    ["cu_1", "CU_" + "a" * 24, "cu_" + "A" * 24, "cu_" + "a" * 25, "cu_" + "a" * 24 + "\n", "alice@example.com", ""],
)
def test_a_malformed_customer_id_is_refused_before_touching_the_store(bad: str) -> None:
    with pytest.raises(InvalidCustomerId, match="24 lowercase hex"):
        erase_customer(None, bad, "key-test")  # type: ignore[arg-type]
    with pytest.raises(InvalidCustomerId):
        export_customer(None, bad, "key-test")  # type: ignore[arg-type]
