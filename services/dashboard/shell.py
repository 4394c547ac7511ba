"""The app shell around every page: header and navigation, the global filters, live refresh, banners.

Filters live in ``dcc.Store(id="filters")``, fed by controls that persist for the browser session
(so a reload keeps them); pages take the store, and the ``refresh`` interval, as inputs.
"""

from __future__ import annotations

from datetime import datetime, timezone

import dash
from dash import ALL, Dash, Input, Output, dcc, html
from pymongo.errors import PyMongoError

from services.dashboard.components import alert_banner, service_health
from services.dashboard.context import current
from services.dashboard.filters import CHANNELS, Filters
from services.dashboard.guard import DB_BANNER_ID


def layout() -> html.Div:
    """Built per page load so filter options and the default period follow the data."""
    ctx = current()
    try:
        catalog = ctx.data.catalog()
        default = ctx.data.filters(None)
        regions, categories, banner = catalog.regions, catalog.categories, None
    except PyMongoError as exc:
        default = Filters.from_store(None, datetime.now(timezone.utc).date())
        regions, categories, banner = [], [], alert_banner(f"Database unavailable: {exc}", "error")
    pages = sorted(dash.page_registry.values(), key=lambda p: p["order"])
    return html.Div(
        className="shell",
        children=[
            html.Header(
                className="topbar",
                children=[
                    html.Div(
                        [
                            html.Span("Shelfcast", className="brand"),
                            html.Span(id="service-health"),
                            html.Span(id="live-status", className="live-status"),
                        ],
                        className="topbar-row",
                    ),
                    html.Nav(
                        [
                            dcc.Link(
                                p["name"],
                                href=p["relative_path"],
                                id={"type": "nav", "path": p["relative_path"]},
                                className="nav-link",
                            )
                            for p in pages
                        ],
                        className="nav",
                    ),
                ],
            ),
            html.Details(
                open=True,
                className="filters",
                children=[
                    html.Summary("Filters"),
                    html.Div(
                        className="filter-grid",
                        children=[
                            html.Div(
                                [
                                    html.Label("Period", htmlFor="f-dates"),
                                    dcc.DatePickerRange(
                                        id="f-dates",
                                        start_date=default.start,
                                        end_date=default.end,
                                        display_format="YYYY-MM-DD",
                                        first_day_of_week=1,
                                        minimum_nights=0,
                                        persistence=True,
                                        persistence_type="session",
                                    ),
                                ],
                                className="filter",
                            ),
                            _multi("f-channels", "Channel", list(CHANNELS), "All channels"),
                            _multi("f-regions", "Region", regions, "All regions"),
                            _multi("f-categories", "Category", categories, "All categories"),
                        ],
                    ),
                ],
            ),
            dcc.Store(id="filters", data=default.to_store()),
            dcc.Interval(id="refresh", interval=ctx.config.refresh_ms),
            dcc.Location(id="url"),
            html.Div(banner, id=DB_BANNER_ID),
            html.Main(dash.page_container, className="content"),
        ],
    )


def _multi(component_id: str, label: str, options: list[str], placeholder: str) -> html.Div:
    return html.Div(
        [
            html.Label(label, htmlFor=component_id),
            dcc.Dropdown(
                id=component_id,
                options=options,
                multi=True,
                placeholder=placeholder,
                persistence=True,
                persistence_type="session",
            ),
        ],
        className="filter",
    )


def service_health_indicator(_: int | None) -> html.Span | None:
    """Services down or restarting under ``shelfcast up``, refreshed with the clock; nothing if MongoDB is down (the
    live status says so)."""
    try:
        return service_health(current().data.service_states())
    except PyMongoError:
        return None


def register_callbacks(app: Dash) -> None:
    """Shell callbacks belong to the app (not to a page), so they are registered on it directly."""

    app.callback(Output("service-health", "children"), Input("refresh", "n_intervals"))(service_health_indicator)

    @app.callback(
        Output("filters", "data"),
        Input("f-dates", "start_date"),
        Input("f-dates", "end_date"),
        Input("f-channels", "value"),
        Input("f-regions", "value"),
        Input("f-categories", "value"),
    )
    def update_filters(
        start: str | None,
        end: str | None,
        channels: list[str] | None,
        regions: list[str] | None,
        categories: list[str] | None,
    ) -> dict:
        return {
            "start": start,
            "end": end,
            "channels": channels or [],
            "regions": regions or [],
            "categories": categories or [],
        }

    @app.callback(
        Output({"type": "nav", "path": ALL}, "className"),
        Input("url", "pathname"),
        Input({"type": "nav", "path": ALL}, "href"),
    )
    def highlight_nav(pathname: str | None, hrefs: list[str]) -> list[str]:
        return ["nav-link active" if href == (pathname or "/") else "nav-link" for href in hrefs]

    @app.callback(
        Output("live-status", "children"),
        Output(DB_BANNER_ID, "children", allow_duplicate=True),
        Input("refresh", "n_intervals"),
        prevent_initial_call="initial_duplicate",
    )
    def live_status(_: int | None) -> tuple[str, object]:
        """The clock and the consumers' heartbeat; also clears the database banner once MongoDB answers again."""
        now = datetime.now(timezone.utc).strftime("%H:%M:%S UTC")
        try:
            ingestion = current().data.ingestion()
        except PyMongoError as exc:
            return f"updated {now}", alert_banner(f"Database unavailable: {exc}", "error")
        feed = (
            f"{ingestion.events_per_s:,.0f} events/s · lag {ingestion.lag:,}"
            if ingestion.live_consumers
            else "no consumer heartbeat"
        )
        return f"updated {now} · {feed}", None
