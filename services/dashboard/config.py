"""Dashboard-only settings (login, API access, refresh, reports), beside the platform's shared ``Settings``.

Kept in the dashboard package so the shared settings need no dashboard fields; read the same way
(environment first, then the ``SHELFCAST_ENV_FILE`` file).
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.settings import Settings, read_settings


class DashboardConfig(BaseSettings):
    """Tunables of the dashboard process; see ``env/example.env``."""

    model_config = SettingsConfigDict(env_prefix="SHELFCAST_DASHBOARD_", extra="ignore", populate_by_name=True)

    host: str = Field(default="127.0.0.1", description="bind address (0.0.0.0 in containers)")
    users: SecretStr = Field(default=SecretStr(""), description='"user:password,..." for HTTP basic auth')
    dev_mode: bool = Field(default=False, description="1 disables login (local development only)")
    api_key: SecretStr | None = Field(default=None, description="sent as X-API-Key to both APIs")
    forecast_url: str | None = Field(default=None, validation_alias="SHELFCAST_FORECAST_URL")
    promotion_url: str | None = Field(default=None, validation_alias="SHELFCAST_PROMOTION_URL")
    api_timeout_s: float = Field(default=2.0, gt=0)
    refresh_ms: int = Field(default=5000, ge=1000, description="live refresh period of every page")
    cache_ttl_s: float = Field(
        default=5.0, ge=0, description="how long a rollup query result is reused (shared by all viewers)"
    )
    basket_max_orders: int = Field(default=20_000, ge=100, description="most recent orders mined for baskets")
    workers: int = Field(default=1, ge=1, le=64, description="gunicorn worker processes (each caches its own queries)")
    threads: int = Field(default=8, ge=1, le=256, description="request threads per worker")
    report_interval_s: int = Field(default=86_400, ge=0, description="scheduled report period; 0 disables")

    def forecast_base_url(self, settings: Settings) -> str:
        return (self.forecast_url or f"http://127.0.0.1:{settings.forecast_port}").rstrip("/")

    def promotion_base_url(self, settings: Settings) -> str:
        return (self.promotion_url or f"http://127.0.0.1:{settings.promotion_port}").rstrip("/")

    def user_table(self) -> dict[str, str]:
        """Configured logins as {user: password}; malformed entries (no colon) are ignored."""
        pairs = (item.split(":", 1) for item in self.users.get_secret_value().split(",") if ":" in item)
        return {user.strip(): password for user, password in pairs if user.strip()}


def load_config(**overrides: object) -> DashboardConfig:
    """A fresh config; keyword overrides win (tests)."""
    return read_settings(DashboardConfig, **overrides)
