"""``python -m services.promotion_engine``: the API under uvicorn on ``settings.promotion_port`` (one worker)."""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before xgboost loads: spinning OpenMP threads starve the server on small machines

import uvicorn  # noqa: E402

from services.common.logs import configure_logging  # noqa: E402
from services.common.settings import get_settings  # noqa: E402
from services.promotion_engine.app import create_app  # noqa: E402


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    uvicorn.run(create_app(settings), host=settings.bind_host, port=settings.promotion_port, workers=1,
                log_level=settings.log_level.lower(), access_log=False)


if __name__ == "__main__":
    main()
