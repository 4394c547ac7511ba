"""Kafka + the Mongo-protocol server together, as ``shelfcast up``, tests and benchmarks use them."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from services.common.bus import ensure_topics
from services.common.settings import Settings
from services.common.store import connect, ensure_indexes
from services.devstack.jars import ensure_jars
from services.devstack.kafka import EmbeddedKafka
from services.devstack.mongo import EmbeddedMongo


class EmbeddedStack:
    """Starts both servers on free loopback ports under ``data_dir`` and stops them on exit."""

    def __init__(self, settings: Settings, run_dir: Path | None = None) -> None:
        self.settings = settings
        self.run_dir = run_dir or settings.data_dir / "run"
        jars = ensure_jars(settings.data_dir / "jars")
        self.kafka = EmbeddedKafka(jars, self.run_dir / "kafka", settings.topic_partitions)
        self.mongo = EmbeddedMongo(jars, self.run_dir / "mongo", settings.embedded_mongo_backend)

    def start(self) -> Settings:
        """Start, create topics and indexes; return settings pointing at the running servers."""
        self.kafka.start()
        try:
            self.mongo.start()
        except Exception:
            self.kafka.stop()
            raise
        ensure_topics(self.kafka.bootstrap, self.settings.topic_partitions, self.settings.topics.all)
        ensure_indexes(connect(self.mongo.uri, self.settings.mongo_db))
        return self.settings.model_copy(update={"kafka_bootstrap": self.kafka.bootstrap, "mongo_uri": self.mongo.uri})

    def stop(self) -> None:
        self.mongo.stop()
        self.kafka.stop()

    def __enter__(self) -> Settings:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
