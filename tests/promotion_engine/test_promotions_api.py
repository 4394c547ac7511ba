"""Promotions CRUD: validation names the field, unknown ids are 404, budgets follow edits."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.common.store import connect
from tests.promotion_engine.conftest import NOW, AppStarter, add_product, create_promotion, own_settings, promotion_body


@pytest.fixture(scope="module")
def module_app(live_settings, tmp_path_factory):
    """One app for the module (validation cases need no fresh state); each test cleans the promotions."""
    settings = own_settings(live_settings, tmp_path_factory.mktemp("promotions_api"))
    db = connect(settings.mongo_uri, settings.mongo_db)
    add_product(db, "SKU-A", category="Grocery", price_cents=1000)
    add_product(db, "SKU-B", category="Toys", price_cents=2000)
    starter = AppStarter(settings)
    yield starter(), db
    starter.stop()


@pytest.fixture
def client(module_app):
    client, db = module_app
    db.promotions.delete_many({})
    return client


def _error_fields(response) -> list[str]:
    return [".".join(str(p) for p in error["loc"]) for error in response.json()["detail"]]


def test_create_read_list_replace_delete_round_trip(client):
    created = create_promotion(client, "P1", budget_cents=5000)
    assert (
        created["promotion_id"] == "P1"
        and created["active"] is True
        and created["spent_cents"] == 0
        and created["remaining_cents"] == 5000
    )
    assert client.get("/promotions/P1").json()["name"] == "Promotion P1"
    assert [p["promotion_id"] for p in client.get("/promotions").json()] == ["P1"]

    replaced = client.put(
        "/promotions/P1", json=promotion_body("P1", name="Renamed", budget_cents=8000, sku=None, category="Toys")
    )
    assert replaced.status_code == 200, replaced.text
    assert (
        replaced.json()["name"] == "Renamed"
        and replaced.json()["category"] == "Toys"
        and replaced.json()["remaining_cents"] == 8000
    )

    assert client.delete("/promotions/P1").status_code == 204
    assert client.get("/promotions/P1").status_code == 404
    assert client.get("/promotions").json() == []


def test_unknown_promotion_is_404_on_read_replace_delete_and_experiment(client):
    create_promotion(client, "P-OTHER")
    assert client.get("/promotions/NOPE").status_code == 404
    assert client.put("/promotions/NOPE", json=promotion_body("NOPE")).status_code == 404
    assert client.delete("/promotions/NOPE").status_code == 404
    assert client.get("/experiments/NOPE").status_code == 404


def test_duplicate_promotion_id_is_409(client):
    create_promotion(client, "P1")
    assert client.post("/promotions", json=promotion_body("P1")).status_code == 409


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"discount_pct": -5}, "body.discount_pct"),
        ({"type": "amount_off", "discount_pct": None, "discount_cents": -100}, "body.discount_cents"),
        ({"sku": "SKU-UNKNOWN"}, "body.sku"),
        ({"sku": None, "category": "Gardening"}, "body.category"),
        ({"sku": None}, "body.category"),
        ({"ends_at": (NOW - timedelta(days=2)).isoformat()}, "body.ends_at"),
        ({"budget_cents": -1}, "body.budget_cents"),
        ({"type": "percent_off", "discount_pct": None}, "body.discount_pct"),
        ({"type": "amount_off", "discount_pct": None, "discount_cents": 1000}, "body.discount_cents"),
        ({"starts_at": "2026-03-01T00:00:00"}, "body.starts_at"),
        (
            {"starts_at": "0001-01-01T00:00:00+14:00"},
            "body.starts_at",
        ),  # no UTC equivalent: was a 500 (found by schemathesis)
    ],
)
def test_invalid_promotion_is_422_naming_the_field(client, overrides, field):
    response = client.post("/promotions", json=promotion_body("P-BAD", **overrides))
    assert response.status_code == 422, response.text
    assert field in _error_fields(response)
    assert client.get("/promotions/P-BAD").status_code == 404


def test_amount_off_and_bogo_report_an_effective_discount_percent(client):
    amount = create_promotion(client, "P-AMT", type="amount_off", discount_pct=None, discount_cents=250)
    bogo = create_promotion(client, "P-BOGO", type="bogo", discount_pct=None)
    assert amount["discount_pct"] == 25.0 and amount["discount_cents"] == 250
    assert bogo["discount_pct"] == 50.0


def test_lowering_the_budget_below_spend_exhausts_it(client):
    create_promotion(client, "P1", budget_cents=5000)
    replaced = client.put("/promotions/P1", json=promotion_body("P1", budget_cents=0)).json()
    assert replaced["remaining_cents"] == 0 and replaced["budget_exhausted"] is True


def test_body_above_the_size_limit_is_413(client):
    response = client.post(
        "/promotions", content=b"{" + b" " * (70 * 1024) + b"}", headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_list_limit_is_bounded(client):
    assert client.get("/promotions", params={"limit": 100_000}).status_code == 422
