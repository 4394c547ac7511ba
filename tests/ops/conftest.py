"""The operations tests share the consumer tests' fixtures: fast-polling settings, the test's database, a producer."""

from tests.consumer_fixtures import db, producer, settings  # noqa: F401 (fixtures, used by name)
