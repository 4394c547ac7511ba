"""``shelfcast up``: the whole platform on one machine — embedded stack, consumer, services, generator.

Services run as child processes (``python -m services.<package>``) that get the stack's addresses
through ``SHELFCAST_*`` variables, under a supervisor that restarts any that exits
(``services/devstack/supervisor.py``). Ctrl-C stops the generator, then the services, then the
servers, in that order so nothing in flight is lost; so does a crash loop, with exit code 1.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import secrets
import signal
import sys
import threading

from kafka.errors import KafkaError
from pymongo.errors import PyMongoError

from services.common.bus import ensure_topics
from services.common.settings import Settings, load_settings, read_settings
from services.common.store import connect, ensure_indexes
from services.devstack import EmbeddedStack
from services.devstack.jars import EmbeddedStackError
from services.devstack.service import service_env
from services.devstack.supervisor import ServiceSpec, StatusBoard, Supervisor, SupervisorSettings

# name (logs, metrics, dashboard; the same as in docker-compose.yml) → package, label, URL of what it serves
SERVICES = {
    "consumer": ("data_consumer", "consumer metrics", "http://127.0.0.1:{consumer_metrics_port}/metrics"),
    "forecast": ("forecast_service", "forecast API", "http://127.0.0.1:{forecast_port}/docs"),
    "promotions": ("promotion_engine", "promotion API", "http://127.0.0.1:{promotion_port}/docs"),
    "dashboard": ("dashboard", "dashboard", "http://127.0.0.1:{dashboard_port}/"),
}


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "up", help="embedded stack + all services (restarted if they exit) + generator; Ctrl-C stops all"
    )
    parser.add_argument(
        "--rate",
        type=_non_negative_rate,
        default=200.0,
        help="generated events per second (default 200; 0 runs no generator; the opening catalog and stock come first)",
    )
    parser.add_argument("--seed", type=int, default=None, help="generator seed (default: random, printed)")
    parser.add_argument(
        "--services",
        type=_service_names,
        default=tuple(SERVICES),
        metavar="NAME,…",
        help=f"which services to run (default all: {','.join(SERVICES)})",
    )
    parser.add_argument(
        "--attach",
        action="store_true",
        help="use the Kafka and MongoDB of SHELFCAST_KAFKA_BOOTSTRAP / SHELFCAST_MONGO_URI instead of starting "
        "the embedded ones (topics and indexes are created if missing)",
    )
    parser.set_defaults(handler=_up)


def _non_negative_rate(text: str) -> float:
    try:
        rate = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of events per second, got {text!r}") from None
    if not rate >= 0:
        raise argparse.ArgumentTypeError(
            f"must be 0 (no generator) or a positive number of events per second, got {text!r}"
        )
    return rate


def _service_names(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in SERVICES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown service {', '.join(unknown) or '(none given)'}; known: {', '.join(SERVICES)}"
        )
    return names


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


def _attach(settings: Settings) -> Settings:
    """The configured servers, with the platform's topics and indexes in place (as the embedded stack makes them)."""
    ensure_topics(settings.kafka_bootstrap, settings.topic_partitions, settings.topics.all)
    ensure_indexes(connect(settings.mongo_uri, settings.mongo_db))
    return settings


def _up(args: argparse.Namespace) -> int:
    from services.data_generator.runner import run_generator

    supervision = read_settings(SupervisorSettings)  # an invalid value: one line and exit code 2 (cli/main.py)
    settings = load_settings()
    specs = [
        ServiceSpec(name, [sys.executable, "-m", f"services.{SERVICES[name][0]}"])
        for name in args.services
        if importlib.util.find_spec(f"services.{SERVICES[name][0]}.__main__") is not None
    ]
    supervisor = Supervisor(specs, supervision)
    try:  # before the stack starts: a taken port should not cost a minute of startup
        stop_metrics = supervisor.serve_metrics(settings.bind_host)
    except OSError as exc:
        print(
            f"shelfcast: cannot serve the supervisor's metrics on port {supervision.metrics_port} "
            f"(SHELFCAST_SUPERVISOR_METRICS_PORT): {exc}",
            file=sys.stderr,
        )
        return 1
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stack: EmbeddedStack | None = None
    try:
        if args.attach:
            live = _attach(settings)
        else:
            stack = EmbeddedStack(settings)
            print("starting Kafka and the MongoDB-protocol server…", flush=True)
            live = stack.start()
    except (EmbeddedStackError, KafkaError, PyMongoError) as exc:
        what = "" if isinstance(exc, EmbeddedStackError) else "cannot reach the configured Kafka or MongoDB: "
        print(f"shelfcast: {what}{exc}", file=sys.stderr)
        if stop_metrics is not None:
            stop_metrics()
        return 1
    credentials = _dev_credentials(settings)
    generator: threading.Thread | None = None
    verdict: str | None = None
    try:
        supervisor.start(
            service_env(live, **credentials), StatusBoard(connect(live.mongo_uri, live.mongo_db, timeout_ms=2000))
        )
        lines = [f"  Kafka            {live.kafka_bootstrap}", f"  MongoDB          {live.mongo_uri}"]
        lines += [f"  {SERVICES[s.name][1]:<16} {SERVICES[s.name][2].format(**live.model_dump())}" for s in specs]
        if stop_metrics is not None:
            lines.append(f"  supervisor       http://127.0.0.1:{supervision.metrics_port}/metrics")
        if args.rate > 0:
            generator = threading.Thread(
                target=run_generator, args=(live, args.rate, None, args.seed, stop), daemon=True
            )
            generator.start()
        print("Shelfcast is up:\n" + "\n".join(lines), flush=True)
        for name, value in credentials.items():
            print(f"  dev credential   {name}={value}", flush=True)
        feed = f"{args.rate:g} events/s" if generator else "off (--rate 0)"
        print(f"  generator        {feed} — Ctrl-C stops everything", flush=True)
        verdict = supervisor.run(stop)
    except KeyboardInterrupt:
        pass
    finally:
        if verdict:
            print(f"shelfcast: {verdict}", file=sys.stderr, flush=True)
        print("\nstopping…", flush=True)
        stop.set()
        if generator is not None:
            generator.join(30)
        supervisor.stop()
        if stop_metrics is not None:
            stop_metrics()
        if stack is not None:
            stack.stop()
    return 1 if verdict else 0
