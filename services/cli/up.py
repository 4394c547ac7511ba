"""``shelfcast up``: the whole platform on one machine — embedded stack, consumer, services, generator.

Services run as child processes (``python -m services.<name>``) that get the embedded stack's
addresses through ``SHELFCAST_*`` variables; Ctrl-C stops the generator, then the children, then
the servers, in that order so nothing in flight is lost.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import secrets
import signal
import subprocess
import sys
import threading

from services.common.settings import Settings, load_settings
from services.devstack import EmbeddedStack
from services.devstack.jars import EmbeddedStackError
from services.devstack.service import service_env

SERVICES = (
    ("data_consumer", "consumer metrics", "http://127.0.0.1:{consumer_metrics_port}/metrics"),
    ("forecast_service", "forecast API", "http://127.0.0.1:{forecast_port}/docs"),
    ("promotion_engine", "promotion API", "http://127.0.0.1:{promotion_port}/docs"),
    ("dashboard", "dashboard", "http://127.0.0.1:{dashboard_port}/"),
)


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("up", help="embedded stack + all services + generator; Ctrl-C stops all")
    parser.add_argument(
        "--rate",
        type=float,
        default=200.0,
        help="generated events per second (default 200; the opening catalog and stock come first)",
    )
    parser.add_argument("--seed", type=int, default=None, help="generator seed (default: random, printed)")
    parser.set_defaults(handler=_up)


def _dev_credentials(settings: Settings) -> dict[str, str]:
    """Keys and a dashboard login made up for this run when the environment sets none."""
    made: dict[str, str] = {}
    if not settings.api_keys.get_secret_value():
        key = f"dev-{secrets.token_hex(8)}"
        made["SHELFCAST_API_KEYS"] = f"{key}:admin"
        made["SHELFCAST_DASHBOARD_API_KEY"] = key
    if not os.environ.get("SHELFCAST_DASHBOARD_USERS"):
        made["SHELFCAST_DASHBOARD_USERS"] = f"admin:{secrets.token_urlsafe(9)}"
    return made


def _up(args: argparse.Namespace) -> int:
    from services.data_generator.runner import run_generator

    settings = load_settings()
    try:
        stack = EmbeddedStack(settings)
        print("starting Kafka and the MongoDB-protocol server…", flush=True)
        live = stack.start()
    except EmbeddedStackError as exc:
        print(f"shelfcast: {exc}", file=sys.stderr)
        return 1
    credentials = _dev_credentials(settings)
    env = service_env(live, **credentials)
    children: list[tuple[str, subprocess.Popen]] = []
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        lines = [f"  Kafka            {live.kafka_bootstrap}", f"  MongoDB          {live.mongo_uri}"]
        for package, label, url in SERVICES:
            if importlib.util.find_spec(f"services.{package}.__main__") is None:
                continue
            children.append((package, subprocess.Popen([sys.executable, "-m", f"services.{package}"], env=env)))
            lines.append(f"  {label:<16} {url.format(**live.model_dump())}")
        generator = threading.Thread(target=run_generator, args=(live, args.rate, None, args.seed, stop), daemon=True)
        generator.start()
        print("Shelfcast is up:\n" + "\n".join(lines), flush=True)
        for name, value in credentials.items():
            print(f"  dev credential   {name}={value}", flush=True)
        print(f"  generator        {args.rate:g} events/s — Ctrl-C stops everything", flush=True)
        _watch(children, stop)
    except KeyboardInterrupt:
        pass
    finally:
        print("\nstopping…", flush=True)
        stop.set()
        for _, child in children:
            child.terminate()
        for _, child in children:
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()
        stack.stop()
    return 0


def _watch(children: list[tuple[str, subprocess.Popen]], stop: threading.Event) -> None:
    """Wait for Ctrl-C; say so (once) if a service dies, and keep the others running."""
    reported: set[str] = set()
    while not stop.wait(1.0):
        for name, child in children:
            if child.poll() is not None and name not in reported:
                reported.add(name)
                print(
                    f"shelfcast: {name} exited with code {child.returncode}; the others keep running",
                    file=sys.stderr,
                    flush=True,
                )
