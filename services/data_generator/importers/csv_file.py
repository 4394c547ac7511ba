"""Reading a CSV file for import, and reporting what is wrong with it by file, line and column."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from pydantic import TypeAdapter, ValidationError

from services.common.events import Identifier
from services.data_generator.money import parse_amount

T = TypeVar("T")
_IDENTIFIER: TypeAdapter[str] = TypeAdapter(Identifier)


@dataclass(frozen=True)
class Problem:
    line: int
    column: str | None
    message: str


class CsvImportError(ValueError):
    """The file cannot be imported; one line naming the file, line and column of the first problem."""

    def __init__(self, path: Path, problem: Problem, more: int = 0) -> None:
        where = f"{path}:{problem.line}:" + (f" column '{problem.column}':" if problem.column else "")
        tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        super().__init__(f"{where} {problem.message}{tail}")
        self.problem = problem


class Problems:
    """Collects every problem in the file, so the report can say how many there are beyond the first."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: list[Problem] = []

    def add(self, line: int, column: str | None, message: str) -> None:
        self.items.append(Problem(line, column, message))

    def cell(self, row: Row, column: str, parse: Callable[[str], T]) -> T | None:
        """``parse(row[column])``, or ``None`` with the problem recorded."""
        try:
            return parse(row.values[column])
        except ValueError as exc:
            self.add(row.line, column, str(exc))
            return None

    def raise_if_any(self) -> None:
        if self.items:
            raise CsvImportError(self.path, self.items[0], len(self.items) - 1)


@dataclass(frozen=True)
class Row:
    line: int  # the file line the record ends on (header = line 1)
    values: dict[str, str]


def read_rows(path: Path, required: tuple[str, ...]) -> list[Row]:
    """Every data row; fails on a missing file, a missing required column or a ragged row."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CsvImportError(path, Problem(0, None, f"cannot read the file ({exc.strerror})")) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")  # the classic Superstore export is Windows-1252
    reader = csv.DictReader(io.StringIO(text, newline=""))
    problems = Problems(path)
    try:
        header = reader.fieldnames or []
        missing = [c for c in required if c not in header]
        if missing:
            others = f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else ""
            raise CsvImportError(path, Problem(1, missing[0], f"missing from the header{others}"))
        rows = []
        for values in reader:
            if None in values:
                problems.add(
                    reader.line_num, None, f"{len(values[None]) + len(header)} fields, the header has {len(header)}"
                )  # type: ignore[index]
            elif any(v is None for v in values.values()):
                problems.add(reader.line_num, None, f"fewer fields than the {len(header)} in the header")
            else:
                rows.append(Row(reader.line_num, values))
    except csv.Error as exc:
        raise CsvImportError(path, Problem(reader.line_num, None, f"not readable as CSV ({exc})")) from None
    problems.raise_if_any()
    if not rows:
        raise CsvImportError(path, Problem(1, None, "no data rows"))
    return rows


def identifier(text: str) -> str:
    """An id usable in events (letters, digits, ``_ . : -``; at most 64 characters)."""
    try:
        return _IDENTIFIER.validate_python(text.strip())
    except ValidationError:
        raise ValueError(
            f"{text!r} is not a valid id (letters, digits, '_', '.', ':', '-'; at most 64 characters)"
        ) from None


def required_text(text: str) -> str:
    if not text.strip():
        raise ValueError("is empty")
    return text.strip()


def us_date(text: str) -> date:
    """``m/d/YYYY`` as the Superstore export writes it."""
    try:
        return datetime.strptime(text.strip(), "%m/%d/%Y").date()
    except ValueError:
        raise ValueError(f"{text!r} is not a date in the form m/d/YYYY") from None


def positive_int(text: str) -> int:
    value = text.strip()
    if not value.isascii() or not value.lstrip("-").isdigit():
        raise ValueError(f"{text!r} is not a whole number")
    if int(value) <= 0:
        raise ValueError(f"must be positive, got {value}")
    return int(value)


def non_negative_amount(text: str) -> Decimal:
    value = parse_amount(text)
    if value < 0:
        raise ValueError(f"must not be negative, got {text.strip()}")
    return value


def optional_non_negative_amount(text: str) -> Decimal:
    return non_negative_amount(text) if text.strip() else Decimal(0)


def fraction(text: str) -> Decimal:
    """A discount rate: at least 0, below 1."""
    value = parse_amount(text)
    if not 0 <= value < 1:
        raise ValueError(f"must be a fraction from 0 up to (not including) 1, got {text.strip()}")
    return value
