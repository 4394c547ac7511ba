"""Building blocks every page shares: KPI cards, banners, panels, graphs and tables that look alike."""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd
import plotly.graph_objects as go
from dash import dash_table, dcc, html

from services.dashboard.api_client import RequestRejected, ServiceError
from services.dashboard.data import ServiceState

Tone = Literal["up", "down", "flat"]
GRAPH_CONFIG = {"displayModeBar": False, "responsive": True}
STATUS_COLOURS = {"ok": "#2e7d32", "low": "#f9a825", "out": "#c62828"}


def kpi_card(
    title: str,
    value: str,
    delta: str | None = None,
    tone: Tone = "flat",
    note: str | None = None,
    card_id: str | None = None,
) -> html.Div:
    """One headline number with its change vs the previous period; ``tone`` colours the change (good/bad)."""
    children: list[Any] = [html.Div(title, className="kpi-title"), html.Div(value, className="kpi-value")]
    if delta is not None:
        children.append(html.Div(delta, className=f"kpi-delta kpi-{tone}"))
    if note:
        children.append(html.Div(note, className="kpi-note"))
    return html.Div(children, className="kpi-card", **({"id": card_id} if card_id else {}))


def tone_of(change: float | None, higher_is_better: bool = True) -> Tone:
    if change is None or abs(change) < 1e-9:
        return "flat"
    return "up" if (change > 0) == higher_is_better else "down"


def alert_banner(message: str, level: Literal["info", "warning", "error"] = "warning") -> html.Div:
    return html.Div(message, className=f"banner banner-{level}", role="alert")


def service_health(states: list[ServiceState]) -> html.Span | None:
    """The header's word on the services ``shelfcast up`` supervises: nothing when no supervisor reports, a quiet
    "all N services up" (with the restarts so far), or the services down or restarting, in red, so a crash that
    the supervisor healed or could not heal is seen where people look."""
    if not states:
        return None
    several_hosts = len({s.host for s in states}) > 1
    restarts = sum(s.restarts for s in states)
    troubled = [s for s in states if s.state != "up"]
    if not troubled:
        note = f" · {restarts} restart{'' if restarts == 1 else 's'}" if restarts else ""
        return html.Span(f"all {len(states)} services up{note}", className="service-health service-health-ok")
    words = [
        f"{s.service}{f'@{s.host}' if several_hosts else ''} {s.state}"
        + (f" ({s.restarts} restart{'' if s.restarts == 1 else 's'})" if s.restarts else "")
        for s in troubled
    ]
    return html.Span("⚠ " + ", ".join(words), className="service-health service-health-down", role="status")


def service_banner(error: ServiceError) -> html.Div:
    """What a panel shows instead of its chart when an API call failed; the rest of the page carries on."""
    if isinstance(error, RequestRejected):
        return alert_banner(f"{error.service} refused the request: {error.reason}", "info")
    return alert_banner(f"{error.service} unavailable: {error.reason}", "error")


def panel(title: str, *children: Any, wide: bool = False, panel_id: str | None = None) -> html.Section:
    """A titled card in the page grid; ``wide`` spans the full row on large screens."""
    return html.Section(
        [html.H3(title), *children],
        className="panel panel-wide" if wide else "panel",
        **({"id": panel_id} if panel_id else {}),
    )


def graph(graph_id: str, height: int = 340) -> dcc.Loading:
    """An empty graph a callback fills; fixed height so the page does not jump while loading."""
    return dcc.Loading(
        dcc.Graph(id=graph_id, config=GRAPH_CONFIG, style={"height": f"{height}px"}, figure=empty_figure()),
        type="dot",
        delay_show=400,
    )


def empty_figure(message: str = "") -> go.Figure:
    """A blank figure that says why it is blank (no data, service down) instead of drawing empty axes."""
    fig = go.Figure()
    fig.update_layout(
        template="plotly_white",
        margin=dict(l=10, r=10, t=10, b=10),
        xaxis_visible=False,
        yaxis_visible=False,
        annotations=[dict(text=message, showarrow=False, font=dict(size=14, color="#666"))] if message else [],
    )
    return fig


def style_figure(fig: go.Figure, legend: bool = True) -> go.Figure:
    """One look for every chart: white template, tight margins, legend on top so it never squeezes the plot on
    phones."""
    fig.update_layout(
        template="plotly_white",
        margin=dict(l=10, r=10, t=30, b=10),
        font=dict(size=12),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0, title_text=""),
        showlegend=legend,
    )
    return fig


def table(table_id: str, columns: list[dict[str, Any]], page_size: int = 15, **kwargs: Any) -> dash_table.DataTable:
    """A sortable, filterable table; ``columns`` as DataTable expects (``type="numeric"`` and a ``format`` for
    numbers)."""
    options: dict[str, Any] = {"sort_action": "native", "filter_action": "native"} | kwargs
    return dash_table.DataTable(
        id=table_id,
        columns=columns,
        data=[],
        page_size=page_size,
        style_table={"overflowX": "auto"},
        style_cell={"fontFamily": "inherit", "fontSize": 13, "padding": "4px 8px", "textAlign": "left"},
        style_header={"fontWeight": "600", "backgroundColor": "#f3f5f8"},
        **options,
    )


def money_column(column_id: str, name: str) -> dict[str, Any]:
    """A DataTable column holding currency units (cents / 100), formatted like money and sorted as a number."""
    return {"id": column_id, "name": name, "type": "numeric", "format": dash_table.FormatTemplate.money(2)}


def number_column(column_id: str, name: str, decimals: int = 0) -> dict[str, Any]:
    return {
        "id": column_id,
        "name": name,
        "type": "numeric",
        "format": dash_table.Format.Format(
            precision=decimals, scheme=dash_table.Format.Scheme.fixed, group=dash_table.Format.Group.yes
        ),
    }


def percent_column(column_id: str, name: str) -> dict[str, Any]:
    return {"id": column_id, "name": name, "type": "numeric", "format": dash_table.FormatTemplate.percentage(1)}


def field_error(error_id: str) -> html.Div:
    """The message slot next to a form field."""
    return html.Div(id=error_id, className="field-error", role="status")


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """DataTable rows with missing values as None (NaN is not valid JSON)."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")
