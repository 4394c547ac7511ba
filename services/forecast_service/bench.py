"""Load test of a running forecast API: ``bench_forecast_api`` → ``{rps, p50_ms, p99_ms, errors}``.

``concurrency`` worker threads, each with its own keep-alive ``httpx.Client``, issue ``requests``
GETs between them: ``GET /forecast/{sku}?store_id=&horizon=28`` for random SKU × store pairs, and
every ``1/predict_share``-th request a ``GET /predict?store_id=&days=7`` instead (a whole store's
shelf plan, the heavier read). Latency is measured per request from send to full body; ``errors``
counts non-2xx answers and transport failures. Pairs are drawn with a fixed seed, so runs compare.

Threads with sync clients, not ``httpx.AsyncClient``: on the 2-core dev machine the async client
topped out at ~270–440 rps against a server that answered ~1,300–2,700 rps to a raw-socket client;
sync clients in threads reached ~550–700 rps. The client shares the machine with the server, so
the figures are a floor for the server's capacity. ``shelfcast bench api --service forecast`` wraps this.
"""
from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence

import httpx
import numpy as np


def _plan(requests: int, skus: Sequence[str], stores: Sequence[str], predict_share: float, horizon: int,
          seed: int) -> list[tuple[str, dict]]:
    rng = random.Random(seed)
    every = round(1 / predict_share) if predict_share > 0 else 0
    return [
        ("/predict", {"store_id": rng.choice(stores), "days": 7}) if every and i % every == every - 1
        else (f"/forecast/{rng.choice(skus)}", {"store_id": rng.choice(stores), "horizon": horizon})
        for i in range(requests)
    ]


def bench_forecast_api(base_url: str, api_key: str | None, requests: int, concurrency: int, skus: Sequence[str],
                       stores: Sequence[str], predict_share: float = 0.1, horizon: int = 28, seed: int = 0,
                       timeout_s: float = 10.0) -> dict[str, float | int]:
    """Drive ``requests`` GETs at ``concurrency`` against a running API (module doc); needs non-empty skus and stores."""
    if requests < 1 or concurrency < 1:
        raise ValueError("requests and concurrency must be >= 1")
    if not skus or not stores:
        raise ValueError("give at least one SKU and one store to request")
    if not 0 <= predict_share <= 1:
        raise ValueError("predict_share must be between 0 and 1")
    plan = _plan(requests, list(skus), list(stores), predict_share, horizon, seed)
    headers = {"X-API-Key": api_key} if api_key else {}
    cursor = iter(plan)
    lock = threading.Lock()
    latencies: list[float] = []
    errors = [0]

    def worker() -> None:
        mine: list[float] = []
        failed = 0
        with httpx.Client(base_url=base_url, headers=headers, timeout=timeout_s) as client:
            while True:
                with lock:
                    job = next(cursor, None)
                if job is None:
                    break
                began = time.perf_counter()
                try:
                    response = client.get(job[0], params=job[1])
                    failed += not response.is_success
                except httpx.HTTPError:
                    failed += 1
                mine.append(time.perf_counter() - began)
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    threads = [threading.Thread(target=worker, name=f"bench-{i}", daemon=True) for i in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    millis = np.array(latencies) * 1000
    return {
        "rps": round(len(latencies) / elapsed, 1) if elapsed > 0 else 0.0,
        "p50_ms": round(float(np.percentile(millis, 50)), 2),
        "p99_ms": round(float(np.percentile(millis, 99)), 2),
        "errors": errors[0],
    }


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m services.forecast_service.bench --base-url ... --skus A,B --stores s1``: one JSON line."""
    import argparse
    import json

    parser = argparse.ArgumentParser(description="load-test a running forecast API")
    parser.add_argument("--base-url", default="http://127.0.0.1:8001")
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--skus", required=True, help="comma-separated SKUs to request")
    parser.add_argument("--stores", required=True, help="comma-separated store ids to request")
    parser.add_argument("--predict-share", type=float, default=0.1)
    args = parser.parse_args(argv)
    result = bench_forecast_api(args.base_url, args.api_key, args.requests, args.concurrency, args.skus.split(","),
                                args.stores.split(","), predict_share=args.predict_share)
    print(json.dumps(result))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
