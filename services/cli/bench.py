"""``shelfcast bench …``: the benchmarks whose figures the README's Performance section reports.

Each prints a JSON object as its last stdout line (progress goes to stderr).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable

from pymongo.errors import PyMongoError

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


def _one_line_errors(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A deployment with nothing to ask for, a store that does not answer, a service that will not
    start: one line on stderr and exit 1, not a traceback."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except (ValueError, RuntimeError, OSError, PyMongoError) as exc:
            print(f"shelfcast bench {args.bench_command}: {exc}", file=sys.stderr)
            return 1

    return run


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("bench", help="benchmarks (JSON summary on the last line)")
    kinds = parser.add_subparsers(dest="bench_command", required=True)
    ingest = kinds.add_parser("ingest", help="events through Kafka until visible in MongoDB with stock updated")
    ingest.add_argument("--events", type=_positive_int, default=50_000)
    ingest.add_argument(
        "--rate", type=_positive_float, default=None, help="events/s to produce at (default: as fast as possible)"
    )
    ingest.add_argument("--consumers", type=_positive_int, default=1, help="consumer processes in the group")
    ingest.add_argument("--json", action="store_true", help="only the JSON summary on stdout")
    ingest.set_defaults(handler=_ingest)
    soak = kinds.add_parser(
        "soak", help="the simulated shop at a steady rate for a while: consumer memory and lag over time"
    )
    soak.add_argument("--rate", type=_positive_float, default=1000.0, help="events/s the generator publishes")
    soak.add_argument(
        "--duration", type=_positive_float, default=600.0, help="seconds of publishing (the backlog drains after)"
    )
    soak.add_argument("--seed", type=int, default=0)
    soak.add_argument("--json", action="store_true", help="only the JSON summary on stdout")
    soak.set_defaults(handler=_soak)
    api = kinds.add_parser("api", help="HTTP request latency of an API (self-contained unless --url is given)")
    api.add_argument("--service", choices=("forecast", "promotions"), required=True)
    api.add_argument("--requests", type=_positive_int, default=5_000)
    api.add_argument("--concurrency", type=_positive_int, default=16)
    api.add_argument(
        "--url", default=None, help="bench this running API instead (its data is read from the configured MongoDB)"
    )
    api.add_argument(
        "--api-key", default=None, help="key with read scope for --url (default: the first of SHELFCAST_API_KEYS)"
    )
    api.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        help="promotions, self-contained: engine worker processes (default: SHELFCAST_PROMOTION_WORKERS, 1)",
    )
    api.add_argument("--json", action="store_true", help="only the JSON summary on stdout")
    api.set_defaults(handler=_api)
    dashboard = kinds.add_parser(
        "dashboard", help="cold and warm page data times on a store filled with ~N orders' rollups"
    )
    dashboard.add_argument("--orders", type=_positive_int, default=1_000_000)
    dashboard.add_argument("--days", type=_positive_int, default=730, help="days of history the orders spread over")
    dashboard.add_argument("--repeats", type=_positive_int, default=2, help="cold runs per page (the best is reported)")
    dashboard.add_argument("--json", action="store_true", help="only the JSON summary on stdout")
    dashboard.set_defaults(handler=_dashboard)


@_one_line_errors
def _ingest(args: argparse.Namespace) -> int:
    from services.benchmarks.ingest import bench_ingest

    result = bench_ingest(load_settings(), args.events, rate=args.rate, consumers=args.consumers)
    _report(result, args.json)
    return 0 if result["lost"] == 0 and result["duplicated"] == 0 else 1


@_one_line_errors
def _api(args: argparse.Namespace) -> int:
    settings = load_settings()
    configured = settings.api_keys.get_secret_value().split(",")[0].partition(":")[0].strip() or None
    api_key = args.api_key or (configured if args.url else None)
    if args.workers is not None and (args.service != "promotions" or args.url):
        raise ValueError("--workers applies to the self-contained promotions bench only")
    if args.service == "forecast":
        from services.benchmarks.forecast_api import run_forecast_bench

        result = run_forecast_bench(
            settings, args.requests, args.concurrency, url=args.url, api_key=api_key, progress=not args.json
        )
    else:
        from services.benchmarks.promotion_api import run_promotions_bench

        result = run_promotions_bench(
            settings,
            args.requests,
            args.concurrency,
            url=args.url,
            api_key=api_key,
            progress=not args.json,
            workers=args.workers,
        )
    _report(result, args.json)
    return 0 if result["errors"] == 0 else 1


@_one_line_errors
def _dashboard(args: argparse.Namespace) -> int:
    from services.benchmarks.dashboard import run_dashboard_bench

    result = run_dashboard_bench(load_settings(), args.orders, args.days, args.repeats, progress=not args.json)
    _report(result, args.json)
    return 0


def _report(result: dict, only_json: bool) -> None:
    """Figures one per line (long series such as soak samples only in the JSON), then the JSON line."""
    if not only_json:
        for key, value in result.items():
            if not isinstance(value, list):
                print(f"{key:>26}: {value}")
    print(json.dumps(result))


@_one_line_errors
def _soak(args: argparse.Namespace) -> int:
    """Exit 1 if anything was lost or applied twice, so a scripted soak fails loudly."""
    from services.benchmarks.soak import bench_soak

    result = bench_soak(load_settings(), args.rate, args.duration, seed=args.seed, progress=not args.json)
    _report(result, args.json)
    return 0 if result["lost"] == 0 and result["duplicated"] == 0 else 1
