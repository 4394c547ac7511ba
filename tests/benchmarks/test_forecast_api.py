"""The load-test helper against a real uvicorn serving the shared trained model (behaviour, not speed)."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import uvicorn

from services.benchmarks.forecast_api import bench_forecast_api
from services.common import read_models
from services.forecast_service.api.app import create_app
from tests.forecast_service.fixtures import READ, TRAINING


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(trained_api) -> Iterator[str]:
    """A second app process-in-a-thread over the same database: it loads the active model at start."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(trained_api.settings, TRAINING), host="127.0.0.1", port=port, log_level="warning")
    )
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
    result = bench_forecast_api(
        served, READ, requests=60, concurrency=4, skus=["A", "B", "C", "D"], stores=["s1", "s2"]
    )
    assert set(result) == {"rps", "p50_ms", "p99_ms", "errors"}
    assert result["errors"] == 0
    assert result["rps"] > 0 and 0 < result["p50_ms"] <= result["p99_ms"]


def test_bench_counts_refused_requests_as_errors(served: str) -> None:
    result = bench_forecast_api(served, "wrong-key", requests=10, concurrency=2, skus=["A"], stores=["s1"])
    assert result["errors"] == 10


def test_cli_bench_api_against_a_running_service_reads_its_skus_and_stores(served: str, trained_api, capsys) -> None:
    from services.cli.main import main

    env = {"SHELFCAST_MONGO_URI": trained_api.settings.mongo_uri, "SHELFCAST_MONGO_DB": trained_api.settings.mongo_db}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        code = main(
            [
                "bench",
                "api",
                "--service",
                "forecast",
                "--url",
                served,
                "--api-key",
                READ,
                "--requests",
                "30",
                "--concurrency",
                "3",
                "--json",
            ]
        )
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0
    assert result["url"] == served and result["errors"] == 0 and result["rps"] > 0


def test_seeded_bench_history_has_the_consumers_rollup_shape(live_settings) -> None:
    from services.benchmarks.forecast_api import seed_bench_history
    from services.common.store import connect

    db = connect(live_settings.mongo_uri, f"bench_seed_{uuid.uuid4().hex[:8]}")
    skus, stores = seed_bench_history(db, skus=3, stores=2, days=20)
    rollups = list(db[read_models.DAILY_SALES].find())
    assert (len(skus), len(stores)) == (3, 2)
    assert rollups and all(
        doc["_id"] == f"{doc['day']}|{doc['sku']}|{doc['store_id']}|{doc['channel']}" for doc in rollups
    )
    assert all(doc["units"] > 0 and doc["revenue_cents"] > doc["cost_cents"] for doc in rollups)
    assert {doc["sku"] for doc in rollups} <= set(skus) and db[read_models.STOCK].count_documents({}) == 6
    db.client.drop_database(db.name)


def test_cli_bench_api_against_a_deployment_with_no_catalog_is_one_line_not_a_traceback(live_settings, capsys) -> None:
    from services.cli.main import main

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SHELFCAST_MONGO_URI", live_settings.mongo_uri)
        patch.setenv("SHELFCAST_MONGO_DB", f"empty_{uuid.uuid4().hex[:8]}")
        code = main(
            ["bench", "api", "--service", "forecast", "--url", "http://127.0.0.1:9", "--requests", "5", "--json"]
        )
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert (
        err.startswith("shelfcast bench api: no products or stores")
        and "Traceback" not in err
        and len(err.splitlines()) == 1
    )


def test_cli_bench_api_refuses_workers_where_they_do_not_apply(capsys) -> None:
    """``--workers`` sizes the self-contained promotion engine only; elsewhere it would be silently ignored."""
    from services.cli.main import main

    code = main(["bench", "api", "--service", "forecast", "--workers", "2", "--json"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err == "shelfcast bench api: --workers applies to the self-contained promotions bench only"
