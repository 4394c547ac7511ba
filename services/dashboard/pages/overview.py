"""Overview: the headline KPIs of the selected period against the previous one, and what needs attention."""

from __future__ import annotations

import dash
from dash import Input, Output, callback, html

from services.dashboard import charts
from services.dashboard.api_client import ServiceError
from services.dashboard.components import graph, kpi_card, panel, tone_of
from services.dashboard.context import current
from services.dashboard.data import Ingestion, PeriodNumbers
from services.dashboard.formatting import change, count, money, money_short, percent, signed_percent, signed_points
from services.dashboard.guard import db_guarded

dash.register_page(__name__, path="/", name="Overview", order=0, title="Shelfcast — Overview")


def layout(**_: object) -> html.Div:
    return html.Div(
        [
            html.H2("Overview"),
            html.Div(id="overview-kpis", className="kpi-grid"),
            html.Div(
                className="grid",
                children=[
                    panel("Revenue: this period vs the previous one", graph("overview-comparison")),
                    panel("Latest stock alerts", html.Div(id="overview-alerts")),
                ],
            ),
        ]
    )


def kpi_cards(
    now: PeriodNumbers,
    before: PeriodNumbers,
    ingestion: Ingestion,
    active_promotions: int | None,
    promotions_note: str | None,
) -> list[html.Div]:
    """The KPI row; ratios compare in percentage points, amounts in percent."""

    def relative(
        title: str, value: str, current_value: float | None, previous_value: float | None, card_id: str
    ) -> html.Div:
        delta = change(current_value, previous_value)
        return kpi_card(title, value, f"{signed_percent(delta)} vs previous", tone_of(delta), card_id=card_id)

    margin_delta = (
        None if now.gross_margin is None or before.gross_margin is None else now.gross_margin - before.gross_margin
    )
    conversion_delta = (
        None if now.conversion is None or before.conversion is None else now.conversion - before.conversion
    )
    return [
        relative("Revenue", money_short(now.revenue_cents), now.revenue_cents, before.revenue_cents, "kpi-revenue"),
        relative("Orders", count(now.orders), now.orders, before.orders, "kpi-orders"),
        relative("Average order value", money(now.aov_cents), now.aov_cents, before.aov_cents, "kpi-aov"),
        relative("Units sold", count(now.units), now.units, before.units, "kpi-units"),
        kpi_card(
            "Gross margin",
            percent(now.gross_margin),
            f"{signed_points(now.gross_margin, before.gross_margin)} vs previous",
            tone_of(margin_delta),
            card_id="kpi-margin",
        ),
        kpi_card(
            "Conversion",
            percent(now.conversion, 2),
            f"{signed_points(now.conversion, before.conversion)} vs previous",
            tone_of(conversion_delta),
            note="orders ÷ sessions, channels with clickstream",
            card_id="kpi-conversion",
        ),
        kpi_card("Active promotions", count(active_promotions), note=promotions_note, card_id="kpi-promotions"),
        kpi_card(
            "Ingestion",
            f"{ingestion.events_per_s:,.0f}/s" if ingestion.live_consumers else "—",
            note=f"lag {ingestion.lag:,} · {ingestion.live_consumers} consumer(s)"
            if ingestion.live_consumers
            else "no consumer heartbeat",
            card_id="kpi-ingestion",
        ),
    ]


@callback(
    Output("overview-kpis", "children"),
    Output("overview-comparison", "figure"),
    Output("overview-alerts", "children"),
    Input("filters", "data"),
    Input("refresh", "n_intervals"),
)
@db_guarded
def render_overview(filters: dict | None, _: int | None) -> tuple[list[html.Div], object, object]:
    ctx = current()
    f = ctx.data.filters(filters)
    try:
        active, note = sum(p.active for p in ctx.promotions.promotions()), None
    except ServiceError as exc:
        active, note = None, f"{exc.service} unavailable"
    cards = kpi_cards(*ctx.data.compare_periods(f), ctx.data.ingestion(), active, note)
    figure = charts.period_comparison(ctx.data.sales_by_day_channel(f), ctx.data.previous_sales_by_day_channel(f), f)
    alerts = ctx.data.alerts(f, limit=8)
    items = [
        html.Li([html.Span(a.kind.replace("_", " "), className=f"badge badge-{a.kind}"), " ", a.message])
        for a in alerts.itertuples()
    ]
    return (
        cards,
        figure,
        html.Ul(items, className="alert-list")
        if items
        else html.P("No stock alerts in this period.", className="muted"),
    )
