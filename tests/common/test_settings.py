"""Invalid settings: every entry point says which environment variable is wrong, in one line, and never echoes a
secret."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.settings import InvalidSettings, Settings, read_settings


class _Example(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHELFCAST_EXAMPLE_", extra="ignore")

    workers: int = Field(default=1, ge=0)
    token: SecretStr = Field(default=SecretStr("dev-only-token"), min_length=8)
    peer_port: int = Field(default=1, validation_alias="SHELFCAST_PEER_PORT")


def test_an_invalid_value_names_the_variable_and_the_rule(monkeypatch) -> None:
    monkeypatch.setenv("SHELFCAST_EXAMPLE_WORKERS", "-1")
    with pytest.raises(InvalidSettings) as raised:
        read_settings(_Example)
    assert (
        str(raised.value)
        == "invalid setting SHELFCAST_EXAMPLE_WORKERS='-1': Input should be greater than or equal to 0"
    )


def test_every_invalid_value_is_named_an_aliased_one_by_its_own_name_and_a_secret_is_not_echoed(monkeypatch) -> None:
    monkeypatch.setenv("SHELFCAST_EXAMPLE_TOKEN", "s3cret")
    monkeypatch.setenv("SHELFCAST_PEER_PORT", "http")
    with pytest.raises(InvalidSettings) as raised:
        read_settings(_Example)
    message = str(raised.value)
    assert "SHELFCAST_EXAMPLE_TOKEN: " in message  # the rule, without the value
    assert "SHELFCAST_PEER_PORT='http': Input should be a valid integer" in message
    assert "s3cret" not in message and len(message.splitlines()) == 1


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *args], env=os.environ | env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("module", "service", "variable", "value"),
    [
        ("services.promotion_engine", "promotion engine", "SHELFCAST_PROMOTION_WORKERS", "-1"),
        ("services.forecast_service", "forecast service", "SHELFCAST_FORECAST_PORT", "eighty"),
        ("services.data_consumer", "data consumer", "SHELFCAST_TOPIC_PARTITIONS", "0"),
        ("services.dashboard", "dashboard", "SHELFCAST_DASHBOARD_REFRESH_MS", "5"),
    ],
)
def test_a_service_started_with_an_invalid_setting_stops_with_one_line(
    module: str, service: str, variable: str, value: str
) -> None:
    done = _run([module], **{variable: value})
    assert done.returncode == 1
    assert done.stderr.strip().startswith(f"{service}: invalid setting {variable}='{value}': ")
    assert len(done.stderr.strip().splitlines()) == 1


def test_the_cli_with_an_invalid_setting_exits_2_with_one_line() -> None:
    done = _run(["services.cli.main", "up"], SHELFCAST_TOPIC_PARTITIONS="many")
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == "shelfcast: invalid setting SHELFCAST_TOPIC_PARTITIONS='many': Input should be a valid integer, unable to "
        "parse string as an integer"
    )


def test_a_malformed_key_table_stops_the_service_at_start_without_echoing_a_key() -> None:
    done = _run(["services.forecast_service"], SHELFCAST_API_KEYS="k1:read,hunter2-no-scope")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "forecast service: invalid setting SHELFCAST_API_KEYS: Value error, API keys must be comma-separated "
        "key:scope pairs (e.g. 'k1:read,k2:admin'); found an entry without a scope"
    )


def test_the_key_table_is_not_in_the_settings_repr(monkeypatch) -> None:
    """pytest prints fixtures' reprs on failure, and services log settings: neither may carry the keys."""
    monkeypatch.setenv("SHELFCAST_API_KEYS", "hunter2-key:admin")
    settings = read_settings(Settings)
    assert settings.api_keys.get_secret_value() == "hunter2-key:admin"
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings.model_dump())
