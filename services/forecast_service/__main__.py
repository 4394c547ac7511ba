"""``python -m services.forecast_service``: serve the forecast API on settings.bind_host:settings.forecast_port."""

from __future__ import annotations

import uvicorn

from services.common.logs import configure_logging
from services.common.settings import exits_on_invalid_settings, get_settings
from services.forecast_service.api.app import create_app


@exits_on_invalid_settings("forecast service")
def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.bind_host,
        port=settings.forecast_port,
        log_level=settings.log_level.lower(),
        access_log=False,
    )


if __name__ == "__main__":
    main()
