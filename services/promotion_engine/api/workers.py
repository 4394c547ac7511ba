"""Several engine processes on one port, each with a listening socket of its own (``SO_REUSEPORT``).

Why not uvicorn's ``workers=N``: its processes share one listening socket, and whichever event loop
wakes first accepts every pending connection. A client opening its 16 keep-alive connections at
once got all 16 on one worker (measured: 9.9 s of CPU on one worker, 0.3 s on the other, in the
same 10 s run). With a socket per process and ``SO_REUSEPORT`` the kernel spreads new connections
over the processes by a hash of their addresses.

``serve`` is the supervisor: it starts the workers, restarts one that dies, and on SIGTERM or
SIGINT asks each to stop (uvicorn's graceful shutdown: the engine writes its write-behind state)
and waits for them. A worker that dies while still starting up takes the supervisor down with an
error (exit code 1) instead of being restarted in a loop. ``SO_REUSEPORT`` would also let a second
multi-worker engine bind the same port and silently take half its connections, so the supervisor
first checks with a plain bind that the port is free.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import threading
import time
from multiprocessing.process import BaseProcess

import uvicorn

log = logging.getLogger(__name__)

APP = "services.promotion_engine.api.app:app_from_environment"
STOP_TIMEOUT_S = 30.0
STARTUP_S = (
    120.0  # a worker that dies younger than this failed to start (port taken, store unreachable): stop, do not loop
)


def _listen_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _check_port_free(host: str, port: int) -> None:
    """A bind without ``SO_REUSEPORT`` fails if anything, another engine's workers included, holds the port."""
    probe = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.bind((host, port))
    except OSError as exc:
        raise SystemExit(f"promotion engine: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    finally:
        probe.close()


def _worker(host: str, port: int, log_level: str) -> None:
    """One engine process: its own socket on the shared port, the app built from the environment."""
    config = uvicorn.Config(APP, factory=True, log_level=log_level.lower(), access_log=False)
    uvicorn.Server(config).run(sockets=[_listen_socket(host, port)])


def serve(host: str, port: int, workers: int, log_level: str) -> None:
    """Run ``workers`` engine processes on ``host:port`` until SIGTERM or SIGINT."""
    if not hasattr(socket, "SO_REUSEPORT"):  # not Linux/BSD: uvicorn's shared socket is the fallback
        uvicorn.run(
            APP, factory=True, host=host, port=port, workers=workers, log_level=log_level.lower(), access_log=False
        )
        return
    _check_port_free(host, port)
    context = multiprocessing.get_context("spawn")
    stop = threading.Event()

    started: dict[int, float] = {}

    def start(n: int) -> BaseProcess:
        process = context.Process(target=_worker, args=(host, port, log_level), name=f"promotion-engine-worker-{n}")
        process.start()
        started[n] = time.monotonic()
        return process

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    processes = [start(n) for n in range(workers)]
    log.info("promotion engine: %d worker processes on %s:%d", workers, host, port)
    failed = False
    while not stop.wait(1.0):
        for n, process in enumerate(processes):
            if process.is_alive():
                continue
            if time.monotonic() - started[n] < STARTUP_S:
                log.error(
                    "promotion engine worker %d exited with code %s while starting; stopping the others",
                    n,
                    process.exitcode,
                )
                failed = True
                stop.set()
                break
            log.error(
                "promotion engine worker %d (pid %s) exited with code %s; starting another",
                n,
                process.pid,
                process.exitcode,
            )
            processes[n] = start(n)
    for process in processes:
        process.terminate()  # SIGTERM: uvicorn shuts the worker down gracefully
    for process in processes:
        process.join(STOP_TIMEOUT_S)
        if process.is_alive():
            log.error(
                "promotion engine worker pid %s did not stop within %.0fs; killing it", process.pid, STOP_TIMEOUT_S
            )
            process.kill()
    if failed:
        raise SystemExit(1)
