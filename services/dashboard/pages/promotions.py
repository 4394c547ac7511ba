"""Promotions: what runs and its budget burn, treatment vs control with lift and CI, and the Qini curve.

Everything from the promotion engine is optional: when it is down the panels say so, and the
exposures and promoted orders recorded in MongoDB still show.
"""

from __future__ import annotations

import dash
import pandas as pd
from dash import Input, Output, callback, dcc, html

from services.dashboard import charts
from services.dashboard.api_client import ServiceError
from services.dashboard.components import (
    empty_figure,
    graph,
    kpi_card,
    money_column,
    number_column,
    panel,
    percent_column,
    records,
    service_banner,
    table,
)
from services.dashboard.context import current
from services.dashboard.formatting import money, signed_percent
from services.dashboard.guard import db_guarded

dash.register_page(__name__, path="/promotions", name="Promotions", order=3, title="Shelfcast — Promotions")
REFRESH = [Input("filters", "data"), Input("refresh", "n_intervals")]


def layout(**_: object) -> html.Div:
    return html.Div(
        [
            html.H2("Promotions"),
            html.Div(id="promo-banner"),
            html.Div(
                className="grid",
                children=[
                    panel(
                        "Promotions",
                        table(
                            "promo-table",
                            [
                                {"id": "name", "name": "Promotion"},
                                percent_column("discount", "Discount"),
                                {"id": "target", "name": "Applies to"},
                                {"id": "starts_at", "name": "Starts"},
                                {"id": "ends_at", "name": "Ends"},
                                money_column("budget", "Budget"),
                                money_column("spent", "Spent"),
                                percent_column("burn", "Burn"),
                                {"id": "active", "name": "Active"},
                            ],
                            page_size=10,
                        ),
                        wide=True,
                    ),
                    panel("Budget burn", graph("promo-burn")),
                    panel(
                        "Experiment: treatment vs control",
                        dcc.Dropdown(id="promo-selected", placeholder="Choose a promotion", clearable=False),
                        html.Div(id="promo-experiment-banner"),
                        html.Div(id="promo-experiment-kpis", className="kpi-grid kpi-grid-small"),
                        graph("promo-arms", height=280),
                    ),
                    panel(
                        "Qini curve of the active uplift model",
                        html.Div(id="promo-qini-banner"),
                        graph("promo-qini"),
                        html.Div(id="promo-model", className="muted"),
                    ),
                    panel(
                        "Recorded in MongoDB: exposures and promoted orders",
                        table(
                            "promo-recorded",
                            [
                                {"id": "promotion_id", "name": "Promotion"},
                                number_column("treatment", "Treatment exposures"),
                                number_column("control", "Control exposures"),
                                number_column("orders", "Promoted orders"),
                                money_column("revenue", "Promoted revenue"),
                            ],
                            page_size=10,
                        ),
                    ),
                ],
            ),
        ]
    )


@callback(
    Output("promo-table", "data"),
    Output("promo-burn", "figure"),
    Output("promo-banner", "children"),
    Output("promo-selected", "options"),
    Output("promo-selected", "value"),
    *REFRESH,
    Input("promo-selected", "value"),
)
@db_guarded
def render_promotions(
    filters: dict | None, _: int | None, selected: str | None
) -> tuple[list[dict], object, object, list[dict], str | None]:
    ctx = current()
    try:
        promotions = ctx.promotions.promotions()
    except ServiceError as exc:
        recorded = ctx.data.exposures(ctx.data.filters(filters))["promotion_id"].dropna().unique().tolist()
        options = [{"label": pid, "value": pid} for pid in recorded]
        return (
            [],
            empty_figure("Promotion engine unavailable"),
            service_banner(exc),
            options,
            selected or (recorded[0] if recorded else None),
        )
    rows = [
        {
            "name": p.name,
            "discount": p.discount_pct / 100,
            "target": p.sku or p.category or "all",
            "starts_at": p.starts_at,
            "ends_at": p.ends_at,
            "budget": (p.budget_cents or 0) / 100,
            "spent": (p.spent_cents or 0) / 100,
            "burn": (p.spent_cents or 0) / p.budget_cents if p.budget_cents else None,
            "active": "yes" if p.active else "no",
        }
        for p in promotions
    ]
    ordered = sorted(promotions, key=lambda p: not p.active)
    options = [{"label": f"{p.name}{'' if p.active else ' (ended)'}", "value": p.promotion_id} for p in ordered]
    ids = {p.promotion_id for p in promotions}
    return (
        rows,
        charts.budget_burn(promotions),
        None,
        options,
        selected if selected in ids else (ordered[0].promotion_id if ordered else None),
    )


@callback(
    Output("promo-experiment-kpis", "children"),
    Output("promo-arms", "figure"),
    Output("promo-experiment-banner", "children"),
    Input("promo-selected", "value"),
    Input("refresh", "n_intervals"),
)
def render_experiment(promotion_id: str | None, _: int | None) -> tuple[list, object, object]:
    if not promotion_id:
        return [], empty_figure("No promotion selected"), None
    try:
        e = current().promotions.experiment(promotion_id)
    except ServiceError as exc:
        return [], empty_figure(), service_banner(exc)
    ci = f"95% CI {e.lift_ci[0]:+.1%} to {e.lift_ci[1]:+.1%}" if e.lift_ci else "no CI"
    cards = [
        kpi_card("Lift", signed_percent(e.lift), note=ci, card_id="kpi-lift"),
        kpi_card("Incremental margin", money(e.incremental_margin_cents), card_id="kpi-incremental-margin"),
        kpi_card("ROI", "—" if e.roi is None else f"{e.roi:.2f}×", card_id="kpi-roi"),
    ]
    return cards, charts.arms_chart(e), None


@callback(
    Output("promo-qini", "figure"),
    Output("promo-qini-banner", "children"),
    Output("promo-model", "children"),
    Input("refresh", "n_intervals"),
)
def render_qini(_: int | None) -> tuple[object, object, str]:
    try:
        model = current().promotions.active_model()
    except ServiceError as exc:
        return empty_figure(), service_banner(exc), ""
    metrics = ", ".join(f"{k} {v:.3f}" for k, v in model.metrics.items() if v is not None)
    return charts.qini_chart(model.qini_curve), None, f"Model {model.version}: {metrics}"


@callback(Output("promo-recorded", "data"), *REFRESH)
@db_guarded
def render_recorded(filters: dict | None, _: int | None) -> list[dict]:
    data = current().data
    f = data.filters(filters)
    exposures = data.exposures(f).pivot_table(
        index="promotion_id", columns="arm", values="exposures", aggfunc="sum", fill_value=0
    )
    exposures = exposures.reindex(columns=["treatment", "control"], fill_value=0).reset_index()
    orders = data.promoted_orders(f).assign(revenue=lambda o: o["revenue_cents"] / 100)[
        ["promotion_id", "orders", "revenue"]
    ]
    merged = pd.merge(exposures, orders, on="promotion_id", how="outer").sort_values("promotion_id")
    return records(merged)
