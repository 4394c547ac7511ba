"""API keys (401/403), open operational endpoints, health and metrics."""

from __future__ import annotations

import pytest

from tests.promotion_engine.conftest import add_product, promotion_body, set_stock

KEYS = "reader-key:read,writer-key:write,admin-key:admin"


@pytest.fixture
def client(db, start_app):
    add_product(db, "SKU-A")
    set_stock(db, "SKU-A", on_hand=50)
    return start_app(api_keys=KEYS)


def test_missing_or_unknown_key_is_401(client):
    assert client.get("/promotions").status_code == 401
    assert client.get("/promotions", headers={"X-API-Key": "guess"}).status_code == 401
    assert client.get("/recommendations/cu_1").status_code == 401


def test_read_key_reads_but_cannot_write_403(client):
    assert client.get("/promotions", headers={"X-API-Key": "reader-key"}).status_code == 200
    assert client.get("/recommendations/cu_1", headers={"X-API-Key": "reader-key"}).status_code == 200
    response = client.post("/promotions", json=promotion_body("P1"), headers={"X-API-Key": "reader-key"})
    assert response.status_code == 403 and "'write' is required" in response.json()["detail"]
    assert client.post("/train", json={}, headers={"X-API-Key": "reader-key"}).status_code == 403


def test_write_and_admin_keys_can_write(client):
    assert client.post("/promotions", json=promotion_body("P1"), headers={"X-API-Key": "writer-key"}).status_code == 201
    assert client.delete("/promotions/P1", headers={"X-API-Key": "admin-key"}).status_code == 204


def test_health_metrics_and_docs_need_no_key(client):
    health = client.get("/health")
    assert health.status_code == 200
    assert (
        health.json()["status"] == "ok"
        and health.json()["checks"]["mongo"]["ok"]
        and health.json()["checks"]["kafka"]["ok"]
    )
    client.get("/recommendations/cu_1", headers={"X-API-Key": "reader-key"})
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert (
        'shelfcast_http_request_duration_seconds_count{method="GET",route="/recommendations/{customer_id}",service="promotions",status="200"}'
        in metrics.text
    )
    assert (
        "shelfcast_promotions_served_total" in metrics.text and "shelfcast_promotions_training_seconds" in metrics.text
    )
    assert client.get("/openapi.json").status_code == 200 and client.get("/docs").status_code == 200


def test_health_is_503_when_kafka_is_unreachable(settings, start_app):
    client = start_app()
    client.app.state.engine.settings = settings.model_copy(update={"kafka_bootstrap": "127.0.0.1:9"})
    response = client.get("/health")
    assert response.status_code == 503 and response.json()["checks"]["kafka"]["ok"] is False


def test_malformed_key_table_fails_at_start():
    from services.common.api_auth import ApiKeys

    with pytest.raises(ValueError, match="unknown API key scope 'owner'"):
        ApiKeys.parse("k1:read,k2:owner")
