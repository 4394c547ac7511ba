"""What callbacks need from the running app (data, API clients, publisher), reached through Flask.

Callbacks run inside a Flask request of the app that owns them, so ``current()`` finds that app's
context without module-level globals: each app built by ``create_app`` carries its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from services.common.settings import Settings
from services.dashboard.api_client import ForecastClient, PromotionClient
from services.dashboard.config import DashboardConfig
from services.dashboard.data import DashboardData
from services.dashboard.entry import OrderPublisher

EXTENSION = "shelfcast_dashboard"


@dataclass
class DashboardContext:
    settings: Settings
    config: DashboardConfig
    data: DashboardData
    forecast: ForecastClient
    promotions: PromotionClient
    publisher: OrderPublisher

    @property
    def reports_dir(self) -> Path:
        return self.settings.data_dir / "reports"


def current() -> DashboardContext:
    return current_app.extensions[EXTENSION]
