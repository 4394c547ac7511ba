"""``/health`` and ``/metrics``: open to every caller (no API key), for load balancers and Prometheus."""

from __future__ import annotations

import os
import socket
import time

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse
from pymongo.errors import PyMongoError

from services.common.http_metrics import exposition
from services.promotion_engine.api.dependencies import get_engine
from services.promotion_engine.engine import Engine

router = APIRouter(tags=["operations"])
CHECK_TIMEOUT_S = 1.0


def _check_mongo(engine: Engine) -> dict:
    started = time.perf_counter()
    try:
        engine.db.command("ping", maxTimeMS=int(CHECK_TIMEOUT_S * 1000))
    except PyMongoError as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


def _check_kafka(engine: Engine) -> dict:
    """A TCP connection to a bootstrap server, plus the click tail's own state (it talks to the broker continuously)."""
    errors = []
    started = time.perf_counter()
    for server in engine.settings.kafka_bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=CHECK_TIMEOUT_S):
                result: dict = {
                    "ok": True,
                    "latency_ms": round((time.perf_counter() - started) * 1000, 2),
                    "broker": server.strip(),
                }
                break
        except (OSError, ValueError) as exc:
            errors.append(f"{server.strip()}: {exc}")
    else:
        result = {"ok": False, "error": "; ".join(errors)[:300]}
    tail = engine.click_tail
    if tail is not None:
        result["click_stream"] = {
            "ready": tail.ready.is_set(),
            "healthy": tail.healthy,
            "consumed": tail.consumed,
            "error": tail.error,
        }
    return result


@router.get("/health", responses={503: {"description": "MongoDB or Kafka is unreachable"}})
def health(engine: Engine = Depends(get_engine)) -> JSONResponse:
    """This worker process's view (``worker_pid``): with several workers each answers for its own caches and model."""
    checks = {"mongo": _check_mongo(engine), "kafka": _check_kafka(engine)}
    ok = all(check["ok"] for check in checks.values())
    model = engine.registry.active
    body = {
        "status": "ok" if ok else "unavailable",
        "worker_pid": os.getpid(),
        "checks": checks,
        "model": model.version if model else None,
        "order_history": {
            "customers": engine.history.customers,
            "loaded_at": engine.history.loaded_at.isoformat() if engine.history.loaded_at else None,
        },
    }
    scores = engine.recommender.scores
    if scores is not None:
        body["scores_ahead"] = {"customers": len(scores), "hits": scores.hits, "misses": scores.misses}
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get("/metrics", response_class=Response)
def prometheus_metrics() -> Response:
    body, content_type = exposition()
    return Response(body, media_type=content_type)
