"""``import-csv``: load a whole file, validate every row, and only then publish — all or nothing."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

from services.common.events import Event, event_to_bytes
from services.common.settings import Settings
from services.data_generator.importers.order_rows import load_order_rows
from services.data_generator.importers.superstore import load_superstore
from services.data_generator.publishing import Publisher
from services.data_generator.recording import summary

FORMATS: dict[str, Callable[[Path, str], list[Event]]] = {"superstore": load_superstore, "orders": load_order_rows}
_CATALOG_TYPES = ("store", "product")


def load_csv(path: Path, fmt: str, pseudonym_key: str) -> list[Event]:
    """Every event the file holds, catalog first; ``CsvImportError`` names the first bad line and column."""
    return FORMATS[fmt](path, pseudonym_key)


def import_csv(settings: Settings, path: Path, fmt: str = "superstore", progress: bool = True) -> dict[str, object]:
    """Validate ``path`` completely, then publish its events; nothing is sent if any row is wrong."""
    events = load_csv(path, fmt, settings.pseudonym_key.get_secret_value())
    by_type: Counter[str] = Counter()
    with (
        Publisher(settings, "shelfcast-import") as publisher,
        tqdm(total=len(events), unit="ev", file=sys.stderr, disable=not progress, mininterval=0.5) as bar,
    ):
        began = time.monotonic()
        catalog = [e for e in events if e.event_type in _CATALOG_TYPES]
        for batch in (catalog, [e for e in events if e.event_type not in _CATALOG_TYPES]):
            for event in batch:
                publisher.send(event, event_to_bytes(event))
                by_type[event.event_type] += 1
                bar.update()
            publisher.flush()  # the catalog is acknowledged before the first order refers to it
        seconds = time.monotonic() - began
    return summary(len(events), seconds, by_type, file=str(path), format=fmt)
