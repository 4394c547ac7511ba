"""One Shelfcast HTTP service as a child process on a free port, for benchmarks that need a real server.

Benchmarks measure what a client sees over a socket, so the API runs as ``python -m services.<name>``
(uvicorn, as ``shelfcast up`` starts it) with its settings passed through the environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from types import TracebackType

import httpx

from services.common.settings import Settings
from services.devstack.process import free_port


def service_env(live: Settings, **overrides: str) -> dict[str, str]:
    """The environment a service child needs to reach the running stack (``overrides`` win)."""
    return (
        os.environ
        | {
            "SHELFCAST_KAFKA_BOOTSTRAP": live.kafka_bootstrap,
            "SHELFCAST_MONGO_URI": live.mongo_uri,
            "SHELFCAST_MONGO_DB": live.mongo_db,
            "SHELFCAST_TOPIC_PREFIX": live.topic_prefix,
            "OMP_WAIT_POLICY": "PASSIVE",
        }
        | overrides
    )


class ServiceProcess:
    """``python -m services.<package>`` listening on ``port_setting``; ``url`` once ``/health`` answers."""

    def __init__(self, package: str, port_setting: str, env: dict[str, str], ready_timeout_s: float = 120.0) -> None:
        self.package = package
        self.port = free_port()
        self.env = env | {port_setting: str(self.port), "SHELFCAST_BIND_HOST": "127.0.0.1"}
        self.ready_timeout_s = ready_timeout_s
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen | None = None

    def start(self) -> str:
        self._process = subprocess.Popen([sys.executable, "-m", f"services.{self.package}"], env=self.env)
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.package} exited with code {self._process.returncode} before it was ready")
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return self.url
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.package} did not answer /health within {self.ready_timeout_s:.0f} s")

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(10)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
