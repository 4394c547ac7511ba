"""Sales entry: record a sale by hand (published to Kafka like any channel's sale) and ask the
forecast service what a price change or a promotion would do to demand."""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html
from flask import request

from services.dashboard.api_client import ServiceError
from services.dashboard.components import alert_banner, field_error, panel, service_banner
from services.dashboard.context import current
from services.dashboard.entry import PublishFailed, build_sale, dashboard_customer, validate_sale
from services.dashboard.filters import CHANNELS
from services.dashboard.formatting import count, money, signed_percent
from services.dashboard.guard import db_guarded, layout_guarded

dash.register_page(__name__, path="/entry", name="Sales entry", order=7, title="Shelfcast — Sales entry")
FIELDS = ("sku", "quantity", "store_id", "channel")


def _field(label: str, control: object, error_id: str) -> html.Div:
    return html.Div([html.Label(label), control, field_error(error_id)], className="form-field")


@layout_guarded
def layout(**_: object) -> html.Div:
    catalog = current().data.catalog()
    products = [
        {"label": f"{r.sku} — {r.name} ({money(r.price_cents)})", "value": r.sku} for r in catalog.products.itertuples()
    ]
    stores = [{"label": f"{r.store_id} — {r.name}", "value": r.store_id} for r in catalog.stores.itertuples()]
    return html.Div(
        [
            html.H2("Sales entry"),
            html.Div(
                className="grid",
                children=[
                    panel(
                        "Record a sale",
                        html.P(
                            "Published to Kafka and ingested like any channel's sale; KPIs update once the consumer "
                            "has stored it.",
                            className="muted",
                        ),
                        _field(
                            "Product",
                            dcc.Dropdown(id="entry-sku", options=products, placeholder="Choose a product"),
                            "entry-sku-error",
                        ),
                        _field(
                            "Quantity",
                            dcc.Input(id="entry-quantity", type="number", min=1, step=1, value=1, inputMode="numeric"),
                            "entry-quantity-error",
                        ),
                        _field(
                            "Store",
                            dcc.Dropdown(id="entry-store", options=stores, placeholder="Choose a store"),
                            "entry-store_id-error",
                        ),
                        _field(
                            "Channel",
                            dcc.RadioItems(id="entry-channel", options=list(CHANNELS), value="store", inline=True),
                            "entry-channel-error",
                        ),
                        html.Button("Publish sale", id="entry-submit", className="button"),
                        html.Div(id="entry-result", role="status"),
                    ),
                    panel(
                        "What if…",
                        html.P(
                            "Forecast demand with a price change or a promotion discount, against the unchanged "
                            "baseline.",
                            className="muted",
                        ),
                        _field(
                            "Product",
                            dcc.Dropdown(id="whatif-sku", options=products, placeholder="Choose a product"),
                            "whatif-sku-error",
                        ),
                        _field(
                            "Store",
                            dcc.Dropdown(id="whatif-store", options=stores, placeholder="Choose a store"),
                            "whatif-store-error",
                        ),
                        _field(
                            "Scenario",
                            dcc.RadioItems(
                                id="whatif-kind",
                                options=[
                                    {"label": "Price change %", "value": "price_change_pct"},
                                    {"label": "Promotion discount %", "value": "promotion_discount_pct"},
                                ],
                                value="price_change_pct",
                                inline=True,
                            ),
                            "whatif-kind-error",
                        ),
                        _field(
                            "Percent", dcc.Input(id="whatif-pct", type="number", value=-10, step=1), "whatif-pct-error"
                        ),
                        _field(
                            "Horizon (days)",
                            dcc.Input(id="whatif-horizon", type="number", value=28, min=1, max=365, step=1),
                            "whatif-horizon-error",
                        ),
                        html.Button("Run scenario", id="whatif-submit", className="button"),
                        html.Div(id="whatif-result", role="status"),
                    ),
                ],
            ),
        ]
    )


@callback(
    Output("entry-result", "children"),
    *[Output(f"entry-{name}-error", "children") for name in FIELDS],
    Input("entry-submit", "n_clicks"),
    State("entry-sku", "value"),
    State("entry-quantity", "value"),
    State("entry-store", "value"),
    State("entry-channel", "value"),
    prevent_initial_call=True,
)
@db_guarded
def publish_sale(_: int, sku: str | None, quantity: object, store_id: str | None, channel: str | None) -> tuple:
    ctx = current()
    catalog = ctx.data.catalog()
    errors = validate_sale(sku, store_id, channel, quantity, catalog)
    messages = tuple(errors.get(name) for name in FIELDS)
    if errors:
        return (alert_banner("Please correct the highlighted fields.", "warning"), *messages)
    user = request.authorization.username if request.authorization else None
    sale = build_sale(sku, store_id, channel, int(quantity), catalog, dashboard_customer(user, ctx.settings))  # type: ignore[arg-type]
    try:
        event_id = ctx.publisher.publish(sale)
    except PublishFailed as exc:
        return (alert_banner(str(exc), "error"), *messages)
    line = sale.lines[0]
    return (
        html.Div(
            [
                html.Strong("Sale published. "),
                f"{count(line.quantity)} × {sku} at {store_id} ({channel}), {money(line.revenue_cents)}. Event id: ",
                html.Code(event_id, id="entry-event-id"),
            ],
            className="banner banner-info",
        ),
        *messages,
    )


@callback(
    Output("whatif-result", "children"),
    Output("whatif-sku-error", "children"),
    Output("whatif-store-error", "children"),
    Output("whatif-pct-error", "children"),
    Output("whatif-horizon-error", "children"),
    Input("whatif-submit", "n_clicks"),
    State("whatif-sku", "value"),
    State("whatif-store", "value"),
    State("whatif-kind", "value"),
    State("whatif-pct", "value"),
    State("whatif-horizon", "value"),
    prevent_initial_call=True,
)
def run_what_if(
    _: int, sku: str | None, store_id: str | None, kind: str, pct: float | None, horizon: int | None
) -> tuple:
    errors = {
        "sku": None if sku else "Choose a product.",
        "store": None if store_id else "Choose a store.",
        "pct": None if pct is not None and -90 <= pct <= 300 else "Enter a percentage between -90 and 300.",
        "horizon": None if horizon is not None and 1 <= horizon <= 365 else "Horizon must be 1–365 days.",
    }
    if kind == "promotion_discount_pct" and pct is not None and not 0 <= pct <= 90:
        errors["pct"] = "A discount is between 0 and 90%."
    if any(errors.values()):
        return None, errors["sku"], errors["store"], errors["pct"], errors["horizon"]
    try:
        result = current().forecast.what_if(sku, store_id, int(horizon), **{kind: float(pct)})  # type: ignore[arg-type]
    except ServiceError as exc:
        return service_banner(exc), None, None, None, None
    delta = (result.scenario_units - result.baseline_units) / result.baseline_units if result.baseline_units else None
    summary = html.Div(
        [
            html.Strong(f"{result.scenario_units:,.0f} units"),
            f" over {horizon} days vs {result.baseline_units:,.0f} baseline ({signed_percent(delta)}).",
        ],
        className="banner banner-info",
        id="whatif-summary",
    )
    return summary, None, None, None, None
