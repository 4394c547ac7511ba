"""The soak benchmark: the simulated shop at a steady rate for minutes, watching consumer memory and lag.

A leak or a consumer that slowly falls behind only shows over time, so this runs the real
generator at ``rate`` against one consumer process on its own embedded stack, samples the
consumer's resident memory and the group's committed lag every ``sample_every_s``, lets the backlog
drain, and then checks the store: every published event stored or dead-lettered, none twice.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from services.benchmarks.ingest import consumer_env
from services.common import read_models
from services.common.settings import Settings
from services.common.store import connect
from services.data_generator.runner import run_generator
from services.devstack import EmbeddedStack

# Events stored under their own event_id (catalog events are upserted by SKU / store id instead).
STORED_BY_EVENT_ID = {
    "order": read_models.ORDERS,
    "click": read_models.CLICKS,
    "return": read_models.RETURNS,
    "restock": read_models.RESTOCKS,
    "exposure": read_models.EXPOSURES,
}
WARMUP_S = 60.0  # memory grows while caches, imports and the JIT of the servers settle; the slope skips it


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def committed_lag(bootstrap: str, group: str, topics: list[str]) -> int:
    """Records on ``topics`` not yet committed by ``group``: what a crash right now would replay."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="shelfcast-soak-lag")
    reader = KafkaConsumer(bootstrap_servers=bootstrap, client_id="shelfcast-soak-lag")
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in (reader.partitions_for_topic(t) or ())]
        ends = reader.end_offsets(partitions)
        committed = admin.list_consumer_group_offsets(group)
        return sum(
            max(0, end - (committed[tp].offset if tp in committed and committed[tp].offset >= 0 else 0))
            for tp, end in ends.items()
        )
    finally:
        reader.close()
        admin.close()


def _slope_per_min(samples: list[dict], key: str) -> float | None:
    """Least-squares slope of ``key`` over time after the warm-up, per minute (None: too few samples)."""
    points = [(s["t_s"], s[key]) for s in samples if s["t_s"] >= WARMUP_S] or [(s["t_s"], s[key]) for s in samples]
    if len(points) < 3:
        return None
    t, y = np.array(points, dtype=float).T
    return round(float(np.polyfit(t / 60.0, y, 1)[0]), 3)


def _stored(db) -> int:
    """Events stored so far (collection sizes, no scan): successive samples give the consumer's own rate."""
    return sum(db[c].estimated_document_count() for c in STORED_BY_EVENT_ID.values())


def _stock_check(db) -> dict[str, int]:
    """Units each stored event implies against the units the stock documents applied (equal when exact)."""

    def total(collection: str, pipeline: list[dict]) -> int:
        row = next(db[collection].aggregate(pipeline + [{"$group": {"_id": None, "n": {"$sum": "$q"}}}]), None)
        return int(row["n"]) if row else 0

    applied = (
        next(
            db[read_models.STOCK].aggregate(
                [
                    {
                        "$group": {
                            "_id": None,
                            "sold": {"$sum": "$sold_units"},
                            "back": {"$sum": "$backordered_units"},
                            "received": {"$sum": "$received_units"},
                            "returned": {"$sum": "$returned_units"},
                        }
                    }
                ]
            ),
            None,
        )
        or {}
    )
    return {
        "sold_expected": total(read_models.ORDERS, [{"$unwind": "$lines"}, {"$project": {"q": "$lines.quantity"}}]),
        "sold_applied": int(applied.get("sold", 0) + applied.get("back", 0)),
        "received_expected": total(read_models.RESTOCKS, [{"$project": {"q": "$quantity"}}]),
        "received_applied": int(applied.get("received", 0)),
        "returned_expected": total(read_models.RETURNS, [{"$project": {"q": "$quantity"}}]),
        "returned_applied": int(applied.get("returned", 0)),
    }


def _dead_letters(settings: Settings) -> dict[str, int]:
    """Dead letters per source topic."""
    reader = KafkaConsumer(
        settings.topics.dead_letter,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        consumer_timeout_ms=3000,
    )
    counts: dict[str, int] = {}
    try:
        for record in reader:
            source = dict(record.headers).get("source_topic", b"?").decode()
            counts[source] = counts.get(source, 0) + 1
    finally:
        reader.close()
    return counts


