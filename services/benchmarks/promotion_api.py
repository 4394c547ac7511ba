"""``shelfcast bench api --service promotions``: the recommendation endpoint under load, end to end.

``run_promotions_bench(settings, requests, concurrency)`` with no ``url`` is self-contained: it
starts its own embedded Kafka + Mongo-protocol server in a temporary folder, writes the bench shop
(``bench.seed_bench_data``: 5k customers, 20k orders, 50k clicks, 20 promotions and a past
experiment), starts the engine as a real ``python -m services.promotion_engine`` process (with
``SHELFCAST_PROMOTION_WORKERS`` worker processes unless told otherwise), trains an uplift model through ``POST
/train`` (so
requests are scored by XGBoost, as in production), waits until every worker has scored its known
customers ahead of requests (``score_cache``; the steady state after a model change, reported by
``/health``), sends ``WARMUP_REQUESTS`` untimed requests, measures, and tears everything down.
With ``url`` it measures that running deployment instead (200 warm-up requests: it is warm
already, and every request spends its budgets and caps), asking for the customers found in
``settings``' database.
"""

from __future__ import annotations

import secrets
import sys
import tempfile
import time
from pathlib import Path

import httpx

from services.benchmarks.promotion_shop import bench_recommendations, known_customers, seed_bench_data
from services.common.bus import ensure_topics
from services.common.settings import Settings
from services.common.store import connect
from services.devstack import EmbeddedStack
from services.devstack.service import ServiceProcess, service_env
from services.promotion_engine.config import load_promotion_config

START_TIMEOUT_S = 180.0
# The freshly started Kafka and Mongo-protocol server are JVMs that compile their write and query paths only after
# thousands of requests: 3 interleaved pairs of fresh two-worker runs gave p99 57-61 ms after 3,000, 74-82 ms after 200.
WARMUP_REQUESTS = 3000
TRAIN_TIMEOUT_S = 300.0


def _say(progress: bool, message: str) -> None:
    if progress:
        print(message, file=sys.stderr, flush=True)


def _progress_printer(progress: bool, requests: int):
    if not progress:
        return None
    from tqdm import tqdm

    bar = tqdm(total=requests, desc="requests", unit="req", file=sys.stderr, leave=False)

    def update(done: int) -> None:
        bar.update(done - bar.n)
        if done >= requests:
            bar.close()

    return update


def _wait_scored_ahead(url: str, workers: int) -> None:
    """Until every worker's ``/health`` (told apart by ``worker_pid``; a fresh connection per call lands on any
    of them) says it has scored every customer of its history snapshot for the active model."""
    deadline = time.monotonic() + TRAIN_TIMEOUT_S
    ready: dict[int, bool] = {}
    while time.monotonic() < deadline:
        body = httpx.get(f"{url}/health", timeout=5.0).json()
        ahead = body.get("scores_ahead")
        ready[body.get("worker_pid", 0)] = body.get("model") is not None and (
            ahead is None or ahead["customers"] >= body["order_history"]["customers"]
        )
        if len(ready) >= workers and all(ready.values()):
            return
        time.sleep(0.2)
    raise RuntimeError(
        f"the engine's {workers} worker(s) did not all score their customers ahead within {TRAIN_TIMEOUT_S:.0f}s"
    )


def _train(url: str, api_key: str) -> str:
    """Fit and activate an uplift model on the seeded experiment; returns its version."""
    response = httpx.post(
        f"{url}/train",
        params={"wait": True},
        json={"learner": "auto", "seed": 0},
        headers={"X-API-Key": api_key},
        timeout=TRAIN_TIMEOUT_S,
    )
    if response.status_code != 200:
        raise RuntimeError(f"training the bench model failed: {response.status_code} {response.text[:300]}")
    return str(response.json()["version"])


def _self_contained(settings: Settings, requests: int, concurrency: int, progress: bool, workers: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="shelfcast-bench-api-") as tmp:
        run_dir = Path(tmp)
        _say(progress, "starting Kafka and the MongoDB-protocol server…")
        with EmbeddedStack(settings, run_dir / "run") as live:
            live = live.model_copy(update={"topic_prefix": "bench", "mongo_db": "bench"})
            ensure_topics(live.kafka_bootstrap, live.topic_partitions, live.topics.all)
            _say(progress, "writing the bench shop (5k customers, 20k orders, 50k clicks, 20 promotions)…")
            customers = seed_bench_data(connect(live.mongo_uri, live.mongo_db))
            api_key = f"bench-{secrets.token_hex(8)}"
            env = service_env(
                live,
                SHELFCAST_API_KEYS=f"{api_key}:admin",
                SHELFCAST_DATA_DIR=str(run_dir / "data"),
                SHELFCAST_LOG_LEVEL="WARNING",
                SHELFCAST_PROMOTION_WORKERS=str(workers),
            )
            _say(progress, f"starting the promotion engine ({workers} worker process{'es' if workers > 1 else ''})…")
            with ServiceProcess(
                "promotion_engine", "SHELFCAST_PROMOTION_PORT", env, ready_timeout_s=START_TIMEOUT_S
            ) as url:
                _say(progress, "training the uplift model…")
                model = _train(url, api_key)
                _wait_scored_ahead(url, workers)
                _say(
                    progress,
                    f"{WARMUP_REQUESTS} warm-up requests, then {requests} measured, at concurrency {concurrency}…",
                )
                result = bench_recommendations(
                    url,
                    api_key,
                    requests,
                    concurrency,
                    customers,
                    warmup=WARMUP_REQUESTS,
                    progress=_progress_printer(progress, requests),
                )
    return result | {"model": model, "customers": len(customers), "workers": workers}


def run_promotions_bench(
    settings: Settings,
    requests: int,
    concurrency: int,
    url: str | None = None,
    api_key: str | None = None,
    progress: bool = True,
    workers: int | None = None,
) -> dict:
    """``{requests, concurrency, seconds, rps, p50_ms, p99_ms, errors, ...}`` of ``GET /recommendations/{id}?k=3``.

    ``url=None``: everything started here and stopped afterwards (see the module docstring), the engine with
    ``workers`` processes (default: as configured, ``SHELFCAST_PROMOTION_WORKERS``).
    ``url``: that deployment with ``api_key``; customers are read from ``settings``' MongoDB.
    """
    if requests <= 0 or concurrency <= 0:
        raise ValueError("requests and concurrency must be positive")
    if url is None:
        return _self_contained(
            settings, requests, concurrency, progress, workers or load_promotion_config().worker_count
        )
    customers = known_customers(connect(settings.mongo_uri, settings.mongo_db))
    if not customers:
        raise ValueError(
            f"no customers with orders in database '{settings.mongo_db}' at {settings.mongo_uri}; nothing to ask for"
        )
    result = bench_recommendations(
        url.rstrip("/"), api_key, requests, concurrency, customers, progress=_progress_printer(progress, requests)
    )
    return result | {"customers": len(customers)}
