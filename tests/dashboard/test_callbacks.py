"""Page callbacks called as functions inside the app's request context, over hand-made documents.

The session's single app keeps its API clients pointed at a closed port, so these also pin what every
panel shows when the forecast service and the promotion engine are down.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import timedelta
from types import ModuleType

import plotly.graph_objects as go
import pytest

from services.common import read_models
from services.dashboard.context import EXTENSION, DashboardContext
from services.dashboard.data import DashboardData
from tests.dashboard.conftest import DAY, insert_rollups, order_doc, rollup, seed_catalog

WEEK = {"start": (DAY - timedelta(days=6)).isoformat(), "end": DAY.isoformat()}


def page(name: str) -> ModuleType:
    return importlib.import_module(f"services.dashboard.pages.{name}")


def text(component: object) -> str:
    """All text in a component tree, for asserting on what the user reads."""
    if component is None:
        return ""
    if isinstance(component, (str, int, float)):
        return str(component)
    if isinstance(component, (list, tuple)):
        return " ".join(text(c) for c in component)
    return text(getattr(component, "children", None))


def card(cards: list, card_id: str) -> str:
    return next(text(c) for c in cards if getattr(c, "id", None) == card_id)


@pytest.fixture
def context(dashboard_app, db) -> Iterator[DashboardContext]:
    """The app's context with its data layer pointed at this test's database (uncached)."""
    ctx: DashboardContext = dashboard_app.server.extensions[EXTENSION]
    original = ctx.data
    ctx.data = DashboardData(db, ttl_s=0)
    try:
        with dashboard_app.server.test_request_context("/"):
            yield ctx
    finally:
        ctx.data = original


def test_overview_kpis_show_rollup_revenue_with_delta_and_say_the_engine_is_down(context, db) -> None:
    seed_catalog(db)
    insert_rollups(
        db,
        [
            rollup(DAY, "A1", revenue=6000, cost=3000),
            rollup(DAY, "B2", channel="store", revenue=3000, cost=1000),
            rollup(DAY - timedelta(days=7), "A1", revenue=6000, cost=3000),
        ],
    )
    db[read_models.ORDERS].insert_many(
        [order_doc(DAY, ["A1"], revenue=6000), order_doc(DAY, ["B2"], channel="store", revenue=3000)]
    )
    cards, figure, alerts = page("overview").render_overview(WEEK, 0)
    assert card(cards, "kpi-revenue") == "Revenue $90.00 +50.0% vs previous"
    assert card(cards, "kpi-orders").startswith("Orders 2 ")
    assert card(cards, "kpi-aov").startswith("Average order value $45.00")
    assert card(cards, "kpi-margin") == "Gross margin 55.6% +5.6 pp vs previous"
    assert "Promotion engine unavailable" in card(cards, "kpi-promotions")
    assert [trace.name for trace in figure.data] == ["previous period", "this period"]
    assert "No stock alerts" in text(alerts)


def test_bestsellers_rows_are_currency_units_sorted_by_revenue(context, db) -> None:
    seed_catalog(db)
    insert_rollups(
        db, [rollup(DAY, "A1", units=2, revenue=2000, cost=1200), rollup(DAY, "B2", units=1, revenue=2500, cost=1000)]
    )
    rows = page("sales").render_bestsellers(WEEK, 0)
    assert [(r["sku"], r["name"], r["revenue"], r["profit"], r["margin"]) for r in rows] == [
        ("B2", "Bowls", 25.0, 15.0, 0.6),
        ("A1", "Apples", 20.0, 8.0, 0.4),
    ]


def test_api_panels_show_banners_when_the_services_are_down(context, db) -> None:
    seed_catalog(db)
    rows, banner = page("inventory").render_reorder(WEEK, 0)
    assert rows == [] and text(banner).startswith("Forecast service unavailable: ConnectError")
    figure, banner, points = page("forecasts").render_forecast("A1", "s1", 28, WEEK, 0)
    assert (
        "Forecast service unavailable" in text(banner)
        and [t.name for t in figure.data] == ["history (units)"]
        and points == []
    )
    table, _, banner, _, _ = page("promotions").render_promotions(WEEK, 0, None)
    assert table == [] and text(banner).startswith("Promotion engine unavailable")
    assert text(page("sales_entry").run_what_if(1, "A1", "s1", "price_change_pct", -10, 28)[0]).startswith(
        "Forecast service unavailable"
    )


def test_every_panel_renders_on_an_empty_database(context) -> None:
    """A fresh deployment shows empty charts with a reason, never a traceback."""
    outputs = [
        page("overview").render_overview(None, 0),
        page("sales").render_trend(None, 0, "week", "revenue"),
        page("sales").render_categories(None, 0),
        page("sales").render_stores(None, 0),
        page("sales").render_discounts(None, 0),
        page("sales").render_segments(None, 0),
        page("sales").render_bestsellers(None, 0),
        page("inventory").render_stock(None, 0),
        page("inventory").render_alerts(None, 0),
        page("promotions").render_recorded(None, 0),
        page("promotions").render_qini(0),
        page("forecasts").render_accuracy(0),
        page("baskets").render_baskets(None, 0, 2),
        page("promotions").render_experiment(None, 0),
    ]
    figures = [o for out in outputs for o in (out if isinstance(out, tuple) else (out,)) if isinstance(o, go.Figure)]
    assert len(figures) >= 10


def test_sale_form_puts_each_message_next_to_its_field(context, db) -> None:
    seed_catalog(db)
    result, sku, quantity, store_id, channel = page("sales_entry").publish_sale(1, None, 0, "s1", "online")
    assert "correct the highlighted fields" in text(result)
    assert (sku, quantity, store_id, channel) == (
        "Choose a product.",
        "Quantity must be between 1 and 10,000.",
        None,
        None,
    )


def test_report_page_generates_html_and_csv_on_demand(context, db) -> None:
    seed_catalog(db)
    insert_rollups(db, [rollup(DAY, "A1", revenue=4200, cost=2000)])
    stored, preview, html_disabled, csv_disabled = page("reports").generate(1, "daily", WEEK)
    assert stored["stem"] == "shelfcast-daily-2026-03-10" and preview == stored["html"] and "$42.00" in preview
    assert stored["csv"].startswith("section,item,field,value") and not html_disabled and not csv_disabled
