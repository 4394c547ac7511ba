"""Settings for every service, read from the environment and an ``env/*.env`` file.

pydantic-settings gives one typed object per process: the environment wins over the file, and
``SHELFCAST_ENV_FILE`` picks which file (default ``env/local.env`` if it exists).
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.topics import Topics


def _env_file() -> str | None:
    path = os.environ.get("SHELFCAST_ENV_FILE", "env/local.env")
    return path if Path(path).is_file() else None


class Settings(BaseSettings):
    """Every tunable of the platform; ``env/example.env`` documents each one."""

    model_config = SettingsConfigDict(env_prefix="SHELFCAST_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:9092"
    mongo_uri: str = "mongodb://127.0.0.1:27017"
    mongo_db: str = "shelfcast"
    topic_prefix: str = Field(default="shelfcast", pattern=r"^[A-Za-z0-9_.\-]+$")
    topic_partitions: int = Field(default=6, ge=1)
    consumer_group: str = "shelfcast-consumer"
    consumer_batch_size: int = Field(default=2000, ge=1, le=50_000)
    consumer_poll_ms: int = Field(default=200, ge=1)
    consumer_metrics_port: int = Field(default=9102, ge=0, description="0 disables the metrics endpoint")
    pseudonym_key: SecretStr = SecretStr("dev-only-pseudonym-key")
    click_retention_days: int = Field(default=30, ge=0, le=3650, description="raw clicks older than this are deleted; 0 keeps them forever")
    api_keys: str = ""
    bind_host: str = Field(default="127.0.0.1", description="interface the HTTP services listen on (0.0.0.0 in containers)")
    forecast_port: int = 8001
    promotion_port: int = 8002
    dashboard_port: int = 8050
    data_dir: Path = Path(".shelfcast")
    embedded_mongo_backend: str = Field(default="memory", pattern="^(memory|h2)$")
    log_level: str = "INFO"


    @property
    def topics(self) -> Topics:
        return Topics(self.topic_prefix)


def load_settings(**overrides: object) -> Settings:
    """A fresh Settings; keyword overrides win over environment and file (used by tests and the CLI)."""
    return Settings(_env_file=_env_file(), **overrides)  # type: ignore[call-arg]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, for FastAPI ``Depends`` and long-running workers."""
    return load_settings()
