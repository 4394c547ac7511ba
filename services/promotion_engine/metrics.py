"""Prometheus metrics of the promotion engine (process-wide, in the default registry; summed over workers,
``http_metrics.exposition``).

Request latency is the shared ``shelfcast_http_request_duration_seconds`` (``services.common.http_metrics``)
under ``service="promotions"``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from prometheus_client import Counter, Gauge, Histogram

from services.common.http_metrics import multiprocess_mode, request_duration_histogram

SERVICE = "promotions"
REQUEST_SECONDS = request_duration_histogram()
SERVED = Counter(
    "shelfcast_promotions_served_total", "Promotion decisions served, by arm (control = withheld and logged)", ["arm"]
)
BUDGET_REFUSED = Counter(
    "shelfcast_promotions_budget_refused_total", "Serves refused because the promotion's remaining budget was too small"
)
FREQUENCY_REFUSED = Counter(
    "shelfcast_promotions_frequency_refused_total", "Serves refused by the per-customer frequency cap"
)
EXPOSURE_PUBLISH_FAILURES = Counter(
    "shelfcast_promotions_exposure_publish_failures_total", "Exposure events Kafka did not accept"
)
TRAINING_SECONDS = Histogram(
    "shelfcast_promotions_training_seconds",
    "Duration of uplift training jobs",
    ["outcome"],
    buckets=(1, 2, 5, 10, 30, 60, 120, 300, 600, 1800),
)
MODEL_QINI = Gauge(
    "shelfcast_promotions_model_qini",
    "Held-out Qini coefficient of the active uplift model (NaN: none or undefined)",
    multiprocess_mode="livemostrecent",
)  # every worker serves the same active model
MODEL_QINI.set(float("nan"))
MODEL_TRAINED_AT = Gauge(
    "shelfcast_promotions_model_trained_at_seconds",
    "Unix time the active uplift model was trained (NaN: none yet); the model-age alert compares it with time()",
    multiprocess_mode="livemostrecent",
)
MODEL_TRAINED_AT.set(float("nan"))
BUDGET_REMAINING = Gauge(
    "shelfcast_promotions_budget_remaining_ratio",
    "Share of each current promotion's budget not yet spent (1 untouched, 0 spent), as of the last reload",
    ["promotion_id"],
    multiprocess_mode="livemostrecent",
)
_budgets_shown: set[str] = set()
_budgets_lock = threading.Lock()


def report_budgets(remaining: Mapping[str, float]) -> None:
    """Set each current promotion's remaining-budget ratio; a promotion that ended or was retired leaves the metric
    (NaN with several workers, whose shared files cannot drop a series: no alert compares true against NaN)."""
    with _budgets_lock:
        for promotion_id, ratio in remaining.items():
            BUDGET_REMAINING.labels(promotion_id).set(ratio)
        for gone in _budgets_shown - remaining.keys():
            if multiprocess_mode():
                BUDGET_REMAINING.labels(gone).set(float("nan"))
            else:
                BUDGET_REMAINING.remove(gone)
        _budgets_shown.clear()
        _budgets_shown.update(remaining)
