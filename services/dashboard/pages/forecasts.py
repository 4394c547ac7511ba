"""Forecasts: recent sales of one SKU in one store, the service's forecast with its interval, and how
the active model backtests against the seasonal-naive baseline."""

from __future__ import annotations

import dash
from dash import Input, Output, callback, dcc, html

from services.dashboard import charts
from services.dashboard.api_client import ServiceError
from services.dashboard.components import empty_figure, graph, number_column, panel, service_banner, table
from services.dashboard.context import current
from services.dashboard.guard import db_guarded, layout_guarded

dash.register_page(__name__, path="/forecasts", name="Forecasts", order=4, title="Shelfcast — Forecasts")
HISTORY_DAYS = 120


@layout_guarded
def layout(**_: object) -> html.Div:
    data = current().data
    catalog = data.catalog()
    f = data.filters(None)
    best_sku, best_store = (
        data.sales_by_sku(f)["sku"].head(1).tolist(),
        data.sales_by_store(f)["store_id"].head(1).tolist(),
    )
    return html.Div(
        [
            html.H2("Forecasts"),
            html.Div(
                className="grid",
                children=[
                    panel(
                        "Demand forecast",
                        html.Div(
                            className="controls",
                            children=[
                                dcc.Dropdown(
                                    id="fc-sku",
                                    options=[
                                        {"label": f"{r.sku} — {r.name}", "value": r.sku}
                                        for r in catalog.products.itertuples()
                                    ],
                                    value=(best_sku or catalog.products["sku"].head(1).tolist() or [None])[0],
                                    clearable=False,
                                    className="control-wide",
                                ),
                                dcc.Dropdown(
                                    id="fc-store",
                                    options=[
                                        {"label": f"{r.store_id} — {r.name}", "value": r.store_id}
                                        for r in catalog.stores.itertuples()
                                    ],
                                    value=(best_store or catalog.stores["store_id"].head(1).tolist() or [None])[0],
                                    clearable=False,
                                    className="control-wide",
                                ),
                                dcc.RadioItems(
                                    id="fc-horizon",
                                    options=[{"label": f"{d} days", "value": d} for d in (14, 28, 56)],
                                    value=28,
                                    inline=True,
                                ),
                            ],
                        ),
                        html.Div(id="fc-banner"),
                        graph("fc-chart", height=380),
                        wide=True,
                    ),
                    panel(
                        "Backtest accuracy vs seasonal-naive baseline (lower is better)",
                        html.Div(id="fc-model-banner"),
                        graph("fc-accuracy"),
                        html.Div(id="fc-model", className="muted"),
                    ),
                    panel(
                        "Forecast by day (units)",
                        table(
                            "fc-points",
                            [
                                {"id": "date", "name": "Date"},
                                number_column("p10", "p10", 1),
                                number_column("p50", "p50 (median)", 1),
                                number_column("p90", "p90", 1),
                            ],
                            page_size=10,
                            filter_action="none",
                        ),
                    ),
                ],
            ),
        ]
    )


@callback(
    Output("fc-chart", "figure"),
    Output("fc-banner", "children"),
    Output("fc-points", "data"),
    Input("fc-sku", "value"),
    Input("fc-store", "value"),
    Input("fc-horizon", "value"),
    Input("filters", "data"),
    Input("refresh", "n_intervals"),
)
@db_guarded
def render_forecast(
    sku: str | None, store_id: str | None, horizon: int, filters: dict | None, _: int | None
) -> tuple[object, object, list[dict]]:
    if not sku or not store_id:
        return empty_figure("Choose a product and a store"), None, []
    ctx = current()
    history = ctx.data.sku_history(sku, store_id, ctx.data.filters(filters).end, HISTORY_DAYS)
    try:
        points, banner = ctx.forecast.forecast(sku, store_id, horizon).points, None
    except ServiceError as exc:
        points, banner = [], service_banner(exc)
    return charts.forecast_chart(history, points), banner, [p.model_dump(mode="json") for p in points]


@callback(
    Output("fc-accuracy", "figure"),
    Output("fc-model-banner", "children"),
    Output("fc-model", "children"),
    Input("refresh", "n_intervals"),
)
def render_accuracy(_: int | None) -> tuple[object, object, str]:
    try:
        model = current().forecast.active_model()
    except ServiceError as exc:
        return empty_figure(), service_banner(exc), ""
    return charts.accuracy_bars(model.metrics), None, f"Active model: {model.version}"
