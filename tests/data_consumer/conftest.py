"""Running the real consumer against the session's Kafka and Mongo-protocol server."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from services.common.settings import Settings
from services.data_consumer.main import run_consumer
from tests.consumer_fixtures import db, producer, settings  # noqa: F401 (fixtures, used by name)
from tests.topic_reading import read_records

WAIT_S = 120.0


@pytest.fixture
def running_consumer(settings: Settings) -> Iterator[threading.Event]:
    """The consumer loop in a thread of the test process; stopped (cleanly) at teardown."""
    stop = threading.Event()
    thread = threading.Thread(target=run_consumer, args=(settings, stop), daemon=True)
    thread.start()
    yield stop
    stop.set()
    thread.join(30)


def read_dead_letters(settings: Settings, expected: int, timeout_s: float = WAIT_S) -> list:
    """Everything on the test's dead-letter topic, waiting until ``expected`` records arrived."""
    return read_records(settings, [settings.topics.dead_letter], expected, timeout_s)
