"""Real Apache Kafka (KRaft, single node, loopback) run from its Maven Central jars."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

from services.devstack.jars import EmbeddedStackError
from services.devstack.process import JavaServer, free_port, port_open

_CONFIG = """\
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller_port}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs={log_dir}
num.partitions={partitions}
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
"""


class EmbeddedKafka:
    """One KRaft broker+controller; its data survives restarts of the same ``data_dir``."""

    def __init__(self, jars: Path, data_dir: Path, partitions: int = 6, port: int | None = None) -> None:
        self.jars = jars
        self.data_dir = data_dir
        self.partitions = partitions
        self.port = port or free_port()
        self._server: JavaServer | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _write_config(self) -> Path:
        config = self.data_dir / "server.properties"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config.write_text(
            _CONFIG.format(
                port=self.port, controller_port=free_port(), log_dir=self.data_dir / "logs", partitions=self.partitions
            )
        )
        return config

    def _format_storage(self, config: Path) -> None:
        if (self.data_dir / "logs" / "meta.properties").is_file():
            return
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        # "=" form: a base64 id may start with "-", which argparse would read as an option
        tool = JavaServer(
            "Kafka storage tool",
            self.jars,
            ["kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}", "-c", str(config)],
            self.data_dir / "format.log",
        )
        tool.run_to_completion(timeout_s=120)

    def start(self) -> None:
        config = self._write_config()
        self._format_storage(config)
        self._server = JavaServer(
            "Kafka broker", self.jars, ["kafka.Kafka", str(config)], self.data_dir / "kafka.log", heap="768m"
        )
        self._server.start(ready=lambda: port_open(self.port) and self._ready())

    def _ready(self) -> bool:
        """The broker answers metadata requests (the port opens before the controller is elected)."""
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError

        try:
            admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=3000)
        except KafkaError:
            return False
        try:
            admin.list_topics()
            return True
        except KafkaError:
            return False
        finally:
            admin.close()

    def stop(self) -> None:
        if self._server:
            self._server.stop()

    def restart(self, kill: bool = False) -> None:
        """Stop and start on the same port and data (for broker-restart resilience tests); ``kill``
        makes the stop a SIGKILL, so the broker recovers its logs as after a crash."""
        if kill and self._server:
            self._server.kill()
        else:
            self.stop()
        self.start()

    def log_tail(self) -> str:
        if self._server is None:
            raise EmbeddedStackError("Kafka was never started")
        return self._server.log_tail()
