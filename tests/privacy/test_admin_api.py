"""``/admin/customers/{id}`` on the running promotion engine: admin scope only, export and erasure
including what the engine holds in memory (order snapshot, click window), audited by key fingerprint."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.common import read_models
from services.common.api_auth import key_id
from services.common.data_subjects import subject_hash
from tests.privacy.conftest import ALICE, BOB
from tests.promotion_engine.conftest import NOW, add_exposure, add_order, add_product, create_promotion, set_stock
from tests.waiting import wait_for

KEYS = "reader-key:read,writer-key:write,admin-key:admin"
ADMIN = {"X-API-Key": "admin-key"}


@pytest.fixture
def client(db, start_app):
    """Two customers with orders, recent clicks and exposures stored before the engine starts (snapshot + click
    backfill).
    """
    add_product(db, "SKU-A")
    set_stock(db, "SKU-A", on_hand=50)
    for customer, orders in ((ALICE, 2), (BOB, 1)):
        for n in range(orders):
            add_order(db, customer, "SKU-A", NOW - timedelta(days=3 + n), order_id=f"o-{customer}-{n}")
        add_exposure(db, customer, "P1", "treatment", NOW - timedelta(days=5))
    db[read_models.CLICKS].insert_many(
        [
            {
                "customer_id": c,
                "session_id": "s",
                "action": "view",
                "sku": "SKU-A",  # no _id: an ObjectId, as bulk loads have
                "occurred_at": NOW - timedelta(minutes=1),
                "channel": "online",
            }
            for c in (ALICE, ALICE, BOB)
        ]
    )
    app = start_app(api_keys=KEYS, write_behind_s=60.0)  # serve counts stay in memory until the erasure flushes them
    wait_for(lambda: app.app.state.engine.click_tail.ready.is_set(), "the click window backfill")
    return app


@pytest.mark.parametrize(
    "method, path", [("GET", f"/admin/customers/{ALICE}/export"), ("DELETE", f"/admin/customers/{ALICE}")]
)
def test_admin_endpoints_need_an_admin_key(client, method: str, path: str) -> None:
    assert client.request(method, path).status_code == 401
    assert client.request(method, path, headers={"X-API-Key": "admin-key-guess"}).status_code == 401
    for key in ("reader-key", "writer-key"):
        response = client.request(method, path, headers={"X-API-Key": key})
        assert response.status_code == 403 and "'admin' is required" in response.json()["detail"]
        assert key not in response.text
    assert client.get(f"/admin/customers/{ALICE}/export", headers=ADMIN).json()["collections"][
        "orders"
    ]  # nothing was erased by the refusals


@pytest.mark.parametrize("bad", ["cu_1", "CU_" + "a" * 24, "cu_" + "g" * 24, "a" * 60])
def test_a_malformed_customer_id_is_422(client, bad: str) -> None:
    assert client.get(f"/admin/customers/{bad}/export", headers=ADMIN).status_code == 422
    assert client.delete(f"/admin/customers/{bad}", headers=ADMIN).status_code == 422
    assert client.app.state.engine.db[read_models.PRIVACY_AUDIT].count_documents({}) == 0


def test_export_returns_the_customers_stored_and_in_memory_data_only(client) -> None:
    response = client.get(f"/admin/customers/{ALICE}/export", headers=ADMIN)
    assert response.status_code == 200
    body = response.json()
    assert body["customer_id"] == ALICE
    collections = body["collections"]
    assert sorted(doc["_id"] for doc in collections["orders"]) == [f"o-{ALICE}-0", f"o-{ALICE}-1"]
    assert len(collections["clicks"]) == 2 and len(collections["exposures"]) == 1
    assert BOB not in response.text
    assert body["in_memory"]["order_summary"]["orders"] == 2
    assert body["in_memory"]["recent_clicks"] == {"clicks": 2, "viewed": ["SKU-A"], "in_cart": []}
    audit = client.app.state.engine.db[read_models.PRIVACY_AUDIT].find_one({"action": "export"})
    assert audit["actor"] == key_id("admin-key") and "admin-key" not in str(audit)


def test_erasure_drops_stored_and_in_memory_data_keeps_experiment_figures_and_is_audited(client) -> None:
    engine = client.app.state.engine
    client.headers.update(ADMIN)  # create_promotion sends no key of its own
    create_promotion(client, "P1", starts_at=(NOW - timedelta(days=10)).isoformat())
    assert engine.exposures.claim(ALICE, [("P1", 5)], NOW) == {"P1"}  # the serve counter a recommendation keeps
    assert client.get(f"/recommendations/{ALICE}").json()["cold_start"] is False
    experiment_before = client.get("/experiments/P1").json()
    assert experiment_before["treatment"]["n"] == 2 and experiment_before["treatment"]["conversions"] == 2

    response = client.delete(f"/admin/customers/{ALICE}", headers=ADMIN)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["anonymized"] == {"orders": 2, "returns": 0, "exposures": 1}
    assert report["deleted"] == {
        "clicks": 2,
        "promotion_frequency": 0,
        "promotion_frequency_journal": 1,
    }  # the flush before erasing wrote the journal
    assert report["forgotten"]["order_summary"] == 1 and report["forgotten"]["recent_clicks"] == 2
    assert engine.recommender.scores is None or not engine.recommender.scores.forget(
        ALICE
    )  # no precomputed scores left
    assert report["subject_sha256"] == subject_hash(ALICE)

    assert engine.history.customer(ALICE) is None and engine.history.customer(BOB) is not None
    engine.history.refresh()  # the next snapshot reload reads the anonymized orders
    assert engine.history.customer(ALICE) is None
    assert client.get("/experiments/P1").json() == experiment_before

    audit = engine.db[read_models.PRIVACY_AUDIT].find_one({"_id": report["audit_id"]})
    assert audit["action"] == "erase" and audit["actor"] == key_id("admin-key") and "admin-key" not in str(audit)
    after = client.get(f"/admin/customers/{ALICE}/export", headers=ADMIN).json()
    assert all(not docs for name, docs in after["collections"].items() if name != "privacy_audit")
    assert after["in_memory"] == {"order_summary": None, "recent_clicks": {"clicks": 0, "viewed": [], "in_cart": []}}
    assert client.get(f"/recommendations/{ALICE}").json()["cold_start"] is True  # (a serve now is new data about them)


def test_erasing_an_unknown_customer_is_idempotent_and_audited(client) -> None:
    unknown = "cu_" + "0" * 24
    for _ in range(2):
        response = client.delete(f"/admin/customers/{unknown}", headers=ADMIN)
        assert response.status_code == 200
        assert set(response.json()["anonymized"].values()) | set(response.json()["deleted"].values()) == {0}
    assert (
        client.app.state.engine.db[read_models.PRIVACY_AUDIT].count_documents(
            {"subject_sha256": subject_hash(unknown), "action": "erase"}
        )
        == 2
    )
