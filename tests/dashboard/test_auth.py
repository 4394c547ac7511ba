"""Basic auth on the Flask server: configured users get in, others get 401, no users means closed."""

from __future__ import annotations

import base64

from flask import Flask

from services.dashboard.auth import install_basic_auth
from services.dashboard.config import load_config


def _server(users: dict[str, str], dev_mode: bool = False) -> Flask:
    server = Flask(__name__)
    server.add_url_rule("/", "index", lambda: "dashboard")
    server.add_url_rule("/health", "health", lambda: "ok")
    install_basic_auth(server, users, dev_mode)
    return server


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_users_from_the_setting_log_in_and_others_are_asked_to() -> None:
    users = load_config(users="alice:s3cret,bob:pa:ss").user_table()
    assert users == {"alice": "s3cret", "bob": "pa:ss"}
    client = _server(users).test_client()
    assert client.get("/", headers=_basic("alice", "s3cret")).status_code == 200
    assert client.get("/", headers=_basic("bob", "pa:ss")).status_code == 200
    denied = client.get("/", headers=_basic("alice", "wrong"))
    assert denied.status_code == 401 and denied.headers["WWW-Authenticate"].startswith("Basic")
    assert client.get("/").status_code == 401
    assert client.get("/health").status_code == 200


def test_without_users_the_app_is_closed_unless_in_dev_mode() -> None:
    closed = _server({}).test_client().get("/")
    assert closed.status_code == 503 and b"SHELFCAST_DASHBOARD_USERS" in closed.data
    assert _server({}, dev_mode=True).test_client().get("/").status_code == 200
