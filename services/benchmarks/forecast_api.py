"""Load test of a running forecast API: ``bench_forecast_api`` → ``{rps, p50_ms, p99_ms, errors}``.

``concurrency`` keep-alive connections (``services.benchmarks.http_load``) issue ``requests`` GETs
between them: ``GET /forecast/{sku}?store_id=&horizon=28`` for random SKU × store pairs, and
every ``1/predict_share``-th request a ``GET /predict?store_id=&days=7`` instead (a whole store's
shelf plan, the heavier read). Latency is measured per request from send to full body; ``errors``
counts non-2xx answers and transport failures. Pairs are drawn with a fixed seed, so runs compare.

The client shares the machine with the server, so the figures are a floor for the server's
capacity (the raw-socket client is the lightest we measured: httpx clients, async or in threads,
topped out at ~270–700 rps against a server that answered ~1,300–2,700 rps). ``shelfcast bench api --service
forecast`` runs it
through ``run_forecast_bench`` (self-contained, or against a running deployment).
"""

from __future__ import annotations

import random
import secrets
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import numpy as np
from pymongo.database import Database

from services.benchmarks.http_load import run_load
from services.common import read_models
from services.common.settings import Settings
from services.common.store import connect
from services.devstack import EmbeddedStack
from services.devstack.service import ServiceProcess, service_env

CATEGORIES = ("Grocery", "Beverages", "Household", "Personal care", "Snacks")
WEEKLY = np.array([0.8, 0.85, 0.9, 1.0, 1.1, 1.4, 1.25])


def _plan(
    requests: int, skus: Sequence[str], stores: Sequence[str], predict_share: float, horizon: int, seed: int
) -> list[tuple[str, dict]]:
    rng = random.Random(seed)
    every = round(1 / predict_share) if predict_share > 0 else 0
    return [
        ("/predict", {"store_id": rng.choice(stores), "days": 7})
        if every and i % every == every - 1
        else (f"/forecast/{rng.choice(skus)}", {"store_id": rng.choice(stores), "horizon": horizon})
        for i in range(requests)
    ]


def bench_forecast_api(
    base_url: str,
    api_key: str | None,
    requests: int,
    concurrency: int,
    skus: Sequence[str],
    stores: Sequence[str],
    predict_share: float = 0.1,
    horizon: int = 28,
    seed: int = 0,
    timeout_s: float = 10.0,
) -> dict[str, float | int]:
    """Drive ``requests`` GETs at ``concurrency`` against a running API (module doc; ``http_load.run_load``);
    needs non-empty skus and stores."""
    if requests < 1 or concurrency < 1:
        raise ValueError("requests and concurrency must be >= 1")
    if not skus or not stores:
        raise ValueError("give at least one SKU and one store to request")
    if not 0 <= predict_share <= 1:
        raise ValueError("predict_share must be between 0 and 1")
    paths = [
        f"{path}?{urlencode(params)}"
        for path, params in _plan(requests, list(skus), list(stores), predict_share, horizon, seed)
    ]
    result = run_load(
        base_url, paths, concurrency, {"X-API-Key": api_key} if api_key else {}, warmup=0, timeout_s=timeout_s
    )
    return {key: result[key] for key in ("rps", "p50_ms", "p99_ms", "errors")}


