"""Fixtures of the tests that drive the data consumer: fast-polling settings, the test's database, a producer.

Imported by the conftests of tests/data_consumer and tests/resilience (fixtures are found by name there).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.common.bus import EventProducer
from services.common.settings import Settings
from services.common.store import connect


@pytest.fixture
def settings(isolated_settings: Settings) -> Settings:
    return isolated_settings.model_copy(
        update={"consumer_batch_size": 500, "consumer_poll_ms": 100, "consumer_metrics_port": 0}
    )


@pytest.fixture
def db(settings: Settings):
    return connect(settings.mongo_uri, settings.mongo_db)


@pytest.fixture
def producer(settings: Settings) -> Iterator[EventProducer]:
    with EventProducer(settings.kafka_bootstrap, settings.topics) as p:
        yield p
