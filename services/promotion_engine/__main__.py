"""``python -m services.promotion_engine``: the API under uvicorn on ``settings.promotion_port``.

``SHELFCAST_PROMOTION_WORKERS`` processes share the port (``workers.serve``: a socket each with
``SO_REUSEPORT``; 0 = one per CPU core). Each worker is a whole engine — its own caches,
write-behind state and scorer — built by ``app.app_from_environment``; what must agree across them goes through
MongoDB (budgets,
frequency counters, training status, erasures: see README "Promotion engine workers"). With more
than one worker, Prometheus metrics are kept in ``PROMETHEUS_MULTIPROC_DIR`` (a fresh folder under
the data directory) and ``/metrics`` sums them over the workers.
"""

from __future__ import annotations

import os
import shutil

os.environ.setdefault(
    "OMP_WAIT_POLICY", "PASSIVE"
)  # before xgboost loads: spinning OpenMP threads starve the server on small machines

import uvicorn  # noqa: E402

from services.common.logs import configure_logging  # noqa: E402
from services.common.settings import exits_on_invalid_settings, get_settings  # noqa: E402
from services.promotion_engine.api.workers import APP, serve  # noqa: E402
from services.promotion_engine.config import load_promotion_config  # noqa: E402


@exits_on_invalid_settings("promotion engine")
def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    workers = load_promotion_config().worker_count
    if workers > 1:
        metrics_dir = settings.data_dir / "promotion-engine-metrics"
        shutil.rmtree(metrics_dir, ignore_errors=True)  # counters of an earlier run must not be summed in
        metrics_dir.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir.resolve())
        serve(settings.bind_host, settings.promotion_port, workers, settings.log_level)
        return
    uvicorn.run(
        APP,
        factory=True,
        host=settings.bind_host,
        port=settings.promotion_port,
        log_level=settings.log_level.lower(),
        access_log=False,
    )


if __name__ == "__main__":
    main()
