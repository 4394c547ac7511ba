"""``/add-data`` through real Kafka, the PNG charts, body limits, health and metrics."""

from __future__ import annotations

import json
import time
import uuid
from datetime import date, timedelta

import pytest
from kafka import KafkaConsumer

from services.common.events import OrderPlaced, parse_event
from services.common.settings import Settings
from services.forecast_service.sales_intake import MAX_RECORDS
from tests.forecast_service import sales_data

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
YESTERDAY = (date.today() - timedelta(days=1)).isoformat()


def read_orders(settings: Settings, wanted: set[str], timeout_s: float = 60.0) -> dict[str, OrderPlaced]:
    """Orders on the test's transactions topic, until every wanted event id was seen."""
    consumer = KafkaConsumer(
        settings.topics.for_event_type("order"),
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    found: dict[str, OrderPlaced] = {}
    deadline = time.monotonic() + timeout_s
    try:
        while not wanted <= set(found) and time.monotonic() < deadline:
            for batch in consumer.poll(500).values():
                for record in batch:
                    event = parse_event(record.value)
                    found[str(event.event_id)] = event  # type: ignore[assignment]
    finally:
        consumer.close()
    return found


def record(**overrides) -> dict:
    return {"date": YESTERDAY, "store_id": "s1", "sku": "A", "quantity": 2, "unit_price": 9.99} | overrides


def test_add_data_publishes_order_events_to_kafka_and_answers_202(trained_api) -> None:
    records = [record(), record(sku="B", store_id="s2", quantity=5, unit_price=4.5, channel="online")]
    response = trained_api.post("/add-data", json=records)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["accepted"] == 2 and body["topic"] == trained_api.settings.topics.for_event_type("order")
    orders = read_orders(trained_api.settings, set(body["event_ids"]))
    first, second = (orders[event_id] for event_id in body["event_ids"])
    assert (first.store_id, first.lines[0].sku, first.lines[0].quantity, first.lines[0].unit_price_cents) == (
        "s1",
        "A",
        2,
        999,
    )
    assert first.channel == "store" and first.occurred_at.isoformat().startswith(f"{YESTERDAY}T12:00")
    assert (second.store_id, second.lines[0].sku, second.lines[0].unit_price_cents, second.channel) == (
        "s2",
        "B",
        450,
        "online",
    )
    assert first.customer_id.startswith("cu_")


def test_add_data_with_order_id_gives_a_stable_event_id_for_retries(trained_api) -> None:
    order_id = f"pos-{uuid.uuid4().hex[:8]}"
    ids = [trained_api.post("/add-data", json=[record(order_id=order_id)]).json()["event_ids"][0] for _ in range(2)]
    assert ids[0] == ids[1]


@pytest.mark.parametrize(
    "bad, field, words",
    [
        ({"sku": "NOPE"}, "sku", "unknown sku 'NOPE'"),
        ({"store_id": "mars"}, "store_id", "unknown store_id 'mars'"),
        ({"quantity": 0}, "quantity", "greater than 0"),
        ({"unit_price": 1.234}, "unit_price", "decimal places"),
        ({"date": "2999-01-01"}, "date", "in the future"),
    ],
)
def test_add_data_rejects_a_bad_record_with_422_naming_index_and_field(
    trained_api, bad: dict, field: str, words: str
) -> None:
    response = trained_api.post("/add-data", json=[record(), record(**bad)])
    assert response.status_code == 422
    errors = response.json()["detail"]
    assert errors[0]["loc"] == ["body", 1, field]
    assert words in errors[0]["msg"]


def test_add_data_rejects_more_than_10000_records_and_an_empty_list(trained_api) -> None:
    minimal = {"date": YESTERDAY, "store_id": "s1", "sku": "A", "quantity": 1, "unit_price": 1}
    assert trained_api.post("/add-data", json=[minimal] * (MAX_RECORDS + 1)).status_code == 422
    assert trained_api.post("/add-data", json=[]).status_code == 422


def test_request_body_over_the_limit_is_413(trained_api) -> None:
    payload = json.dumps([record(order_id="x" * 60)] * 20_000).encode()
    assert len(payload) > 2 * 1024 * 1024
    response = trained_api.post("/add-data", content=payload, extra_headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def test_add_data_needs_write_scope(trained_api) -> None:
    assert trained_api.post("/add-data", key="read-key", json=[record()]).status_code == 403


@pytest.mark.parametrize("path", ["/profit_by_item", "/frequency_of_sale"])
def test_charts_are_png_images(trained_api, path: str) -> None:
    for params in ({}, {"store_id": "s2", "top": 2}):
        response = trained_api.get(path, params=params)
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/png"
        assert response.content.startswith(PNG_MAGIC)


def test_charts_render_without_any_sales(make_api) -> None:
    response = make_api().get("/frequency_of_sale")
    assert response.status_code == 200 and response.content.startswith(PNG_MAGIC)


def test_health_is_200_when_mongo_and_kafka_answer(trained_api) -> None:
    body = trained_api.get("/health", key=None).json()
    assert body["status"] == "ok" and body["mongo"]["ok"] and body["kafka"]["ok"]
    assert body["active_model"] == trained_api.get("/models/active").json()["version"]


def test_health_is_503_when_kafka_is_unreachable(make_api) -> None:
    api = make_api(settings_update={"kafka_bootstrap": "127.0.0.1:1"})
    response = api.get("/health", key=None)
    assert response.status_code == 503
    assert response.json()["kafka"]["ok"] is False and response.json()["mongo"]["ok"] is True


def test_metrics_expose_request_latency_by_route_training_time_and_backtest_smape(trained_api) -> None:
    trained_api.get("/forecast/A", params={"store_id": "s1"})
    text = trained_api.get("/metrics", key=None).text
    assert (
        'shelfcast_http_request_duration_seconds_count{method="GET",route="/forecast/{sku}",service="forecast",status="200"}'
        in text
    )
    assert 'shelfcast_forecast_training_seconds_count{kind="train",outcome="done"} 1.0' in text
    smape = trained_api.get("/models/active").json()["metrics"]["smape"]
    assert f"shelfcast_forecast_last_backtest_smape {smape}" in text


def test_chunked_request_body_over_the_limit_is_413(trained_api) -> None:
    chunk = json.dumps([record()] * 1000).encode()

    def body():
        for _ in range(200):  # ~17 MB streamed without a Content-Length
            yield chunk

    response = trained_api.post("/add-data", content=body(), extra_headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def test_add_data_is_503_when_kafka_is_unreachable(make_api) -> None:
    api = make_api(settings_update={"kafka_bootstrap": "127.0.0.1:1"})
    sales_data.seed_catalog(api.db)
    response = api.post("/add-data", json=[record()])
    assert response.status_code == 503
    assert "Kafka" in response.json()["detail"]
