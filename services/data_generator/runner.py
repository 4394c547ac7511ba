"""Running the simulated shop as a load source: paced publishing to Kafka and/or a JSONL recording.

Pacing follows an absolute schedule — event ``i`` is due at ``start + i / rate`` on the monotonic
clock — so per-event overheads never accumulate into drift: a late event is followed by
catch-up, not by an ever later schedule.
"""

from __future__ import annotations

import secrets
import sys
import threading
import time
from collections import Counter
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path

from tqdm import tqdm

from services.common.events import event_to_bytes
from services.common.settings import Settings
from services.data_generator.publishing import Publisher
from services.data_generator.recording import record_line, summary
from services.data_generator.simulator import ShopConfig, ShopSimulator


def run_generator(
    settings: Settings,
    rate: float,
    duration_s: float | None,
    seed: int | None = None,
    stop_event: threading.Event | None = None,
    *,
    out: Path | None = None,
    publish: bool = True,
    start: datetime | None = None,
    truth_out: Path | None = None,
    progress: bool = False,
    config: ShopConfig | None = None,
) -> dict[str, object]:
    """Stream ``rate`` events/s for ``duration_s`` seconds (``None``: until ``stop_event`` is set).

    ``publish=False`` with ``out`` writes the recording as fast as possible (its offsets still follow
    ``rate``). ``seed=None`` draws one and reports it; ``start=None`` is now. Returns the summary:
    events, seconds, events_per_s, seed, start, simulated_until, by_type.
    """
    if rate <= 0 or (duration_s is not None and duration_s <= 0):
        raise ValueError("rate and duration must be positive")
    if not publish and out is None:
        raise ValueError("nothing to do: neither publishing nor writing a file")
    seed = secrets.randbits(32) if seed is None else seed
    start = start or datetime.now(timezone.utc)
    simulator = ShopSimulator(seed, start, settings.pseudonym_key.get_secret_value(), config)
    total = None if duration_s is None else max(1, round(rate * duration_s))
    stop = stop_event or threading.Event()
    by_type: Counter[str] = Counter()
    with ExitStack() as resources:
        publisher = resources.enter_context(Publisher(settings, "shelfcast-generator")) if publish else None
        sink = resources.enter_context(out.open("wb")) if out else None
        bar = resources.enter_context(
            tqdm(total=total, unit="ev", file=sys.stderr, disable=not progress, mininterval=0.5)
        )
        began = time.monotonic()
        sent = 0
        for event in simulator.events():
            if sent == total or stop.is_set():
                break
            offset = sent / rate
            if publisher is not None:
                delay = began + offset - time.monotonic()
                if delay > 0 and stop.wait(delay):
                    break
                payload = event_to_bytes(event)
                publisher.send(event, payload)
            else:
                payload = event_to_bytes(event)
            if sink is not None:
                sink.write(record_line(offset, payload))
            by_type[event.event_type] += 1
            sent += 1
            bar.update()
        if publisher is not None:
            if total is not None:
                stop.wait(max(0.0, began + total / rate - time.monotonic()))  # the run lasts its duration
            publisher.flush()
        seconds = time.monotonic() - began
    if truth_out is not None:
        simulator.write_truth(truth_out)
    return summary(
        sent,
        seconds,
        by_type,
        seed=seed,
        start=simulator.start.isoformat(),
        simulated_until=simulator.now.isoformat(),
        published=publish,
        out=str(out) if out else None,
    )