def seed_bench_history(
    db: Database, skus: int = 30, stores: int = 4, days: int = 365, seed: int = 0
) -> tuple[list[str], list[str]]:
    """Catalog, stock and ``daily_sales`` rollups (the consumer's shape) for a shop of the given size.

    Poisson units with a per-series level, a weekly pattern and a mild trend, split over two
    channels; only days with sales get a document, as the consumer writes them. Returns (skus, stores).
    """
    rng = np.random.default_rng(seed)
    sku_ids = [f"F{i:04d}" for i in range(skus)]
    store_ids = [f"fs{i:02d}" for i in range(stores)]
    prices = rng.integers(200, 5000, size=skus)
    db[read_models.PRODUCTS].insert_many(
        [
            {
                "_id": sku,
                "sku": sku,
                "name": f"Product {sku}",
                "category": CATEGORIES[i % len(CATEGORIES)],
                "sub_category": "Misc",
                "price_cents": int(prices[i]),
                "cost_cents": int(prices[i] * 0.6),
                "reorder_threshold": 5,
            }
            for i, sku in enumerate(sku_ids)
        ]
    )
    db[read_models.STORES].insert_many(
        [{"_id": s, "store_id": s, "name": f"Store {s}", "region": "West"} for s in store_ids]
    )
    db[read_models.STOCK].insert_many(
        [read_models.new_stock_document(sku, s, 5, int(rng.integers(0, 400))) for sku in sku_ids for s in store_ids]
    )
    last = datetime.now(timezone.utc).date() - timedelta(days=1)
    first = last - timedelta(days=days - 1)
    dates = [first + timedelta(days=d) for d in range(days)]
    weekday = np.array([d.weekday() for d in dates])
    levels = rng.gamma(2.0, 4.0, size=(skus, stores))
    mean = levels[:, :, None] * WEEKLY[weekday][None, None, :] * np.linspace(0.9, 1.1, days)[None, None, :]
    units = rng.poisson(mean)
    online = rng.binomial(units, 0.4)
    batch: list[dict] = []
    for (i, j, d), total in np.ndenumerate(units):
        for channel, n in (("online", int(online[i, j, d])), ("store", int(total - online[i, j, d]))):
            if n:
                batch.append(
                    _rollup(
                        dates[d], sku_ids[i], store_ids[j], channel, n, int(prices[i]), CATEGORIES[i % len(CATEGORIES)]
                    )
                )
        if len(batch) >= 10_000:
            db[read_models.DAILY_SALES].insert_many(batch, ordered=False)
            batch = []
    if batch:
        db[read_models.DAILY_SALES].insert_many(batch, ordered=False)
    return sku_ids, store_ids


def run_forecast_bench(
    settings: Settings,
    requests: int,
    concurrency: int,
    url: str | None = None,
    api_key: str | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """``shelfcast bench api --service forecast``: against ``url`` (a running deployment), or self-contained.

    Self-contained: an embedded stack in a temporary folder, ``seed_bench_history``, the API as a real
    uvicorn child process, ``POST /train`` until done, then ``bench_forecast_api``; everything is
    stopped afterwards. Against ``url``, the SKUs and stores come from ``settings``' database.
    """
    if url:
        db = connect(settings.mongo_uri, settings.mongo_db)
        skus, stores = (
            sorted(db[read_models.PRODUCTS].distinct("sku")),
            sorted(db[read_models.STORES].distinct("store_id")),
        )
        if not skus or not stores:
            raise ValueError(
                f"no products or stores in {settings.mongo_db} at {settings.mongo_uri}: nothing to request"
            )
        return {"url": url, **bench_forecast_api(url, api_key, requests, concurrency, skus, stores)}
    key = api_key or f"bench-{secrets.token_hex(6)}"
    with (
        tempfile.TemporaryDirectory(prefix="shelfcast-bench-") as run_dir,
        EmbeddedStack(settings, Path(run_dir)) as live,
    ):
        _say(progress, "seeding daily sales history…")
        skus, stores = seed_bench_history(connect(live.mongo_uri, live.mongo_db))
        env = service_env(live, SHELFCAST_API_KEYS=f"{key}:admin", SHELFCAST_LOG_LEVEL="WARNING")
        with ServiceProcess("forecast_service", "SHELFCAST_FORECAST_PORT", env) as base_url:
            _say(progress, "training the model through POST /train…")
            trained = _train(base_url, key)
            _say(progress, f"{requests} requests at concurrency {concurrency}…")
            result = bench_forecast_api(base_url, key, requests, concurrency, skus, stores)
    return {
        "requests": requests,
        "concurrency": concurrency,
        "series": len(skus) * len(stores),
        "train_seconds": trained,
        **result,
    }


def _train(base_url: str, api_key: str, timeout_s: float = 900.0) -> float:
    """Start a training job and wait for it; its wall time in seconds."""
    headers = {"X-API-Key": api_key}
    started = time.monotonic()
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        client.post("/train").raise_for_status()
        while time.monotonic() - started < timeout_s:
            status = client.get("/train/status").json()
            if status["state"] == "done":
                return round(time.monotonic() - started, 1)
            if status["state"] == "failed":
                raise RuntimeError(f"training failed: {status['message']}")
            time.sleep(1.0)
    raise RuntimeError(f"training did not finish within {timeout_s:.0f} s")


def _rollup(day: date, sku: str, store_id: str, channel: str, units: int, price_cents: int, category: str) -> dict:
    doc = read_models.new_rollup_document(
        day.isoformat(), sku, store_id, channel, {"category": category, "sub_category": "Misc"}, "West"
    )
    return doc | {
        "units": units,
        "revenue_cents": units * price_cents,
        "cost_cents": units * int(price_cents * 0.6),
        "order_lines": units,
    }


def _say(progress: bool, message: str) -> None:
    if progress:
        print(message, file=sys.stderr, flush=True)
