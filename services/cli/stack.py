"""``shelfcast stack …``: the embedded infrastructure on its own (fetch jars, run servers)."""

from __future__ import annotations

import argparse
import sys
import time

from services.common.settings import load_settings
from services.devstack import EmbeddedStack
from services.devstack.jars import EmbeddedStackError, ensure_jars


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("stack", help="embedded Kafka and Mongo-protocol server")
    actions = parser.add_subparsers(dest="stack_command", required=True)
    fetch = actions.add_parser("fetch", help="download the jars from Maven Central into .shelfcast/jars")
    fetch.set_defaults(handler=_fetch)
    serve = actions.add_parser("serve", help="run Kafka and the Mongo-protocol server until Ctrl-C")
    serve.set_defaults(handler=_serve)


def _fetch(args: argparse.Namespace) -> int:
    settings = load_settings()
    try:
        path = ensure_jars(settings.data_dir / "jars")
    except EmbeddedStackError as exc:
        print(f"shelfcast: {exc}", file=sys.stderr)
        return 1
    print(f"jars ready in {path}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    try:
        with EmbeddedStack(load_settings()) as live:
            print(f"Kafka:   {live.kafka_bootstrap}\nMongoDB: {live.mongo_uri}\nCtrl-C stops both.", flush=True)
            while True:
                time.sleep(3600)
    except EmbeddedStackError as exc:
        print(f"shelfcast: {exc}", file=sys.stderr)
        return 1
