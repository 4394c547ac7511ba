"""schemathesis against both APIs' own OpenAPI schemas, on real servers (uvicorn) over the session's
Kafka and Mongo-protocol server, with an admin key so requests get past auth: valid (positive) and
schema-violating (negative) requests must never get a 5xx."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import httpx
import schemathesis
import uvicorn
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from pydantic import SecretStr
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from services.common.store import connect
from services.devstack.process import free_port
from services.forecast_service.api.app import create_app as create_forecast_app
from services.promotion_engine.api.app import create_app as create_promotion_app
from tests.forecast_service import sales_data
from tests.forecast_service.fixtures import TRAINING
from tests.forecast_service.fixtures import own_settings as forecast_settings
from tests.promotion_engine.conftest import (
    NOW,
    add_order,
    add_product,
    make_config,
    promotion_body,
    set_stock,
)
from tests.promotion_engine.conftest import (
    own_settings as promotion_settings,
)
from tests.waiting import wait_for

ADMIN_KEY = "fuzz-admin-key"
EXAMPLES_PER_MODE = 150  # across all operations of one API: 5-60 s per API here, depending on load


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """The app under uvicorn in a thread (lifespan included), on a free loopback port."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    wait_for(lambda: server.started, "the API to start", timeout_s=60)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def fuzz(base_url: str, schema_path: str = "/openapi.json") -> dict:
    """Positive then negative cases over every operation; returns status counts and the 5xx found (not raised, so no
    shrinking).
    """
    schema = schemathesis.openapi.from_url(base_url + schema_path)
    statuses: Counter = Counter()
    server_errors: list[str] = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

        @given(case=schema.as_strategy(generation_mode=mode))
        @hypothesis_settings(
            max_examples=EXAMPLES_PER_MODE,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:
            try:
                response = case.call_and_validate(
                    base_url=base_url, headers={"X-API-Key": ADMIN_KEY}, checks=[not_a_server_error], timeout=60
                )
                statuses[str(response.status_code)] += 1
            except Exception as exc:  # the check's failure: record it and go on, every operation gets its share
                statuses["5xx"] += 1
                server_errors.append(f"{case.method} {case.formatted_path} {mode.value}: {str(exc)[:400]}")  # noqa: B023 - run() is called right below

        run()
    return {"requests": sum(statuses.values()), "by_status": dict(statuses), "server_errors": server_errors}


def test_forecast_api_gives_no_5xx_to_generated_requests(live_settings, tmp_path, artifacts_dir):
    settings = forecast_settings(live_settings, tmp_path, topics=True, api_keys=SecretStr(f"{ADMIN_KEY}:admin"))
    db = connect(settings.mongo_uri, settings.mongo_db)
    sales_data.seed_catalog(db)
    sales_data.seed_stock(db, {("A", "s1"): 500, ("B", "s1"): 0, ("C", "s1"): 30})
    sales_data.insert_rollups(db, sales_data.rollups(120))
    with serve(create_forecast_app(settings, TRAINING)) as url:
        headers = {"X-API-Key": ADMIN_KEY}
        assert httpx.post(f"{url}/train", headers=headers).status_code == 202
        wait_for(
            lambda: httpx.get(f"{url}/train/status", headers=headers).json()["state"] != "running",
            "training",
            timeout_s=180,
        )
        result = fuzz(url)
    (artifacts_dir / "resilience_schemathesis_forecast.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result)[:3000])
    assert result["requests"] >= EXAMPLES_PER_MODE
    assert result["server_errors"] == []


def test_promotion_engine_gives_no_5xx_to_generated_requests(live_settings, tmp_path, artifacts_dir):
    settings = promotion_settings(live_settings, tmp_path).model_copy(
        update={"api_keys": SecretStr(f"{ADMIN_KEY}:admin")}
    )
    db = connect(settings.mongo_uri, settings.mongo_db)
    for sku in ("SKU-A", "SKU-B"):
        add_product(db, sku)
        set_stock(db, sku, 100)
    for i in range(30):
        add_order(db, f"cu_{i % 7}", "SKU-A" if i % 2 else "SKU-B", NOW - timedelta(days=i % 20, hours=i))
    with serve(create_promotion_app(settings, make_config())) as url:
        for promotion_id in ("P1", "P2"):
            response = httpx.post(
                f"{url}/promotions", json=promotion_body(promotion_id), headers={"X-API-Key": ADMIN_KEY}
            )
            assert response.status_code == 201, response.text
        result = fuzz(url)
    (artifacts_dir / "resilience_schemathesis_promotions.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result)[:3000])
    assert result["requests"] >= EXAMPLES_PER_MODE
    assert result["server_errors"] == []
