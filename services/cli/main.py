"""The ``shelfcast`` console script: one argparse tree, each command registered by its module."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

os.environ.setdefault(
    "OMP_WAIT_POLICY", "PASSIVE"
)  # before xgboost loads: spinning OpenMP threads starve Kafka on 2 cores

from services.cli import bench, forecast, generate, stack, up, uplift  # noqa: E402
from services.common.settings import InvalidSettings  # noqa: E402

COMMAND_MODULES = (bench, forecast, generate, stack, up, uplift)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shelfcast", description="Shelfcast retail platform")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse and dispatch; every command handler returns its exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except InvalidSettings as exc:
        print(f"shelfcast: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
