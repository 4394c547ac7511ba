"""Inventory: stock per SKU × store with ok/low/out status, the alerts, and reorder suggestions."""

from __future__ import annotations

import dash
import pandas as pd
from dash import Input, Output, callback, html

from services.dashboard import charts
from services.dashboard.api_client import ServiceError
from services.dashboard.components import (
    STATUS_COLOURS,
    graph,
    kpi_card,
    number_column,
    panel,
    percent_column,
    records,
    service_banner,
    table,
)
from services.dashboard.context import current
from services.dashboard.formatting import count
from services.dashboard.guard import db_guarded

dash.register_page(__name__, path="/inventory", name="Inventory", order=2, title="Shelfcast — Inventory")
REFRESH = [Input("filters", "data"), Input("refresh", "n_intervals")]
STATUS_STYLE = [
    {
        "if": {"filter_query": f'{{status}} = "{status}"', "column_id": "status"},
        "backgroundColor": colour,
        "color": "white",
        "fontWeight": "600",
    }
    for status, colour in STATUS_COLOURS.items()
]


def layout(**_: object) -> html.Div:
    return html.Div(
        [
            html.H2("Inventory"),
            html.Div(id="inventory-kpis", className="kpi-grid"),
            html.Div(
                className="grid",
                children=[
                    panel(
                        "Stock status of the SKUs in most trouble (number = on hand)",
                        graph("inventory-heatmap", height=520),
                    ),
                    panel(
                        "Alerts in the period",
                        table(
                            "inventory-alerts",
                            [
                                {"id": "created_at", "name": "When"},
                                {"id": "kind", "name": "Kind"},
                                {"id": "sku", "name": "SKU"},
                                {"id": "store_id", "name": "Store"},
                                number_column("on_hand", "On hand"),
                                {"id": "message", "name": "Message"},
                            ],
                            page_size=10,
                        ),
                    ),
                    panel(
                        "Reorder suggestions (forecast service)",
                        html.Div(id="inventory-reorder-banner"),
                        table(
                            "inventory-reorder",
                            [
                                {"id": "sku", "name": "SKU"},
                                {"id": "name", "name": "Product"},
                                {"id": "store_id", "name": "Store"},
                                number_column("on_hand", "On hand"),
                                number_column("days_of_cover", "Days of cover", 1),
                                number_column("reorder_point", "Reorder point"),
                                number_column("suggested_order", "Suggested order"),
                                percent_column("stockout_risk", "Stock-out risk"),
                            ],
                            sort_by=[{"column_id": "stockout_risk", "direction": "desc"}],
                        ),
                        wide=True,
                    ),
                    panel(
                        "Stock per SKU × store",
                        table(
                            "inventory-stock",
                            [
                                {"id": "sku", "name": "SKU"},
                                {"id": "name", "name": "Product"},
                                {"id": "category", "name": "Category"},
                                {"id": "store_id", "name": "Store"},
                                {"id": "region", "name": "Region"},
                                number_column("on_hand", "On hand"),
                                number_column("reorder_threshold", "Threshold"),
                                {"id": "status", "name": "Status"},
                                number_column("backordered_units", "Backordered"),
                            ],
                            style_data_conditional=STATUS_STYLE,
                        ),
                        wide=True,
                    ),
                ],
            ),
        ]
    )


@callback(
    Output("inventory-kpis", "children"),
    Output("inventory-heatmap", "figure"),
    Output("inventory-stock", "data"),
    *REFRESH,
)
@db_guarded
def render_stock(filters: dict | None, _: int | None) -> tuple[list, object, list[dict]]:
    data = current().data
    stock = data.stock_levels(data.filters(filters))
    status = stock["status"].value_counts()
    cards = [
        kpi_card(
            f"{label} stock", count(int(status.get(key, 0))), note="SKU × store positions", card_id=f"kpi-stock-{key}"
        )
        for key, label in (("ok", "OK"), ("low", "Low"), ("out", "Out of"))
    ]
    cards.append(kpi_card("Backordered units", count(int(stock["backordered_units"].sum())), card_id="kpi-backordered"))
    columns = [
        "sku",
        "name",
        "category",
        "store_id",
        "region",
        "on_hand",
        "reorder_threshold",
        "status",
        "backordered_units",
    ]
    return cards, charts.stock_heatmap(stock), records(stock[columns])


@callback(Output("inventory-alerts", "data"), *REFRESH)
@db_guarded
def render_alerts(filters: dict | None, _: int | None) -> list[dict]:
    data = current().data
    alerts = data.alerts(data.filters(filters))
    return records(alerts.assign(created_at=pd.to_datetime(alerts["created_at"]).dt.strftime("%Y-%m-%d %H:%M")))


@callback(Output("inventory-reorder", "data"), Output("inventory-reorder-banner", "children"), *REFRESH)
@db_guarded
def render_reorder(filters: dict | None, _: int | None) -> tuple[list[dict], object]:
    ctx = current()
    try:
        suggestions = ctx.forecast.reorder()
    except ServiceError as exc:
        return [], service_banner(exc)
    f, catalog = ctx.data.filters(filters), ctx.data.catalog()
    frame = pd.DataFrame(
        [s.model_dump() for s in suggestions],
        columns=list(type(suggestions[0]).model_fields) if suggestions else ["sku", "store_id"],
    )
    skus, stores = catalog.skus_in(f.categories), catalog.stores_in(f.regions)
    if skus is not None:
        frame = frame[frame["sku"].isin(skus)]
    if stores is not None:
        frame = frame[frame["store_id"].isin(stores)]
    frame = frame.merge(catalog.products[["sku", "name"]], on="sku", how="left")
    return records(frame), None
