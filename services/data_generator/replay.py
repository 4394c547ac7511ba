"""Replaying a recorded stream into Kafka, at its recorded pace (scaled) or as fast as possible.

Lines that are not valid records are dead-lettered with the reason and their line number rather
than skipped, so a replay never silently sends less than the file holds.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from pathlib import Path

from tqdm import tqdm

from services.common.events import event_to_bytes
from services.common.settings import Settings
from services.data_generator.publishing import Publisher
from services.data_generator.recording import RecordError, parse_record, summary


class ReplayError(ValueError):
    """The recording cannot be replayed at all (missing, unreadable)."""


def replay_file(
    settings: Settings,
    path: Path,
    speed: float = 1.0,
    as_fast_as_possible: bool = False,
    stop_event: threading.Event | None = None,
    progress: bool = True,
) -> dict[str, object]:
    """Publish every valid record of ``path``; returns events, seconds, events_per_s, invalid_lines, by_type."""
    if speed <= 0:
        raise ValueError("speed must be positive")
    try:
        with path.open("rb") as handle:
            line_count = sum(1 for _ in handle)
    except OSError as exc:
        raise ReplayError(f"cannot read {path}: {exc.strerror}") from None
    stop = stop_event or threading.Event()
    by_type: Counter[str] = Counter()
    invalid = 0
    with (
        Publisher(settings, "shelfcast-replay") as publisher,
        path.open("rb") as handle,
        tqdm(total=line_count, unit="line", file=sys.stderr, disable=not progress, mininterval=0.5) as bar,
    ):
        began = time.monotonic()
        first: float | None = None
        previous = 0.0
        for number, raw in enumerate(handle, start=1):
            bar.update()
            line = raw.rstrip(b"\r\n")
            if not line.strip():
                continue
            try:
                offset, event = parse_record(line)
            except RecordError as exc:
                publisher.dead_letter(line, f"line {number}: {exc}", source=f"replay:{path.name}:{number}")
                invalid += 1
                continue
            previous = previous if offset is None else offset
            first = previous if first is None else first
            if not as_fast_as_possible:
                delay = began + (previous - first) / speed - time.monotonic()
                if delay > 0 and stop.wait(delay):
                    break
            elif stop.is_set():
                break
            publisher.send(event, event_to_bytes(event))
            by_type[event.event_type] += 1
        publisher.flush()
        seconds = time.monotonic() - began
    return summary(sum(by_type.values()), seconds, by_type, invalid_lines=invalid)
