"""HTTP routers of the forecast API, one module per resource; `app.create_app` includes them all."""

from services.forecast_service.api.routes import forecasts, models, sales, system, training

ROUTERS = (system.router, training.router, models.router, forecasts.router, sales.router)
