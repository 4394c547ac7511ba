"""``shelfcast bench …``: the benchmarks whose figures the README's Performance section reports.

Each prints a JSON object as its last stdout line (progress goes to stderr).
"""
from __future__ import annotations

import argparse
import json

from services.common.settings import load_settings


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("bench", help="benchmarks (JSON summary on the last line)")
    kinds = parser.add_subparsers(dest="bench_command", required=True)
    ingest = kinds.add_parser("ingest", help="events through Kafka until visible in MongoDB with stock updated")
    ingest.add_argument("--events", type=_positive_int, default=50_000)
    ingest.add_argument("--rate", type=_positive_float, default=None, help="events/s to produce at (default: as fast as possible)")
    ingest.add_argument("--consumers", type=_positive_int, default=1, help="consumer processes in the group")
    ingest.add_argument("--json", action="store_true", help="only the JSON summary on stdout")
    ingest.set_defaults(handler=_ingest)


def _ingest(args: argparse.Namespace) -> int:
    from services.data_consumer.bench import bench_ingest

    result = bench_ingest(load_settings(), args.events, rate=args.rate, consumers=args.consumers)
    if not args.json:
        for key, value in result.items():
            print(f"{key:>26}: {value}")
    print(json.dumps(result))
    return 0 if result["lost"] == 0 and result["duplicated"] == 0 else 1
