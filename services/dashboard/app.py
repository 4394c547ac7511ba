"""Composition root of the dashboard: wires settings, data, API clients, login and pages into a Dash app.

``python -m services.dashboard`` serves it behind gunicorn (``server.py``).
"""

from __future__ import annotations

from pathlib import Path

from dash import Dash
from flask import Response

from services.common.settings import Settings
from services.common.store import connect
from services.dashboard import shell
from services.dashboard.api_client import ForecastClient, PromotionClient
from services.dashboard.auth import install_basic_auth
from services.dashboard.config import DashboardConfig, load_config
from services.dashboard.context import EXTENSION, DashboardContext
from services.dashboard.data import DashboardData
from services.dashboard.entry import OrderPublisher

PAGES = Path(__file__).with_name("pages")


def create_app(settings: Settings, config: DashboardConfig | None = None) -> Dash:
    """A ready-to-serve app over ``settings``' database and services.

    Dash pages register their callbacks process-wide when the app is built and hand them to the first
    app that serves a request, so build one app per process.
    """
    config = config or load_config()
    api_key = config.api_key.get_secret_value() if config.api_key else None
    context = DashboardContext(
        settings=settings,
        config=config,
        data=DashboardData(
            connect(settings.mongo_uri, settings.mongo_db, timeout_ms=3000),
            config.cache_ttl_s,
            config.basket_max_orders,
        ),
        forecast=ForecastClient(config.forecast_base_url(settings), api_key, config.api_timeout_s),
        promotions=PromotionClient(config.promotion_base_url(settings), api_key, config.api_timeout_s),
        publisher=OrderPublisher(settings),
    )
    app = Dash(
        __package__,
        use_pages=True,
        pages_folder=str(PAGES),
        title="Shelfcast",
        suppress_callback_exceptions=True,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    app.server.extensions[EXTENSION] = context
    install_basic_auth(app.server, config.user_table(), config.dev_mode)
    app.server.add_url_rule("/health", "health", lambda: Response('{"status": "ok"}', mimetype="application/json"))
    app.layout = shell.layout
    shell.register_callbacks(app)
    return app