def bench_soak(
    settings: Settings,
    rate: float,
    duration_s: float,
    sample_every_s: float = 10.0,
    drain_timeout_s: float = 600.0,
    seed: int = 0,
    progress: bool = True,
) -> dict:
    """Run the soak and return its summary (with the raw samples under ``samples``)."""
    with (
        tempfile.TemporaryDirectory(prefix="shelfcast-soak-") as run_dir,
        EmbeddedStack(settings, Path(run_dir)) as live,
    ):
        live = live.model_copy(update={"topic_prefix": "soak", "mongo_db": "soak", "consumer_group": "soak"})
        db = connect(live.mongo_uri, live.mongo_db)
        consumer = subprocess.Popen([sys.executable, "-m", "services.data_consumer"], env=consumer_env(live))
        generated: dict = {}
        failure: list[BaseException] = []

        def generate() -> None:
            try:
                generated.update(run_generator(live, rate, duration_s, seed=seed, progress=progress))
            except BaseException as exc:  # reported by the caller's thread below
                failure.append(exc)

        samples: list[dict] = []
        generator = threading.Thread(target=generate, name="soak-generator", daemon=True)
        started = time.monotonic()
        generator.start()
        try:
            while True:
                generator.join(sample_every_s)
                if consumer.poll() is not None:
                    raise RuntimeError(f"the consumer exited with code {consumer.returncode} during the soak")
                lag = committed_lag(live.kafka_bootstrap, live.consumer_group, live.topics.ingest)
                samples.append(
                    {
                        "t_s": round(time.monotonic() - started, 1),
                        "rss_mb": round(rss_mb(consumer.pid), 1),
                        "lag": lag,
                        "stored": _stored(db),
                    }
                )
                if progress:
                    print(f"soak t={samples[-1]['t_s']:.0f}s rss={samples[-1]['rss_mb']} MB lag={lag}", file=sys.stderr)
                if not generator.is_alive():
                    break
            if failure:
                raise failure[0]
            produced_s = time.monotonic() - started
            drain_deadline = time.monotonic() + drain_timeout_s
            while samples[-1]["lag"] > 0 and time.monotonic() < drain_deadline:
                time.sleep(2)
                samples.append(
                    {
                        "t_s": round(time.monotonic() - started, 1),
                        "rss_mb": round(rss_mb(consumer.pid), 1),
                        "lag": committed_lag(live.kafka_bootstrap, live.consumer_group, live.topics.ingest),
                        "stored": _stored(db),
                    }
                )
            drained_s = time.monotonic() - started - produced_s
        finally:
            consumer.terminate()
            consumer.wait(30)
        by_type = generated["by_type"]
        dead = _dead_letters(live)
        published = sum(by_type.get(t, 0) for t in STORED_BY_EVENT_ID)
        stored = sum(db[c].count_documents({}) for c in STORED_BY_EVENT_ID.values())
        dead_non_catalog = sum(n for topic, n in dead.items() if topic != live.topics.for_event_type("product"))
        stock = _stock_check(db)
    during = [s for s in samples if s["t_s"] <= produced_s]
    applied_excess = sum(
        max(0, stock[f"{k}_applied"] - stock[f"{k}_expected"]) for k in ("sold", "received", "returned")
    )
    applied_short = sum(
        max(0, stock[f"{k}_expected"] - stock[f"{k}_applied"]) for k in ("sold", "received", "returned")
    )
    rss = [s["rss_mb"] for s in during] or [s["rss_mb"] for s in samples]
    return {
        "rate": rate,
        "duration_s": duration_s,
        "events": generated["events"],
        "events_per_s": generated["events_per_s"],
        "by_type": dict(by_type),
        "dead_lettered": dead,
        "stored": stored,
        "lost": published - stored - dead_non_catalog,
        "duplicated": applied_excess,
        "stock_units_missing": applied_short,
        "rss_start_mb": rss[0],
        "rss_end_mb": rss[-1],
        "rss_max_mb": max(rss),
        "rss_slope_mb_per_min": _slope_per_min(during, "rss_mb"),
        "lag_max": max(s["lag"] for s in during),
        "lag_end_of_produce": during[-1]["lag"] if during else None,
        "lag_slope_per_min": _slope_per_min(during, "lag"),
        "drain_s": round(drained_s, 1),
        "lag_after_drain": samples[-1]["lag"],
        "stock_check": stock,
        "samples": samples,
    }
