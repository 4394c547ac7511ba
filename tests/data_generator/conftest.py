"""Helpers for the producer tests: run the CLI in-process, read back what reached Kafka."""

from __future__ import annotations

import argparse
from collections.abc import Iterable

import pytest
from kafka import KafkaConsumer, TopicPartition

from services.cli import generate
from services.common.settings import Settings

KEY = "test-pseudonym-key"


def shelfcast(*argv: str) -> int:
    """``shelfcast <argv>`` with only this package's commands registered, as the console script would run it."""
    parser = argparse.ArgumentParser(prog="shelfcast")
    generate.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.handler(args)


@pytest.fixture
def cli_settings(isolated_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The test's own topics, seen by ``load_settings()`` inside the CLI through the environment."""
    monkeypatch.setenv("SHELFCAST_KAFKA_BOOTSTRAP", isolated_settings.kafka_bootstrap)
    monkeypatch.setenv("SHELFCAST_TOPIC_PREFIX", isolated_settings.topic_prefix)
    monkeypatch.setenv("SHELFCAST_PSEUDONYM_KEY", KEY)
    return isolated_settings.model_copy(update={"pseudonym_key": KEY})


def messages_on(settings: Settings, topics: Iterable[str]) -> int:
    """How many records the topics hold (their end offsets), without waiting for anything to arrive."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None)
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
        return sum(consumer.end_offsets(partitions).values())
    finally:
        consumer.close()


def last_json_line(capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    out, err = capsys.readouterr()
    return out.strip().splitlines()[-1], err
