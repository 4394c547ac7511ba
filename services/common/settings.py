"""Settings for every service, read from the environment and an ``env/*.env`` file.

pydantic-settings gives one typed object per process: the environment wins over the file, and
``SHELFCAST_ENV_FILE`` picks which file (default ``env/local.env`` if it exists). ``read_settings``
reads any of the platform's settings classes (``Settings`` here, the promotion engine's and the
dashboard's own) that way; a value the class refuses raises ``InvalidSettings`` naming the
environment variable, and ``exits_on_invalid_settings`` turns that into one line on stderr for a
service's ``main`` instead of pydantic's traceback.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.topics import Topics

S = TypeVar("S", bound=BaseSettings)


class InvalidSettings(ValueError):
    """The environment or the env file sets a value a settings class refuses; the message names each variable."""


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
    click_retention_days: int = Field(
        default=30, ge=0, le=3650, description="raw clicks older than this are deleted; 0 keeps them forever"
    )
    api_keys: SecretStr = SecretStr("")  # "key:scope,…"; a secret: not in reprs, logs or errors
    bind_host: str = Field(
        default="127.0.0.1", description="interface the HTTP services listen on (0.0.0.0 in containers)"
    )
    forecast_port: int = 8001
    promotion_port: int = 8002
    dashboard_port: int = 8050
    data_dir: Path = Path(".shelfcast")
    embedded_mongo_backend: str = Field(default="memory", pattern="^(memory|h2)$")
    log_level: str = "INFO"

    @field_validator("api_keys")
    @classmethod
    def _key_table_parses(cls, value: SecretStr) -> SecretStr:
        """A malformed key table stops every service at start, not at its first request."""
        if value.get_secret_value().strip():
            from services.common.api_auth import ApiKeys  # only where keys are set: it imports FastAPI

            ApiKeys.parse(value.get_secret_value())
        return value

    @property
    def topics(self) -> Topics:
        return Topics(self.topic_prefix)


def _variable(settings_class: type[BaseSettings], name: str) -> str:
    """The environment variable a field is read from: its alias, else prefix + name."""
    alias = settings_class.model_fields[name].validation_alias if name in settings_class.model_fields else None
    if isinstance(alias, str):
        return alias
    return f"{settings_class.model_config.get('env_prefix', '')}{name}".upper()


def _problem(settings_class: type[BaseSettings], error: dict) -> str:
    """One refused value as ``VARIABLE='value': rule``; secrets (``SecretStr`` fields) without the value."""
    name = str(error["loc"][0]) if error["loc"] else ""
    field = settings_class.model_fields.get(name)
    secret = field is not None and "Secret" in str(field.annotation)
    value = "" if secret or "input" not in error or isinstance(error["input"], dict) else f"={error['input']!r}"
    return f"{_variable(settings_class, name)}{value}: {error['msg']}"


def read_settings(settings_class: type[S], **overrides: object) -> S:
    """``settings_class`` from the environment and the env file; keyword overrides win (tests, the CLI)."""
    try:
        return settings_class(_env_file=_env_file(), **overrides)  # type: ignore[call-arg]
    except ValidationError as exc:
        raise InvalidSettings(
            "invalid setting " + "; ".join(_problem(settings_class, e) for e in exc.errors())
        ) from None


def exits_on_invalid_settings(service: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """For a service's ``main``: an invalid setting stops it with one line on stderr, naming ``service``, and exit code
    1.
    """

    def decorate(main: Callable[[], None]) -> Callable[[], None]:
        @functools.wraps(main)
        def run() -> None:
            try:
                main()
            except InvalidSettings as exc:
                raise SystemExit(f"{service}: {exc}") from None

        return run

    return decorate


def load_settings(**overrides: object) -> Settings:
    """A fresh Settings; keyword overrides win over environment and file (used by tests and the CLI)."""
    return read_settings(Settings, **overrides)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, for FastAPI ``Depends`` and long-running workers."""
    return load_settings()
