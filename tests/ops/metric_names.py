"""Which metric names exist, for the tests that check what the alert rules and the Grafana dashboard read."""

from __future__ import annotations

import re
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2] / "services"
# The per-partition metrics of the data consumer (services/data_consumer/metrics.py): the contract the rules and
# panels are written against.
CONSUMER_CONTRACT = {"shelfcast_consumer_partition_lag", "shelfcast_consumer_committed_offset"}
# Prometheus' own series and prometheus-client's process collector.
STANDARD = {"up", "process_start_time_seconds", "process_resident_memory_bytes"}
_DEFINED = re.compile(r"\"(shelfcast_[a-z0-9_]+)\"")
_USED = re.compile(r"\b((?:shelfcast|process)_[a-z0-9_]+|up(?=\{))")
_SUFFIXES = ("_bucket", "_count", "_sum")


def defined_metrics() -> set[str]:
    """Every ``"shelfcast_…"`` string in the services' code (metric families are named by such literals)."""
    return {name for path in SERVICES.rglob("*.py") for name in _DEFINED.findall(path.read_text())}


def family(series_name: str) -> str:
    """The family a series name belongs to (a histogram's ``_bucket``/``_count``/``_sum`` series → its name)."""
    for suffix in _SUFFIXES:
        if series_name.endswith(suffix):
            return series_name[: -len(suffix)]
    return series_name


def used_metrics(promql: str) -> set[str]:
    """Metric names a PromQL expression selects."""
    return {family(name) for name in _USED.findall(promql)}


def unknown_metrics(expressions: list[str]) -> set[str]:
    """What the expressions select that no service defines."""
    known = defined_metrics() | CONSUMER_CONTRACT | STANDARD
    return {name for expr in expressions for name in used_metrics(expr)} - known
