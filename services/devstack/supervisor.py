"""Keeping ``shelfcast up``'s services running: restart what exits, back off, give up on a crash loop.

A service that exits while the stack runs (whatever its exit code: services are meant to run until
stopped) is started again after a delay that doubles with each exit inside the crash-loop window:
``backoff_s``, ``2 × backoff_s``, … up to ``backoff_max_s``. The ``crash_loop_exits``-th exit inside
``crash_loop_window_s`` stops the whole stack instead: restarting it again would only hide a fault
that needs a person (a port taken, a bad setting, a store that refuses us). Each restart is a line
on stderr, a tick of ``shelfcast_service_restarts_total{service}`` on the supervisor's own metrics
port, and a state in MongoDB (``read_models.SERVICE_STATUS``) that the dashboard's header shows.
"""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pymongo import ReplaceOne
from pymongo.database import Database
from pymongo.errors import PyMongoError

from services.common import read_models

log = logging.getLogger(__name__)

STATUS_EVERY_S = 5.0  # heartbeat of the status documents (the dashboard treats 30 s of silence as no report)
POLL_S = 0.2


class SupervisorSettings(BaseSettings):
    """How ``shelfcast up`` restarts its services (``SHELFCAST_SUPERVISOR_*``, documented in env/example.env)."""

    model_config = SettingsConfigDict(env_prefix="SHELFCAST_SUPERVISOR_", extra="ignore")

    backoff_s: float = Field(default=1.0, gt=0, description="delay before the first restart; doubles per exit")
    backoff_max_s: float = Field(default=30.0, gt=0, description="the longest delay between restarts")
    crash_loop_exits: int = Field(default=5, ge=1, description="this many exits inside the window stop the stack")
    crash_loop_window_s: float = Field(default=60.0, gt=0)
    metrics_port: int = Field(default=9103, ge=0, le=65535, description="0 disables the supervisor's /metrics")

    @model_validator(mode="after")
    def _max_not_below_first(self) -> SupervisorSettings:
        if self.backoff_max_s < self.backoff_s:
            raise ValueError(
                f"SHELFCAST_SUPERVISOR_BACKOFF_MAX_S ({self.backoff_max_s:g}) is below "
                f"SHELFCAST_SUPERVISOR_BACKOFF_S ({self.backoff_s:g})"
            )
        return self


@dataclass(frozen=True)
class ServiceSpec:
    """A supervised service: its name (in logs, metrics and the dashboard) and the command that runs it."""

    name: str
    argv: Sequence[str]


@dataclass
class _Child:
    spec: ServiceSpec
    process: subprocess.Popen | None = None
    state: str = "starting"
    since: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    exits: deque[float] = field(default_factory=deque)  # monotonic times of the exits inside the window
    restarts: int = 0
    restart_at: float | None = None
    last_exit_code: int | None = None

    def set_state(self, state: str) -> None:
        if state != self.state:
            self.state, self.since = state, datetime.now(timezone.utc)


def describe_exit(code: int) -> str:
    """``code 1`` or ``signal SIGKILL``: Popen reports death by a signal as minus its number."""
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"code {code}"


def _say(line: str) -> None:
    print(f"shelfcast: {line}", file=sys.stderr, flush=True)


class StatusBoard:
    """Writes the services' states to MongoDB from a thread of its own, so a slow or absent store never
    delays a restart; the latest snapshot wins, and it is rewritten every ``STATUS_EVERY_S`` as a heartbeat."""

    def __init__(self, db: Database, every_s: float = STATUS_EVERY_S) -> None:
        self._collection = db[read_models.SERVICE_STATUS]
        self._every_s = every_s
        self._latest: list[dict] = []
        self._lock = threading.Lock()
        self._changed = threading.Event()
        self._closing = threading.Event()
        self._failing = False
        self._thread = threading.Thread(target=self._run, name="service-status", daemon=True)
        self._thread.start()

    def publish(self, docs: list[dict]) -> None:
        with self._lock:
            self._latest = docs
        self._changed.set()

    def close(self, timeout_s: float = 5.0) -> None:
        """Write the last snapshot (the stopped states), then end the thread and the client."""
        self._closing.set()
        self._changed.set()
        self._thread.join(timeout_s)
        self._collection.database.client.close()

    def _run(self) -> None:
        while True:
            self._changed.wait(self._every_s)
            self._changed.clear()
            self._write()
            if self._closing.is_set():
                return

    def _write(self) -> None:
        with self._lock:
            docs = list(self._latest)
        if not docs:
            return
        now = datetime.now(timezone.utc)
        try:
            self._collection.bulk_write(
                [ReplaceOne({"_id": d["_id"]}, d | {"updated_at": now}, upsert=True) for d in docs]
            )
        except PyMongoError as exc:
            if not self._failing:
                log.warning("service status not written to MongoDB (%s); retrying every %.0f s", exc, self._every_s)
            self._failing = True
            return
        self._failing = False


