"""HTTP basic auth for the whole app (pages, callbacks, assets) from ``SHELFCAST_DASHBOARD_USERS``.

Fails closed: without users and without dev mode every request is refused with a message saying
which setting to set, so a misconfigured deployment never serves sales data or the order form openly.
"""

from __future__ import annotations

import hmac

from flask import Flask, Response, request

OPEN_PATHS = ("/health",)


def install_basic_auth(server: Flask, users: dict[str, str], dev_mode: bool) -> None:
    """Register the ``before_request`` check; dev mode installs nothing."""
    if dev_mode:
        return

    @server.before_request
    def _require_login() -> Response | None:
        if request.path in OPEN_PATHS:
            return None
        if not users:
            return Response(
                "Login is not configured: set SHELFCAST_DASHBOARD_USERS=user:password "
                "(or SHELFCAST_DASHBOARD_DEV_MODE=1 for local development).\n",
                503,
                mimetype="text/plain",
            )
        auth = request.authorization
        if (
            auth
            and auth.type == "basic"
            and auth.username in users
            and hmac.compare_digest((auth.password or "").encode(), users[auth.username].encode())
        ):
            return None
        return Response(
            "Login required.\n",
            401,
            {"WWW-Authenticate": 'Basic realm="Shelfcast dashboard", charset="UTF-8"'},
            mimetype="text/plain",
        )
