"""Running the real consumer against the session's Kafka and Mongo-protocol server."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from services.common.settings import Settings
from services.data_consumer.main import run_consumer
from tests.consumer_fixtures import db, producer, settings  # noqa: F401 (fixtures, used by name)
from tests.topic_reading import read_records

WAIT_S = 120.0


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = WAIT_S, state: Callable[[], object] = lambda: "") -> None:
    """Poll until true; a timeout fails the test with what was awaited and ``state()`` (never asserts on speed)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what} {state()}")


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
