"""Prometheus metrics of the promotion engine (process-wide, in the default registry; summed over workers,
``http_metrics.exposition``).

Request latency is the shared ``shelfcast_http_request_duration_seconds`` (``services.common.http_metrics``)
under ``service="promotions"``.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from services.common.http_metrics import request_duration_histogram

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
