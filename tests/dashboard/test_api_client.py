"""The API clients turn every failure into a typed error a banner can show, and parse the contracts."""

from __future__ import annotations

import json

import httpx
import pytest

from services.dashboard.api_client import ForecastClient, PromotionClient, RequestRejected, ServiceUnavailable


def _client(cls, handler, **kwargs):
    return cls("http://api.test", api_key="k-123", transport=httpx.MockTransport(handler), **kwargs)


def test_forecast_is_parsed_and_the_api_key_is_sent() -> None:
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(key=request.headers.get("X-API-Key"), url=str(request.url))
        return httpx.Response(
            200,
            json={"sku": "A1", "store_id": "s1", "points": [{"date": "2026-03-11", "p10": 1, "p50": 2.5, "p90": 4}]},
        )

    forecast = _client(ForecastClient, handler).forecast("A1", "s1", 7)
    assert seen == {"key": "k-123", "url": "http://api.test/forecast/A1?store_id=s1&horizon=7"}
    assert (forecast.points[0].date.isoformat(), forecast.points[0].p50) == ("2026-03-11", 2.5)


def test_experiment_and_promotions_follow_the_contract() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/promotions":
            return httpx.Response(
                200,
                json=[
                    {
                        "promotion_id": "P1",
                        "name": "Spring",
                        "discount_pct": 10,
                        "category": "Grocery",
                        "starts_at": "2026-03-01",
                        "ends_at": "2026-03-31",
                        "budget_cents": 10000,
                        "spent_cents": 2500,
                        "active": True,
                    }
                ],
            )
        arm = {"n": 100, "conversion": 0.1, "revenue_cents": 5000}
        return httpx.Response(
            200,
            json={
                "treatment": arm,
                "control": arm | {"conversion": 0.08},
                "lift": 0.25,
                "lift_ci": [0.05, 0.45],
                "incremental_margin_cents": 1234,
                "roi": 1.5,
            },
        )

    client = _client(PromotionClient, handler)
    assert [(p.promotion_id, p.active, p.spent_cents) for p in client.promotions()] == [("P1", True, 2500)]
    experiment = client.experiment("P1")
    assert (experiment.control.conversion, experiment.lift_ci, experiment.incremental_margin_cents) == (
        0.08,
        (0.05, 0.45),
        1234,
    )


@pytest.mark.parametrize(
    "response, error, text",
    [
        (httpx.Response(404, json={"detail": "no model for sku A1"}), RequestRejected, "404: no model for sku A1"),
        (
            httpx.Response(422, json={"detail": [{"loc": ["query", "horizon"], "msg": "too large"}]}),
            RequestRejected,
            "query.horizon: too large",
        ),
        (httpx.Response(503, text="warming up"), ServiceUnavailable, "HTTP 503: warming up"),
        (
            httpx.Response(200, json={"sku": "A1"}),
            ServiceUnavailable,
            "unexpected response from /forecast/A1 (store_id: Field required)",
        ),
    ],
)
def test_failures_become_typed_errors_with_a_reason(response: httpx.Response, error: type, text: str) -> None:
    client = _client(ForecastClient, lambda request: response)
    with pytest.raises(error) as raised:
        client.forecast("A1", "s1", 7)
    assert text in str(raised.value) and raised.value.service == "Forecast service"


def test_a_service_that_is_not_running_is_unavailable_and_the_failure_is_cached() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("Connection refused")

    client = _client(PromotionClient, handler, cache_ttl_s=60)
    for _ in range(3):
        with pytest.raises(ServiceUnavailable, match="ConnectError: Connection refused"):
            client.promotions()
    assert len(calls) == 1


def test_real_closed_port_is_unavailable_quickly() -> None:
    client = ForecastClient("http://127.0.0.1:9", timeout_s=0.5)
    with pytest.raises(ServiceUnavailable, match="ConnectError"):
        client.reorder()


def test_what_if_posts_only_the_chosen_scenario() -> None:
    bodies = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json={"baseline_units": 100, "scenario_units": 120})

    result = _client(ForecastClient, handler).what_if("A1", "s1", 28, promotion_discount_pct=15)
    assert bodies == [{"sku": "A1", "store_id": "s1", "horizon": 28, "promotion_discount_pct": 15}]
    assert (result.baseline_units, result.scenario_units) == (100, 120)
