"""Baskets: products frequently bought together, as association rules (support, confidence, lift)."""

from __future__ import annotations

import dash
from dash import Input, Output, callback, dcc, html

from services.dashboard import charts
from services.dashboard.components import graph, number_column, panel, percent_column, records, table
from services.dashboard.context import current
from services.dashboard.guard import db_guarded

dash.register_page(__name__, path="/baskets", name="Baskets", order=5, title="Shelfcast — Baskets")


def layout(**_: object) -> html.Div:
    return html.Div(
        [
            html.H2("Baskets"),
            html.Div(
                className="controls",
                children=[
                    html.Label("Minimum orders containing the pair", htmlFor="basket-min"),
                    dcc.Slider(
                        id="basket-min",
                        min=1,
                        max=10,
                        step=1,
                        value=2,
                        marks={i: str(i) for i in (1, 2, 5, 10)},
                        className="control-wide",
                    ),
                ],
            ),
            html.P(id="basket-note", className="muted"),
            html.Div(
                className="grid",
                children=[
                    panel("Strongest pairs (lift)", graph("basket-chart", height=420)),
                    panel(
                        "Rules: customers who buy A also buy B",
                        table(
                            "basket-rules",
                            [
                                {"id": "antecedent", "name": "A (SKU)"},
                                {"id": "antecedent_name", "name": "A"},
                                {"id": "consequent", "name": "B (SKU)"},
                                {"id": "consequent_name", "name": "B"},
                                number_column("pair_orders", "Orders with both"),
                                percent_column("support", "Support"),
                                percent_column("confidence", "Confidence"),
                                number_column("lift", "Lift", 2),
                            ],
                            page_size=12,
                        ),
                    ),
                ],
            ),
        ]
    )


@callback(
    Output("basket-chart", "figure"),
    Output("basket-rules", "data"),
    Output("basket-note", "children"),
    Input("filters", "data"),
    Input("refresh", "n_intervals"),
    Input("basket-min", "value"),
)
@db_guarded
def render_baskets(filters: dict | None, _: int | None, min_pair_orders: int) -> tuple[object, list[dict], str]:
    data = current().data
    rules, mined = data.basket_rules(data.filters(filters), int(min_pair_orders or 1))
    note = (
        f"Mined the newest {mined:,} orders of the period (at most {data.basket_max_orders:,}); "
        f"support = share of those orders with both products, lift > 1 = bought together more than by chance."
    )
    return charts.basket_chart(rules), records(rules.round({"support": 4, "confidence": 4, "lift": 3})), note
