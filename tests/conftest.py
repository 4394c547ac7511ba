"""Session-wide real servers: one embedded Kafka broker and one Mongo-protocol server for the run.

Tests that need them take the ``live_settings`` fixture; each test gets its own database name and
consumer group where isolation matters (see ``isolated_settings``).
"""

from __future__ import annotations

import os

os.environ.setdefault(
    "OMP_WAIT_POLICY", "PASSIVE"
)  # XGBoost's OpenMP threads spin otherwise, starving the servers on 2 cores

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common.settings import Settings, load_settings

pytest_plugins = ["tests.forecast_service.fixtures"]  # its session-trained API serves the forecast and benchmark tests


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    path = Path("artifacts")
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def live_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Kafka + mongo-java-server started once for the whole test session."""
    from services.devstack import EmbeddedStack

    base = load_settings()
    stack = EmbeddedStack(base, run_dir=tmp_path_factory.mktemp("stack"))
    settings = stack.start()
    try:
        yield settings
    finally:
        stack.stop()


@pytest.fixture
def isolated_settings(live_settings: Settings) -> Settings:
    """The live servers, with topics, a database and a consumer group of this test's own."""
    from services.common.bus import ensure_topics

    suffix = uuid.uuid4().hex[:8]
    settings = live_settings.model_copy(
        update={"mongo_db": f"t_{suffix}", "consumer_group": f"g_{suffix}", "topic_prefix": f"t_{suffix}"}
    )
    ensure_topics(settings.kafka_bootstrap, settings.topic_partitions, settings.topics.all)
    return settings