class Supervisor:
    """Runs each service as a child process and keeps it running (module docstring)."""

    def __init__(
        self, services: Sequence[ServiceSpec], settings: SupervisorSettings, say: Callable[[str], None] = _say
    ) -> None:
        self.settings = settings
        self._env: dict[str, str] = {}
        self._status: StatusBoard | None = None
        self._say = say
        self._host = socket.gethostname()
        self._children = [_Child(spec) for spec in services]
        self.registry = CollectorRegistry()  # its own: the CLI process may hold other metrics, tests several of these
        self.restarts = Counter(
            "shelfcast_service_restarts_total",
            "Times the supervisor started a service again after it exited",
            ["service"],
            registry=self.registry,
        )
        self.running = Gauge(
            "shelfcast_service_up",
            "1 while the service's process runs, 0 while it is down",
            ["service"],
            registry=self.registry,
        )
        for child in self._children:
            self.restarts.labels(child.spec.name)  # every service shows 0 from the start, so increase() sees the first
            self.running.labels(child.spec.name).set(0)

    def serve_metrics(self, host: str) -> Callable[[], None] | None:
        """``/metrics`` on ``settings.metrics_port`` (none when 0); returns what stops it. OSError: port taken."""
        if not self.settings.metrics_port:
            return None
        server, thread = start_http_server(self.settings.metrics_port, addr=host, registry=self.registry)

        def shut() -> None:
            server.shutdown()
            server.server_close()
            thread.join(5)

        return shut

    def start(self, env: dict[str, str], status: StatusBoard | None = None) -> None:
        """Start every service with ``env``; ``status`` (if any) receives their states from now on."""
        self._env, self._status = env, status
        for child in self._children:
            self._spawn(child)
        self._publish()

    def run(self, stop: threading.Event) -> str | None:
        """Supervise until ``stop`` is set (None) or a service crash-loops (the line saying so)."""
        last_status = time.monotonic()
        while not stop.wait(POLL_S):
            now = time.monotonic()
            changed = False
            for child in self._children:
                code = child.process.poll() if child.process is not None else None
                if code is not None:
                    changed = True
                    verdict = self._exited(child, code, now)
                    if verdict is not None:
                        self._publish()
                        return verdict
                if child.restart_at is not None and now >= child.restart_at:
                    changed = True
                    child.restarts += 1
                    self.restarts.labels(child.spec.name).inc()
                    self._spawn(child)
                    self._say(f"{child.spec.name} restarted (pid {child.process.pid}, restart {child.restarts})")
            if changed or now - last_status >= STATUS_EVERY_S:
                self._publish()
                last_status = now
        return None

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM every service still running (they finish what is in flight), SIGKILL what hangs."""
        running = [c for c in self._children if c.process is not None and c.process.poll() is None]
        for child in running:
            child.process.terminate()
        for child in running:
            try:
                child.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
        for child in self._children:
            self.running.labels(child.spec.name).set(0)
            child.restart_at = None
            if child.state != "failed":
                child.set_state("stopped")
        self._publish()
        if self._status is not None:
            self._status.close()

    def _spawn(self, child: _Child) -> None:
        child.process = subprocess.Popen(list(child.spec.argv), env=self._env)
        child.restart_at = None
        child.set_state("up")
        self.running.labels(child.spec.name).set(1)

    def _exited(self, child: _Child, code: int, now: float) -> str | None:
        """Schedule the restart, or give up: the line that stops the stack."""
        child.process, child.last_exit_code = None, code
        self.running.labels(child.spec.name).set(0)
        window = self.settings.crash_loop_window_s
        child.exits.append(now)
        while child.exits and now - child.exits[0] > window:
            child.exits.popleft()
        exits, allowed = len(child.exits), self.settings.crash_loop_exits
        if exits >= allowed:
            child.set_state("failed")
            return (
                f"{child.spec.name} exited {exits} times in {window:g} s (last: {describe_exit(code)}); "
                "a crash loop: stopping the stack (its own output above says why)"
            )
        delay = min(self.settings.backoff_s * 2 ** (exits - 1), self.settings.backoff_max_s)
        child.restart_at = now + delay
        child.set_state("restarting")
        self._say(
            f"{child.spec.name} exited with {describe_exit(code)}; restarting in {delay:g} s "
            f"({exits} of {allowed} exits allowed in {window:g} s)"
        )
        return None

    def _publish(self) -> None:
        if self._status is None:
            return
        now = datetime.now(timezone.utc)
        self._status.publish(
            [
                read_models.service_status_document(
                    self._host,
                    c.spec.name,
                    c.state,
                    c.process.pid if c.process is not None else None,
                    c.restarts,
                    c.last_exit_code,
                    c.since,
                    now,
                )
                for c in self._children
            ]
        )
