"""Prometheus metrics of the forecast service, in a registry of each app's own.

Several apps in one test process must not collide, hence no default registry. Request latency is
the shared ``shelfcast_http_request_duration_seconds`` (``services.common.http_metrics``).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge, Histogram

from services.common.http_metrics import exposition, request_duration_histogram

SERVICE = "forecast"


class ForecastMetrics:
    """The service's metric families in one registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.request_seconds = request_duration_histogram(self.registry)
        self.training_seconds = Histogram(
            "shelfcast_forecast_training_seconds",
            "Duration of training jobs",
            ["kind", "outcome"],
            buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800),
            registry=self.registry,
        )
        self.last_backtest_smape = Gauge(
            "shelfcast_forecast_last_backtest_smape",
            "SMAPE (%) of the active model on its last holdout backtest",
            registry=self.registry,
        )
        self.last_backtest_smape.set(float("nan"))
        self.model_trained_at = Gauge(
            "shelfcast_forecast_model_trained_at_seconds",
            "Unix time the active model was trained (NaN: none yet); the model-age alert compares it with time()",
            registry=self.registry,
        )
        self.model_trained_at.set(float("nan"))

    def render(self) -> tuple[bytes, str]:
        return exposition(self.registry)
