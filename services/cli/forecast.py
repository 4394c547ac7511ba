"""`shelfcast forecast predict|backtest`: the forecast core on a CSV, without the service.

Exit codes: 0 success, 2 bad input or too little history (one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

# XGBoost's OpenMP threads busy-wait by default; on a shared 2-core host that made a fit ~4×
# slower. libgomp reads this once when xgboost is first imported, so it must be set before.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from services.forecast_service.model.backtest import BASELINES, backtest, rolling_cutoffs  # noqa: E402
from services.forecast_service.model.csv_io import (  # noqa: E402
    parse_columns,
    read_history_csv,
    write_forecast_csv,
)
from services.forecast_service.model.dates import parse_day  # noqa: E402
from services.forecast_service.model.errors import ForecastError, ForecastInputError  # noqa: E402
from services.forecast_service.model.forecaster import DemandForecaster  # noqa: E402

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `forecast` command and its `predict` / `backtest` subcommands."""
    forecast = subparsers.add_parser("forecast", help="demand forecasts from a history CSV")
    commands = forecast.add_subparsers(dest="forecast_command", required=True, metavar="COMMAND")

    predict = commands.add_parser("predict", help="fit on the history, write a forecast CSV")
    _add_history_arguments(predict)
    predict.add_argument("--start", required=True, help="first forecast day, YYYY-MM-DD")
    predict.add_argument("--days", required=True, type=_positive_int, help="days to forecast")
    predict.add_argument("--out", required=True, help="CSV to write: date,<id cols>,prediction,p10,p90")
    predict.set_defaults(handler=run_predict)

    evaluate = commands.add_parser("backtest", help="rolling-origin backtest vs seasonal naive")
    _add_history_arguments(evaluate)
    evaluate.add_argument("--cutoff", required=True, help="last fold's first forecast day, YYYY-MM-DD")
    evaluate.add_argument("--days", type=_positive_int, default=90, help="horizon in days (default 90)")
    evaluate.add_argument(
        "--folds", type=_positive_int, default=1, help="origins, each --days before the next (default 1)"
    )
    evaluate.set_defaults(handler=run_backtest)


def run_predict(args: argparse.Namespace) -> int:
    """Fit on --history and write --days of forecasts from --start to --out."""
    try:
        id_cols = parse_columns(args.id_cols)
        exog_cols = parse_columns(args.exog_cols, "--exog-cols") if args.exog_cols else []
        start = parse_day(args.start, "--start")
        history = read_history_csv(args.history, args.date_col, id_cols, args.target, exog_cols)
        last = history[args.date_col].max().normalize()
        if start <= last:
            raise ForecastInputError(f"--start {start.date()} is not after the last history day {last.date()}")
        horizon = (start - last).days + args.days - 1
        model = DemandForecaster(max_horizon=horizon, exog_cols=exog_cols, progress=_interactive())
        model.fit(history, args.date_col, id_cols, args.target)
        written = write_forecast_csv(model.predict(start, args.days), args.out, args.date_col)
    except ForecastError as error:
        return _fail(error)
    print(f"wrote {args.days} days × {len(model.series_keys)} series to {written}", file=sys.stderr)
    return EXIT_OK


def run_backtest(args: argparse.Namespace) -> int:
    """Backtest on --history; print a summary, then the metrics JSON as the last stdout line."""
    try:
        id_cols = parse_columns(args.id_cols)
        exog_cols = parse_columns(args.exog_cols, "--exog-cols") if args.exog_cols else []
        cutoffs = rolling_cutoffs(parse_day(args.cutoff, "--cutoff"), args.folds, args.days)
        history = read_history_csv(args.history, args.date_col, id_cols, args.target, exog_cols)
        report = backtest(
            history,
            args.date_col,
            id_cols,
            args.target,
            cutoffs,
            args.days,
            make_forecaster=lambda: DemandForecaster(
                max_horizon=args.days, exog_cols=exog_cols, progress=_interactive()
            ),
            progress=_interactive(),
        )
    except ForecastError as error:
        return _fail(error)
    for name in ("model", *BASELINES):
        print(_summary_line(name, report["aggregate"][name]))
    print(json.dumps(report))
    return EXIT_OK


def _add_history_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--history", required=True, help="CSV of daily (or finer) sales history")
    parser.add_argument("--date-col", required=True, help="date column, YYYY-MM-DD")
    parser.add_argument("--id-cols", required=True, help="comma-separated series id columns, e.g. store,item")
    parser.add_argument("--target", required=True, help="demand column to forecast")
    parser.add_argument("--exog-cols", default="", help="optional numeric columns known ahead, e.g. price,promo")


def _summary_line(name: str, metrics: dict[str, Any] | None) -> str:
    if metrics is None:
        return f"{name:<20} n/a (needs a year of history and a horizon of at most 364 days)"
    parts = [f"{key} {value}" for key, value in metrics.items() if value is not None]
    return f"{name:<20} " + "  ".join(parts)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got '{text}'") from error
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got '{text}'")
    return value


def _interactive() -> bool:
    """Progress bars only for a person at a terminal, not in logs or captured output."""
    return sys.stderr.isatty()


def _fail(error: ForecastError) -> int:
    print("error: " + " ".join(str(error).split()), file=sys.stderr)
    return EXIT_BAD_INPUT


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="shelfcast")
    register(parser.add_subparsers(dest="command", required=True))
    parsed = parser.parse_args()
    sys.exit(parsed.handler(parsed))
