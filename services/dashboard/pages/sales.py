"""Sales: trend by day/week/month and channel, categories, stores on a map, bestsellers, discounts, segments."""

from __future__ import annotations

import dash
from dash import Input, Output, callback, dcc, html

from services.dashboard import charts
from services.dashboard.components import graph, money_column, number_column, panel, percent_column, records, table
from services.dashboard.context import current
from services.dashboard.guard import db_guarded

dash.register_page(__name__, path="/sales", name="Sales", order=1, title="Shelfcast — Sales")
BESTSELLERS = 100
REFRESH = [Input("filters", "data"), Input("refresh", "n_intervals")]


def layout(**_: object) -> html.Div:
    return html.Div(
        [
            html.H2("Sales"),
            html.Div(
                className="grid",
                children=[
                    panel(
                        "Trend by channel (stacked) and total",
                        html.Div(
                            className="controls",
                            children=[
                                dcc.RadioItems(
                                    id="sales-grain",
                                    options=[{"label": g.title(), "value": g} for g in ("day", "week", "month")],
                                    value="day",
                                    inline=True,
                                ),
                                dcc.RadioItems(
                                    id="sales-metric",
                                    options=[{"label": m.title(), "value": m} for m in ("revenue", "units", "profit")],
                                    value="revenue",
                                    inline=True,
                                ),
                            ],
                        ),
                        graph("sales-trend"),
                        wide=True,
                    ),
                    panel("Revenue by category and sub-category (colour: margin)", graph("sales-categories")),
                    panel(
                        "Stores by revenue",
                        graph("sales-stores"),
                        html.P(
                            "Stores at their coordinates (no basemap: the dashboard works offline).", className="muted"
                        ),
                    ),
                    panel(
                        "Discount vs profit",
                        graph("sales-discounts"),
                        html.P("Gross profit by discount off list price; red bands lose money.", className="muted"),
                    ),
                    panel(
                        "Performance by segment",
                        graph("sales-segments"),
                        html.P(
                            "Orders carry no customer segment, so segments here are channel × region.",
                            className="muted",
                        ),
                    ),
                    panel(
                        f"Bestsellers (top {BESTSELLERS} by revenue)",
                        table(
                            "sales-bestsellers",
                            [
                                {"id": "sku", "name": "SKU"},
                                {"id": "name", "name": "Product"},
                                {"id": "category", "name": "Category"},
                                number_column("units", "Units"),
                                money_column("revenue", "Revenue"),
                                money_column("profit", "Gross profit"),
                                percent_column("margin", "Margin"),
                                number_column("returned_units", "Returned"),
                            ],
                            sort_by=[{"column_id": "revenue", "direction": "desc"}],
                        ),
                        wide=True,
                    ),
                ],
            ),
        ]
    )


@callback(Output("sales-trend", "figure"), *REFRESH, Input("sales-grain", "value"), Input("sales-metric", "value"))
@db_guarded
def render_trend(filters: dict | None, _: int | None, grain: charts.Grain, metric: charts.Metric) -> object:
    data = current().data
    f = data.filters(filters)
    return charts.sales_trend(data.sales_by_day_channel(f), grain, metric, f)


@callback(Output("sales-categories", "figure"), *REFRESH)
@db_guarded
def render_categories(filters: dict | None, _: int | None) -> object:
    data = current().data
    return charts.category_treemap(data.sales_by_category(data.filters(filters)))


@callback(Output("sales-stores", "figure"), *REFRESH)
@db_guarded
def render_stores(filters: dict | None, _: int | None) -> object:
    data = current().data
    return charts.store_map(data.sales_by_store(data.filters(filters)))


@callback(Output("sales-discounts", "figure"), *REFRESH)
@db_guarded
def render_discounts(filters: dict | None, _: int | None) -> object:
    data = current().data
    return charts.discount_profit(data.discount_bands(data.filters(filters)))


@callback(Output("sales-segments", "figure"), *REFRESH)
@db_guarded
def render_segments(filters: dict | None, _: int | None) -> object:
    data = current().data
    return charts.segment_bars(data.sales_by_segment(data.filters(filters)))


@callback(Output("sales-bestsellers", "data"), *REFRESH)
@db_guarded
def render_bestsellers(filters: dict | None, _: int | None) -> list[dict]:
    data = current().data
    top = data.sales_by_sku(data.filters(filters)).head(BESTSELLERS)
    profit = top["revenue_cents"] - top["cost_cents"]
    rows = top.assign(
        revenue=top["revenue_cents"] / 100,
        profit=profit / 100,
        margin=(profit / top["revenue_cents"].where(top["revenue_cents"] != 0)).round(4),
    )
    return records(rows[["sku", "name", "category", "units", "revenue", "profit", "margin", "returned_units"]])
