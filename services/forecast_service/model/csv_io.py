"""Reading a user's history CSV and writing forecasts, with errors that point at the bad cell.

Line numbers in messages are the file's own (the header is line 1), so a user can jump to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from services.forecast_service.model.errors import ForecastInputError

_HEADER_LINES = 1


def parse_columns(text: str, option: str = "--id-cols") -> list[str]:
    """Split a comma-separated column list such as ``store,item``."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise ForecastInputError(f"{option} must name at least one column, got '{text}'")
    return names


def read_history_csv(
    path: str | Path,
    date_col: str,
    id_cols: Sequence[str],
    target: str,
    exog_cols: Sequence[str] = (),
) -> pd.DataFrame:
    """The date, id, target and exogenous columns of `path`, validated.

    Ids are integers when every value is written as a plain integer, else text, so ``007``
    comes back out unchanged and ``2`` sorts before ``10``; dates must be ISO
    (``YYYY-MM-DD``, a time part is allowed); target and exogenous columns must be numeric.
    """
    file = Path(path)
    if not file.is_file():
        raise ForecastInputError(f"history file '{file}' not found")
    try:
        frame = pd.read_csv(file, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError as error:
        raise ForecastInputError(f"history file '{file}' is empty") from error
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise ForecastInputError(f"history file '{file}' is not readable CSV: {error}") from error
    wanted = [date_col, *id_cols, target, *exog_cols]
    for name in wanted:
        if name not in frame.columns:
            raise ForecastInputError(f"column '{name}' not in {file}; columns are: {', '.join(frame.columns)}")
    if frame.empty:
        raise ForecastInputError(f"history file '{file}' has a header but no rows")
    out = frame[list(dict.fromkeys(wanted))].copy()
    for name in id_cols:
        _reject_empty(out[name], name, file)
        out[name] = _ids(out[name])
    out[date_col] = _parse_dates(out[date_col], date_col, file)
    for name in (target, *exog_cols):
        out[name] = _parse_numbers(out[name], name, file)
    return out


def write_forecast_csv(forecast: pd.DataFrame, path: str | Path, date_col: str) -> Path:
    """Write a forecast with ISO dates, creating the parent folder if needed."""
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    out = forecast.copy()
    out[date_col] = pd.to_datetime(out[date_col]).dt.strftime("%Y-%m-%d")
    out.to_csv(file, index=False, float_format="%.4f")
    return file


def _reject_empty(values: pd.Series, name: str, file: Path) -> None:
    empty = values.str.strip() == ""
    if empty.any():
        line = int(empty.to_numpy().argmax()) + _HEADER_LINES + 1
        raise ForecastInputError(f"column '{name}' is empty on line {line} of {file}")


def _ids(values: pd.Series) -> pd.Series:
    """Integer ids when that loses nothing (no signs, no leading zeros), else the text."""
    canonical = values.str.fullmatch(r"0|[1-9][0-9]{0,17}")
    return values.astype("int64") if canonical.all() else values


def _parse_dates(values: pd.Series, name: str, file: Path) -> pd.Series:
    parsed = pd.to_datetime(values.str.strip(), format="ISO8601", errors="coerce")
    return _reject_unparsed(values, parsed, name, file, "cannot parse date '{}' (expected YYYY-MM-DD)")


def _parse_numbers(values: pd.Series, name: str, file: Path) -> pd.Series:
    parsed = pd.to_numeric(values.str.strip(), errors="coerce")
    return _reject_unparsed(values, parsed, name, file, "'{}' is not a number")


def _reject_unparsed(values: pd.Series, parsed: pd.Series, name: str, file: Path, problem: str) -> pd.Series:
    """``parsed`` unless a value failed to parse: then one line naming the column, file line and value."""
    bad = parsed.isna()
    if bad.any():
        position = int(bad.to_numpy().argmax())
        raise ForecastInputError(
            f"column '{name}' line {position + _HEADER_LINES + 1} of {file}: {problem.format(values.iloc[position])}"
        )
    return parsed
