"""The dashboard behind gunicorn, a production WSGI server (Flask's own server is for development only).

``python -m services.dashboard`` runs ``main()``: gunicorn's threaded workers (Dash callbacks are
plain blocking functions), each building its own app after the fork so no MongoDB client or Kafka
producer crosses a fork. One worker runs the scheduled reports: whichever holds the lock file.
"""

from __future__ import annotations

import fcntl
import logging
from typing import IO, Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from services.common.logs import configure_logging
from services.common.settings import Settings, exits_on_invalid_settings, load_settings
from services.dashboard.app import create_app
from services.dashboard.config import DashboardConfig, load_config
from services.dashboard.context import EXTENSION, DashboardContext
from services.dashboard.scheduler import ReportScheduler

log = logging.getLogger(__name__)
SCHEDULER_LOCK = ".scheduler.lock"


class DashboardServer(BaseApplication):
    """gunicorn configured from our settings instead of its command line."""

    def __init__(self, settings: Settings, config: DashboardConfig) -> None:
        self.settings, self.config = settings, config
        self._lock: IO[str] | None = None
        super().__init__()

    def load_config(self) -> None:
        options: dict[str, Any] = {
            "bind": f"{self.config.host}:{self.settings.dashboard_port}",
            "workers": self.config.workers,
            "threads": self.config.threads,
            "worker_class": "gthread",
            "timeout": 60,
            "graceful_timeout": 10,
            "loglevel": self.settings.log_level.lower(),
            "accesslog": None,
            "errorlog": "-",
            "worker_exit": _close_publisher,
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        app = create_app(self.settings, self.config)
        context: DashboardContext = app.server.extensions[EXTENSION]
        if self.config.report_interval_s and self._hold_scheduler_lock(context):
            ReportScheduler(
                context.data, context.promotions, context.reports_dir, self.config.report_interval_s
            ).start()
        return app.server

    def _hold_scheduler_lock(self, context: DashboardContext) -> bool:
        """True in the one worker that runs the scheduled reports (the lock dies with its process)."""
        context.reports_dir.mkdir(parents=True, exist_ok=True)
        handle = open(context.reports_dir / SCHEDULER_LOCK, "w")  # noqa: SIM115 - held for the worker's life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._lock = handle
        return True


def _close_publisher(_server: object, worker: Any) -> None:
    """Flush the sales-entry producer of the exiting worker, so an order typed just before shutdown is sent."""
    app = getattr(worker, "wsgi", None)
    context = app.extensions.get(EXTENSION) if isinstance(app, Flask) else None
    if context is not None:
        context.publisher.close()


@exits_on_invalid_settings("dashboard")
def main() -> None:
    settings, config = load_settings(), load_config()
    configure_logging(settings.log_level)
    if not config.dev_mode and not config.user_table():
        log.warning(
            "no SHELFCAST_DASHBOARD_USERS configured: every request is refused until you set it (or "
            "SHELFCAST_DASHBOARD_DEV_MODE=1)"
        )
    log.info(
        "dashboard on http://%s:%d (gunicorn, %d worker(s) × %d threads)",
        config.host,
        settings.dashboard_port,
        config.workers,
        config.threads,
    )
    DashboardServer(settings, config).run()
