"""The JSONL recording format shared by ``generate --out`` and ``replay``.

One event per line, with the offset (seconds from the start of the run) at which it was due, so a
replay can reproduce the original pacing::

    {"t":0.012500,"event":{"event_id":"…","event_type":"click",…}}

A line holding a bare event (no ``t``/``event`` wrapper) is accepted too, and is replayed right
after the line before it.
"""

from __future__ import annotations

import json
from collections import Counter

from services.common.events import Event, EventRejected, parse_event


class RecordError(ValueError):
    """A recorded line is not a valid record; the message says why in one line."""


def record_line(offset_s: float, payload: bytes) -> bytes:
    """``payload`` is the event's wire JSON, embedded as-is so the recording keeps the exact bytes."""
    return b'{"t":%.6f,"event":%s}\n' % (offset_s, payload)


def parse_record(line: bytes | str) -> tuple[float | None, Event]:
    """The due offset (``None`` for a bare event) and the validated event."""
    try:
        data = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RecordError(f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise RecordError(f"expected a JSON object, got {type(data).__name__}")
    if "event" not in data:
        if "event_type" not in data:
            raise RecordError('expected {"t": <seconds>, "event": {...}} or a bare event')
        offset, payload = None, data
    else:
        offset, payload = data.get("t"), data["event"]
        if isinstance(offset, bool) or not isinstance(offset, (int, float)) or offset < 0:
            raise RecordError(f"'t' must be a non-negative number of seconds, got {offset!r}")
    try:
        return offset, parse_event(payload)
    except EventRejected as exc:
        raise RecordError(f"invalid event: {exc.reason}") from None


def summary(events: int, seconds: float, by_type: Counter[str], **extra: object) -> dict[str, object]:
    """The final JSON line every producer command prints: counts first, speed second."""
    return {
        "events": events,
        "seconds": round(seconds, 3),
        "events_per_s": round(events / seconds, 1) if seconds > 0 else None,
        **extra,
        "by_type": dict(sorted(by_type.items())),
    }
