"""The dashboard header's service indicator, over status documents as the supervisor of ``shelfcast up`` writes them:
silent without a supervisor, quiet while all is up, red for a service restarting or given up on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from services.common import read_models
from services.common.store import connect
from services.dashboard import shell
from services.dashboard.context import EXTENSION, DashboardContext
from services.dashboard.data import DashboardData
from tests.dashboard.conftest import app_settings, dashboard_app  # noqa: F401 (fixtures, used by name)


@pytest.fixture
def status(dashboard_app, settings) -> Iterator:  # noqa: F811
    """The app's data layer on this test's database (uncached); yields its service_status collection."""
    db = connect(settings.mongo_uri, settings.mongo_db)
    ctx: DashboardContext = dashboard_app.server.extensions[EXTENSION]
    original, ctx.data = ctx.data, DashboardData(db, ttl_s=0)
    try:
        with dashboard_app.server.test_request_context("/"):
            yield db[read_models.SERVICE_STATUS]
    finally:
        ctx.data = original


def _report(collection, service: str, state: str, restarts: int = 0, host: str = "shop-1", age_s: float = 1) -> None:
    at = datetime.now(timezone.utc) - timedelta(seconds=age_s)
    collection.insert_one(read_models.service_status_document(host, service, state, 123, restarts, None, at, at))


def _shown(indicator) -> tuple[str, str] | None:
    return None if indicator is None else (indicator.children, indicator.className)


def test_nothing_is_shown_without_a_supervisor_or_when_it_stopped_reporting(status) -> None:
    assert shell.service_health_indicator(1) is None
    _report(status, "consumer", "restarting", restarts=2, age_s=120)  # left by a stack that is gone
    assert shell.service_health_indicator(1) is None


def test_all_services_up_is_quiet_and_counts_the_restarts_healed(status) -> None:
    for service in ("consumer", "forecast", "promotions"):
        _report(status, service, "up", restarts=1 if service == "consumer" else 0)
    assert _shown(shell.service_health_indicator(1)) == (
        "all 3 services up · 1 restart",
        "service-health service-health-ok",
    )


def test_services_restarting_or_given_up_on_are_named_in_red(status) -> None:
    _report(status, "consumer", "restarting", restarts=3)
    _report(status, "forecast", "up")
    _report(status, "dashboard", "failed", restarts=4)
    assert _shown(shell.service_health_indicator(1)) == (
        "⚠ consumer restarting (3 restarts), dashboard failed (4 restarts)",
        "service-health service-health-down",
    )


def test_hosts_are_named_when_several_supervisors_share_the_database(status) -> None:
    _report(status, "consumer", "up", host="shop-1")
    _report(status, "consumer", "restarting", restarts=1, host="shop-2")
    assert _shown(shell.service_health_indicator(1))[0] == "⚠ consumer@shop-2 restarting (1 restart)"
