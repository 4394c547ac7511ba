"""The load-test helper against a real uvicorn serving the shared trained model (behaviour, not speed)."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from services.forecast_service.app import create_app
from services.forecast_service.bench import bench_forecast_api
from tests.forecast_service.conftest import READ, TRAINING


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(trained_api) -> Iterator[str]:
    """A second app process-in-a-thread over the same database: it loads the active model at start."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(trained_api.settings, TRAINING), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_bench_reports_rps_and_latency_percentiles_without_errors(served: str) -> None:
    result = bench_forecast_api(served, READ, requests=60, concurrency=4, skus=["A", "B", "C", "D"], stores=["s1", "s2"])
    assert set(result) == {"rps", "p50_ms", "p99_ms", "errors"}
    assert result["errors"] == 0
    assert result["rps"] > 0 and 0 < result["p50_ms"] <= result["p99_ms"]


def test_bench_counts_refused_requests_as_errors(served: str) -> None:
    result = bench_forecast_api(served, "wrong-key", requests=10, concurrency=2, skus=["A"], stores=["s1"])
    assert result["errors"] == 10
