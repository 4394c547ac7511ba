"""``shelfcast generate | replay | import-csv``: the commands that put events on Kafka.

Each prints a progress bar on stderr and, as its last stdout line, a JSON summary; user errors are
one line on stderr and exit code 1 (argument errors: argparse's usage line and exit code 2).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from services.common.settings import load_settings
from services.data_generator.csv_import import FORMATS, import_csv
from services.data_generator.importers.csv_file import CsvImportError
from services.data_generator.publishing import PublishError
from services.data_generator.replay import ReplayError, replay_file
from services.data_generator.runner import run_generator


def register(commands: argparse._SubParsersAction) -> None:
    generate = commands.add_parser(
        "generate",
        help="publish the simulated shop's event stream at a steady rate",
        description="Publish the simulated shop's events at --rate events/s for --duration seconds.",
    )
    generate.add_argument("--rate", type=_positive("events per second"), required=True, help="events per second")
    generate.add_argument("--duration", type=_positive("seconds"), required=True, help="seconds to run")
    generate.add_argument(
        "--seed", type=int, help="same seed and --start give the same stream (default: random, reported in the summary)"
    )
    generate.add_argument(
        "--start", type=_start_time, help="simulated clock start, ISO date or time; naive means UTC (default: now)"
    )
    generate.add_argument(
        "--out",
        type=Path,
        metavar="FILE.jsonl",
        help="also record the stream, with send offsets, for `shelfcast replay`",
    )
    generate.add_argument(
        "--no-publish", action="store_true", help="only write --out, as fast as possible, without Kafka"
    )
    generate.add_argument(
        "--truth", type=Path, metavar="FILE", help="write the customer × promotion true uplift table (.csv, else JSON)"
    )
    generate.set_defaults(handler=_generate)

    replay = commands.add_parser("replay", help="publish a recorded JSONL stream at its recorded pace")
    replay.add_argument("file", type=Path, metavar="FILE.jsonl")
    pace = replay.add_mutually_exclusive_group()
    pace.add_argument(
        "--speed", type=_positive("speed factor"), default=1.0, help="multiple of the recorded pace (default 1.0)"
    )
    pace.add_argument("--max", action="store_true", help="as fast as possible")
    replay.set_defaults(handler=_replay)

    importer = commands.add_parser(
        "import-csv", help="publish historical orders from a CSV file (all rows valid, or nothing)"
    )
    importer.add_argument("file", type=Path, metavar="FILE")
    importer.add_argument(
        "--format", choices=sorted(FORMATS), default="superstore", help="column layout (default superstore)"
    )
    importer.set_defaults(handler=_import_csv)


def _generate(args: argparse.Namespace) -> int:
    if args.no_publish and args.out is None:
        return _fail("generate", "--no-publish needs --out FILE.jsonl (otherwise nothing would be produced)")
    with _stop_on_interrupt() as stop:
        return _run(
            "generate",
            lambda: run_generator(
                load_settings(),
                args.rate,
                args.duration,
                args.seed,
                stop,
                out=args.out,
                publish=not args.no_publish,
                start=args.start,
                truth_out=args.truth,
                progress=True,
            ),
        )


def _replay(args: argparse.Namespace) -> int:
    with _stop_on_interrupt() as stop:
        return _run("replay", lambda: replay_file(load_settings(), args.file, args.speed, args.max, stop))


def _import_csv(args: argparse.Namespace) -> int:
    return _run("import-csv", lambda: import_csv(load_settings(), args.file, args.format))


def _run(command: str, work: Callable[[], dict[str, object]]) -> int:
    """The summary as the last stdout line, or the user error as one stderr line."""
    try:
        result = work()
    except (CsvImportError, PublishError, ReplayError, OSError) as exc:
        return _fail(command, str(exc))
    print(json.dumps(result), flush=True)
    return 0


def _fail(command: str, message: str) -> int:
    print(f"shelfcast {command}: {message}", file=sys.stderr)
    return 1


@contextmanager
def _stop_on_interrupt() -> Iterator[threading.Event]:
    """Ctrl-C ends the run cleanly (flushed, with a summary) instead of killing it mid-batch."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def _positive(what: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number of {what}, got {text!r}") from None
        if not value > 0 or value == float("inf"):
            raise argparse.ArgumentTypeError(f"must be a positive number of {what}, got {text!r}")
        return value

    return parse


def _start_time(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO date or time such as 2026-03-01T09:00:00Z, got {text!r}"
        ) from None
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)
