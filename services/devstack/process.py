"""Starting and stopping a Java server process, with readiness and its log kept for errors."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from services.devstack.jars import EmbeddedStackError, require_tool


def free_port() -> int:
    """A loopback port nobody listens on now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class JavaServer:
    """One Java child process whose output goes to a log file."""

    def __init__(
        self, name: str, classpath: Path, args: list[str], log_path: Path, heap: str = "512m", gc: str = "SerialGC"
    ) -> None:
        self.name = name
        self.log_path = log_path
        self._command = [
            require_tool("java", f"run the embedded {name}"),
            f"-Xmx{heap}",
            f"-XX:+Use{gc}",
            "-cp",
            f"{classpath}/*",
            *args,
        ]
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, ready: Callable[[], bool], timeout_s: float = 90.0) -> None:
        """Start and wait until ``ready()`` is true; on failure the log tail is in the error."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self._command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise EmbeddedStackError(
                    f"embedded {self.name} exited with code {self._process.returncode}:\n{self.log_tail()}"
                )
            if ready():
                return
            time.sleep(0.2)
        self.stop()
        raise EmbeddedStackError(f"embedded {self.name} was not ready after {timeout_s:.0f}s:\n{self.log_tail()}")

    def run_to_completion(self, timeout_s: float) -> None:
        """For one-shot tools (storage format): run, and raise with the log tail on failure."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            result = subprocess.run(self._command, stdout=log, stderr=subprocess.STDOUT, timeout=timeout_s)
        if result.returncode != 0:
            raise EmbeddedStackError(f"{self.name} exited with code {result.returncode}:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def kill(self) -> None:
        """SIGKILL, no shutdown: a crash, for resilience tests."""
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM (servers flush and close), then SIGKILL if it hangs."""
        if self._process is None or self._process.poll() is not None:
            return
        os.killpg(self._process.pid, signal.SIGTERM)
        try:
            self._process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
