"""Thin typed clients for the forecast and promotion APIs, failing with one error type the pages can show.

Both services may be down, starting, or older than this dashboard: transport errors, 5xx and
responses that do not match the contract all become ``ServiceUnavailable``; a 4xx (the request
itself was refused, e.g. no model for that SKU) becomes ``RequestRejected``. GET results, failures
included, are cached briefly so a down service costs one attempt per refresh period, not one per panel.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from services.dashboard.cache import TTLCache

M = TypeVar("M")


class ServiceError(Exception):
    """A call to one of the APIs did not produce a usable answer; ``str()`` is the user-facing reason."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(reason)
        self.service = service
        self.reason = reason


class ServiceUnavailable(ServiceError):
    """The service is down, failing, or answered outside its contract."""


class RequestRejected(ServiceError):
    """The service is up but refused this request (4xx): the reason is its ``detail``."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ForecastPoint(_Model):
    date: dt.date
    p10: float
    p50: float
    p90: float


class Forecast(_Model):
    sku: str
    store_id: str
    points: list[ForecastPoint]


class ReorderSuggestion(_Model):
    sku: str
    store_id: str
    on_hand: float
    demand_over_lead_time: float
    safety_stock: float
    reorder_point: float
    suggested_order: float
    days_of_cover: float | None = None
    stockout_risk: float | None = None


class QiniPoint(_Model):
    x: float
    model: float
    random: float


class ModelInfo(_Model):
    version: str | int | None = None
    metrics: dict[str, float | None] = {}
    qini_curve: list[QiniPoint] = []


class WhatIf(_Model):
    baseline_units: float
    scenario_units: float


class Promotion(_Model):
    promotion_id: str
    name: str
    discount_pct: float
    sku: str | None = None
    category: str | None = None
    starts_at: str | None = None
    ends_at: str | None = None
    budget_cents: int | None = None
    spent_cents: int | None = None
    active: bool = False


class ArmResult(_Model):
    n: int
    conversion: float
    revenue_cents: int


class Experiment(_Model):
    treatment: ArmResult
    control: ArmResult
    lift: float | None = None
    lift_ci: tuple[float, float] | None = None
    incremental_margin_cents: int | None = None
    roi: float | None = None


class _Client:
    """One service: base URL, API key header, short timeouts, brief caching of GETs."""

    service = "service"

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        timeout_s: float = 2.0,
        cache_ttl_s: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"X-API-Key": api_key} if api_key else {}
        timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 1.0))
        self._http = httpx.Client(base_url=base_url, headers=headers, timeout=timeout, transport=transport)
        self._cache = TTLCache(cache_ttl_s)

    def close(self) -> None:
        self._http.close()

    def _get(self, path: str, model: type[M] | Any, params: dict[str, Any] | None = None) -> M:
        key = (path, tuple(sorted((params or {}).items())))
        outcome = self._cache.get_or_compute(key, lambda: self._attempt("GET", path, model, params=params))
        if isinstance(outcome, ServiceError):
            raise outcome
        return outcome

    def _post(self, path: str, model: type[M], body: dict[str, Any]) -> M:
        outcome = self._attempt("POST", path, model, json=body)
        if isinstance(outcome, ServiceError):
            raise outcome
        return outcome

    def _attempt(self, method: Literal["GET", "POST"], path: str, model: Any, **kwargs: Any) -> Any:
        """The parsed answer, or the ServiceError describing why there is none (returned, so it can be cached)."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            return ServiceUnavailable(
                self.service, f"{type(exc).__name__}: {exc or 'no response'} ({self._http.base_url})"
            )
        if 400 <= response.status_code < 500:
            return RequestRejected(self.service, f"{response.status_code}: {_detail(response)}")
        if response.status_code >= 300:
            return ServiceUnavailable(self.service, f"HTTP {response.status_code}: {_detail(response)}")
        try:
            return TypeAdapter(model).validate_json(response.content)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            return ServiceUnavailable(self.service, f"unexpected response from {path} ({where}: {first['msg']})")


class ForecastClient(_Client):
    service = "Forecast service"

    def forecast(self, sku: str, store_id: str, horizon: int) -> Forecast:
        return self._get(f"/forecast/{sku}", Forecast, {"store_id": store_id, "horizon": horizon})

    def reorder(self) -> list[ReorderSuggestion]:
        return self._get("/reorder", list[ReorderSuggestion])

    def active_model(self) -> ModelInfo:
        return self._get("/models/active", ModelInfo)

    def what_if(
        self,
        sku: str,
        store_id: str,
        horizon: int,
        price_change_pct: float | None = None,
        promotion_discount_pct: float | None = None,
    ) -> WhatIf:
        body: dict[str, Any] = {"sku": sku, "store_id": store_id, "horizon": horizon}
        if price_change_pct is not None:
            body["price_change_pct"] = price_change_pct
        if promotion_discount_pct is not None:
            body["promotion_discount_pct"] = promotion_discount_pct
        return self._post("/what-if", WhatIf, body)


class PromotionClient(_Client):
    service = "Promotion engine"

    def promotions(self) -> list[Promotion]:
        return self._get("/promotions", list[Promotion])

    def experiment(self, promotion_id: str) -> Experiment:
        return self._get(f"/experiments/{promotion_id}", Experiment)

    def active_model(self) -> ModelInfo:
        return self._get("/models/active", ModelInfo)


def _detail(response: httpx.Response) -> str:
    """FastAPI puts the reason in ``detail``; fall back to the start of the body."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, list):  # validation errors: name the fields
        detail = "; ".join(
            f"{'.'.join(str(p) for p in d.get('loc', []))}: {d.get('msg')}" for d in detail if isinstance(d, dict)
        )
    return str(detail) if detail else (response.text[:200] or response.reason_phrase)
