"""A MongoDB wire-protocol server (mongo-java-server) on loopback, memory or H2-file backed."""

from __future__ import annotations

from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from services.devstack.process import JavaServer, free_port, port_open

LAUNCHER = Path(__file__).with_name("MongoLauncher.java")


class EmbeddedMongo:
    """Memory backend by default (fastest, see README); ``h2`` keeps data across restarts."""

    def __init__(self, jars: Path, data_dir: Path, backend: str = "memory", port: int | None = None) -> None:
        self.jars = jars
        self.data_dir = data_dir
        self.backend = backend
        self.port = port or free_port()
        self._server: JavaServer | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def start(self) -> None:
        args = [str(LAUNCHER), "127.0.0.1", str(self.port)]
        if self.backend == "h2":
            self.data_dir.mkdir(parents=True, exist_ok=True)
            args.append(str((self.data_dir / "mongo.mv.db").resolve()))
        # The memory backend keeps every document on the Java heap: a soak of 600k events filled 4 GB and
        # serial full collections stalled the consumer for seconds at a time, so: more room, and G1.
        self._server = JavaServer(
            "MongoDB-protocol server", self.jars, args, self.data_dir / "mongo.log", heap="10g", gc="G1GC"
        )
        self._server.start(ready=lambda: port_open(self.port) and self._ready())

    def _ready(self) -> bool:
        client: MongoClient = MongoClient(self.uri, serverSelectionTimeoutMS=1000)
        try:
            client.admin.command("ping")
            return True
        except PyMongoError:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        if self._server:
            self._server.stop()
