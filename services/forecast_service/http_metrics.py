"""Prometheus metrics and the two pure-ASGI middlewares: request timing and the request body limit.

Each app gets its own ``CollectorRegistry`` (several apps in one test process must not collide).
Routes are labelled by their template (``/forecast/{sku}``), never the raw path, so label
cardinality stays bounded; unmatched paths share the label ``unmatched``.
Pure ASGI rather than ``BaseHTTPMiddleware``: the hot forecast path stays a few microseconds cheaper.
"""
from __future__ import annotations

import json
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024  # 10,000 add-data records with ids of ~40 chars fit


class ForecastMetrics:
    """The service's metric families in one registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.request_seconds = Histogram(
            "shelfcast_forecast_request_seconds", "HTTP request latency by route", ["route", "method", "status"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=self.registry)
        self.training_seconds = Histogram(
            "shelfcast_forecast_training_seconds", "Duration of training jobs", ["kind", "outcome"],
            buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800), registry=self.registry)
        self.last_backtest_smape = Gauge(
            "shelfcast_forecast_last_backtest_smape", "SMAPE (%) of the active model on its last holdout backtest",
            registry=self.registry)
        self.last_backtest_smape.set(float("nan"))

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class RequestTimingMiddleware:
    """Observe every HTTP request's latency into ``shelfcast_forecast_request_seconds``."""

    def __init__(self, app: ASGIApp, metrics: ForecastMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            label = getattr(route, "path", None) or "unmatched"
            self.metrics.request_seconds.labels(label, scope["method"], str(status["code"])).observe(time.perf_counter() - began)


class BodySizeLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` with 413, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        if declared is not None or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)  # a declared length is enforced by the server; it is within the limit
            return
        body, more = b"", True  # chunked upload: read it here (bounded), then replay it to the app
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                await self._refuse(send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        detail: dict[str, Any] = {"detail": f"request body exceeds the limit of {self.max_bytes} bytes"}
        payload = json.dumps(detail).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})
