"""``LeanRoute`` answers exactly as FastAPI's own ``APIRoute`` does for the same declaration: same status,
body and headers for good requests, auth failures and every kind of bad parameter, and the same OpenAPI."""

from __future__ import annotations

from typing import Annotated

import orjson
import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request, Response
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from services.common.api_auth import install_api_keys, require_scope
from services.common.events import IDENTIFIER_PATTERN, Channel
from services.promotion_engine.api.lean_route import LeanRoute
from services.promotion_engine.api.routes.recommendations import router as recommendations_router


async def echo(
    request: Request,
    customer_id: Annotated[str, Path(min_length=1, max_length=64, pattern=IDENTIFIER_PATTERN, description="who")],
    k: Annotated[int, Query(ge=1, description="how many")] = 3,
    channel: Channel = Channel.ONLINE,
    store_id: Annotated[str | None, Query(min_length=1, max_length=64, pattern=IDENTIFIER_PATTERN)] = None,
) -> Response:
    """Returns what it was given, typed as the endpoint saw it."""
    body = {
        "path": request.url.path,
        "customer_id": customer_id,
        "k": k,
        "channel": channel.value,
        "channel_is_enum": isinstance(channel, Channel),
        "store_id": store_id,
    }
    return Response(orjson.dumps(body), media_type="application/json")


def app_with(route_class: type) -> FastAPI:
    app = FastAPI()
    install_api_keys(app, "reader:read,writer:write", "test")
    router = APIRouter(dependencies=[Depends(require_scope("read"))], route_class=route_class)
    router.add_api_route("/echo/{customer_id}", echo, methods=["GET"], dependencies=[Depends(require_scope("write"))])
    app.include_router(router)
    return app


REQUESTS = [
    ("/echo/cu_1", {"X-API-Key": "writer"}),
    ("/echo/cu_1?k=5&channel=store&store_id=st-9", {"X-API-Key": "writer"}),
    ("/echo/cu_1?k=2&k=7&unknown=1", {"X-API-Key": "writer"}),  # repeated: the last wins; unknown ignored
    ("/echo/cu_1", {}),  # no key: 401 with the challenge header
    ("/echo/cu_1", {"X-API-Key": "nope"}),  # unknown key: 401
    ("/echo/cu_1", {"X-API-Key": "reader"}),  # the route's own write scope: 403
    ("/echo/cu_1?k=0", {"X-API-Key": "writer"}),
    ("/echo/cu_1?k=abc&channel=moon", {"X-API-Key": "writer"}),  # two errors at once
    ("/echo/cu_1?store_id=", {"X-API-Key": "writer"}),
    ("/echo/cu_1?store_id=" + "s" * 65, {"X-API-Key": "writer"}),
    ("/echo/bad%20id", {"X-API-Key": "writer"}),
    ("/echo/" + "c" * 65, {"X-API-Key": "writer"}),
]


@pytest.mark.parametrize(("url", "headers"), REQUESTS)
def test_lean_route_answers_as_fastapi_does(url, headers):
    with TestClient(app_with(APIRoute)) as reference, TestClient(app_with(LeanRoute)) as lean:
        expected, got = reference.get(url, headers=headers), lean.get(url, headers=headers)
    assert got.status_code == expected.status_code
    assert got.json() == expected.json()
    assert got.headers.get("www-authenticate") == expected.headers.get("www-authenticate")


def test_good_parameters_arrive_typed():
    with TestClient(app_with(LeanRoute)) as lean:
        body = lean.get("/echo/cu_1?k=5&channel=store", headers={"X-API-Key": "writer"}).json()
    assert body == {
        "path": "/echo/cu_1",
        "customer_id": "cu_1",
        "k": 5,
        "channel": "store",
        "channel_is_enum": True,
        "store_id": None,
    }


def test_the_openapi_operation_is_fastapis():
    assert app_with(LeanRoute).openapi()["paths"] == app_with(APIRoute).openapi()["paths"]


def test_the_recommendations_route_is_lean():
    assert all(isinstance(route, LeanRoute) for route in recommendations_router.routes)


async def with_header(customer_id: str, tag: Annotated[str, Header()]) -> Response:
    return Response(tag)


def sync_endpoint(customer_id: str) -> Response:
    return Response(customer_id)


async def other_dependency(customer_id: str, tag: Annotated[str, Depends(lambda: "x")]) -> Response:
    return Response(tag)


@pytest.mark.parametrize(
    ("endpoint", "dependencies", "message"),
    [
        (with_header, [], "path and query parameters only, not Header"),
        (other_dependency, [], "path and query parameters only, not Depends"),
        (sync_endpoint, [], "needs an async endpoint"),
        (echo, [Depends(lambda: None)], "API-key checks"),
    ],
)
def test_what_it_cannot_serve_is_refused_when_declared(endpoint, dependencies, message):
    router = APIRouter(route_class=LeanRoute)
    with pytest.raises(TypeError, match=message):
        router.add_api_route("/x/{customer_id}", endpoint, methods=["GET"], dependencies=dependencies)
