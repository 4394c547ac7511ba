"""Request latency of the HTTP services: one metric family, one pure-ASGI middleware.

Every service observes into ``shelfcast_http_request_duration_seconds`` with a ``service`` label,
so one Prometheus query compares them. Routes are labelled by their template
(``/forecast/{sku}``), never the raw path, so label cardinality stays bounded; unmatched paths share
the label ``unmatched``. Pure ASGI rather than ``BaseHTTPMiddleware``: it runs on every request of
latency-sensitive APIs and must not buffer or re-wrap responses.

``exposition()`` is what every ``GET /metrics`` answers; a service run as several uvicorn workers
sets ``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode) and gets the workers'
metrics combined, whichever worker the scrape reaches.
"""

from __future__ import annotations

import os
import time

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Histogram, generate_latest, multiprocess
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_DURATION = "shelfcast_http_request_duration_seconds"
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def request_duration_histogram(registry: CollectorRegistry = REGISTRY) -> Histogram:
    """The request-latency family in ``registry`` (one per registry: prometheus-client refuses duplicates)."""
    return Histogram(
        REQUEST_DURATION,
        "HTTP request duration by service, route template, method and status code",
        ["service", "route", "method", "status"],
        buckets=BUCKETS,
        registry=registry,
    )


def multiprocess_mode() -> bool:
    """Whether metrics are kept in files shared by several worker processes."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def exposition(registry: CollectorRegistry = REGISTRY) -> tuple[bytes, str]:
    """(body, content type) of ``GET /metrics``: ``registry``, or every worker's metrics in multiprocess mode."""
    if multiprocess_mode():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry), CONTENT_TYPE_LATEST


class RequestMetrics:
    """Observe each request's duration into ``histogram`` under ``service`` and the matched route template."""

    def __init__(self, app: ASGIApp, histogram: Histogram, service: str) -> None:
        self.app = app
        self.histogram = histogram
        self.service = service
        self._children: dict[tuple[str, str, int], Histogram] = {}  # labels() validates and locks on every call

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            template = getattr(scope.get("route"), "path", None) or "unmatched"
            key = (template, scope["method"], status)
            child = self._children.get(key)
            if child is None:
                child = self._children[key] = self.histogram.labels(
                    self.service, template, scope["method"], str(status)
                )
            child.observe(time.perf_counter() - started)
