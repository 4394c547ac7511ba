"""``python -m services.dashboard`` serves the app with gunicorn, not Flask's development server."""

from __future__ import annotations

import httpx

from services.common.settings import Settings
from services.devstack.service import ServiceProcess, service_env


def test_dashboard_process_serves_pages_through_gunicorn(isolated_settings: Settings, tmp_path) -> None:
    env = service_env(
        isolated_settings,
        SHELFCAST_DASHBOARD_USERS="ops:s3cret",
        SHELFCAST_DATA_DIR=str(tmp_path),
        SHELFCAST_DASHBOARD_WORKERS="2",
        SHELFCAST_DASHBOARD_THREADS="2",
    )
    with ServiceProcess("dashboard", "SHELFCAST_DASHBOARD_PORT", env) as url:
        health = httpx.get(f"{url}/health", timeout=10)
        page = httpx.get(f"{url}/inventory", auth=("ops", "s3cret"), timeout=30)
        refused = httpx.get(f"{url}/inventory", timeout=10)
    assert health.headers["server"].startswith("gunicorn")
    assert page.status_code == 200 and "dash-renderer" in page.text
    assert refused.status_code == 401
    assert (tmp_path / "reports" / ".scheduler.lock").exists()  # a worker took the report schedule
