"""The supervisor of ``shelfcast up`` on real child processes: restarts with doubling delays, the crash-loop
verdict, the restart counter, and the settings it refuses."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from services.common.settings import InvalidSettings, read_settings
from services.devstack.supervisor import ServiceSpec, Supervisor, SupervisorSettings, describe_exit
from tests.waiting import wait_for

# Exits with code 3 the first FAILURES times it is started (counted in a file), then runs until stopped.
FLAKY = (
    "import pathlib, sys, time\n"
    "runs = pathlib.Path(sys.argv[1])\n"
    "n = int(runs.read_text()) if runs.exists() else 0\n"
    "runs.write_text(str(n + 1))\n"
    "sys.exit(3) if n < int(sys.argv[2]) else time.sleep(600)\n"
)


def _supervise(specs: list[ServiceSpec], **settings: float) -> tuple[Supervisor, list[str]]:
    lines: list[str] = []
    supervisor = Supervisor(specs, SupervisorSettings(metrics_port=0, **settings), say=lines.append)
    supervisor.start({})
    return supervisor, lines


def _restarts(supervisor: Supervisor, service: str) -> float:
    return supervisor.registry.get_sample_value("shelfcast_service_restarts_total", {"service": service})


def test_a_service_that_exits_is_restarted_after_doubling_delays_and_each_restart_is_counted(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    spec = ServiceSpec("flaky", [sys.executable, "-c", FLAKY, str(runs), "2"])
    supervisor, lines = _supervise([spec], backoff_s=0.1, crash_loop_exits=5)
    stop = threading.Event()
    thread = threading.Thread(target=supervisor.run, args=(stop,))
    thread.start()
    try:
        wait_for(lambda: _restarts(supervisor, "flaky") == 2 and runs.read_text() == "3", "two restarts")
        wait_for(
            lambda: supervisor.registry.get_sample_value("shelfcast_service_up", {"service": "flaky"}) == 1,
            "the third run up",
        )
    finally:
        stop.set()
        thread.join(30)
        supervisor.stop()
    assert [line for line in lines if "exited" in line] == [
        "flaky exited with code 3; restarting in 0.1 s (1 of 5 exits allowed in 60 s)",
        "flaky exited with code 3; restarting in 0.2 s (2 of 5 exits allowed in 60 s)",
    ]
    assert lines[-1].startswith("flaky restarted (pid ") and lines[-1].endswith("restart 2)")
    assert supervisor.registry.get_sample_value("shelfcast_service_up", {"service": "flaky"}) == 0


def test_a_crash_loop_gives_up_with_one_line_and_leaves_the_healthy_services_to_the_caller() -> None:
    crashing = ServiceSpec("crashing", [sys.executable, "-c", "raise SystemExit(1)"])
    healthy = ServiceSpec("healthy", [sys.executable, "-c", "import time; time.sleep(600)"])
    supervisor, _ = _supervise([crashing, healthy], backoff_s=0.05, crash_loop_exits=3)
    try:
        verdict = supervisor.run(threading.Event())
        assert verdict == (
            "crashing exited 3 times in 60 s (last: code 1); a crash loop: stopping the stack "
            "(its own output above says why)"
        )
        assert _restarts(supervisor, "crashing") == 2
        assert _restarts(supervisor, "healthy") == 0
        assert supervisor.registry.get_sample_value("shelfcast_service_up", {"service": "healthy"}) == 1
    finally:
        supervisor.stop()
    assert supervisor.registry.get_sample_value("shelfcast_service_up", {"service": "healthy"}) == 0


def test_the_delay_stops_doubling_at_the_maximum(tmp_path: Path) -> None:
    spec = ServiceSpec("flaky", [sys.executable, "-c", FLAKY, str(tmp_path / "runs"), "4"])
    supervisor, lines = _supervise([spec], backoff_s=0.05, backoff_max_s=0.1, crash_loop_exits=10)
    stop = threading.Event()
    thread = threading.Thread(target=supervisor.run, args=(stop,))
    thread.start()
    try:
        wait_for(lambda: _restarts(supervisor, "flaky") == 4, "four restarts")
    finally:
        stop.set()
        thread.join(30)
        supervisor.stop()
    delays = [line.split("restarting in ")[1].split(" s")[0] for line in lines if "exited" in line]
    assert delays == ["0.05", "0.1", "0.1", "0.1"]


def test_exits_by_signal_are_named() -> None:
    assert describe_exit(-9) == "signal SIGKILL"
    assert describe_exit(2) == "code 2"


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("SHELFCAST_SUPERVISOR_BACKOFF_S", "-1", "SHELFCAST_SUPERVISOR_BACKOFF_S='-1'"),
        ("SHELFCAST_SUPERVISOR_CRASH_LOOP_EXITS", "0", "SHELFCAST_SUPERVISOR_CRASH_LOOP_EXITS='0'"),
        ("SHELFCAST_SUPERVISOR_BACKOFF_MAX_S", "0.5", "SHELFCAST_SUPERVISOR_BACKOFF_MAX_S (0.5) is below"),
    ],
)
def test_settings_refuse_what_cannot_work(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(InvalidSettings, match=named.replace("(", r"\(").replace(")", r"\)")):
        read_settings(SupervisorSettings)
