"""Management reports from the same numbers as the pages, as HTML and CSV, on demand and scheduled."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from services.common import read_models
from services.dashboard.api_client import PromotionClient
from services.dashboard.reports import build_report, report_csv, report_filters, report_html
from services.dashboard.scheduler import due_periods, generate_due_reports
from tests.dashboard.conftest import DAY, insert_rollups, order_doc, rollup, seed_catalog

DOWN = PromotionClient("http://127.0.0.1:9", timeout_s=0.5)


def _seed(db) -> None:
    seed_catalog(db)
    insert_rollups(
        db,
        [
            rollup(DAY, "A1", revenue=3000, cost=1000),
            rollup(DAY - timedelta(days=7), "A1", revenue=2000, cost=1000),
            rollup(DAY, "B2", channel="store", revenue=1000, cost=500),
        ],
    )
    db[read_models.ORDERS].insert_many(
        [order_doc(DAY, ["A1"], revenue=3000), order_doc(DAY, ["B2"], channel="store", revenue=1000)]
    )


def test_weekly_report_has_headlines_movers_summary_and_says_promotions_are_unavailable(db, data) -> None:
    _seed(db)
    report = build_report(data, DOWN, "weekly", report_filters("weekly", DAY))
    assert (report.filters.start, report.filters.end) == (date(2026, 3, 4), DAY)
    headline = {h.metric: h for h in report.headlines}
    assert (headline["Revenue"].value, headline["Revenue"].previous, headline["Revenue"].change) == (
        "$40.00",
        "$20.00",
        "+100.0%",
    )
    assert (headline["Orders"].value, headline["Average order value"].value) == ("2", "$20.00")
    assert report.movers["sku"].tolist() == ["A1", "B2"]
    assert report.summary.startswith(
        "Revenue was $40.00 over the 7 days to 2026-03-10, up 100.0% on the previous 7 days, from 2 orders"
    )
    assert "Promotion results unavailable" in report.promotions_note

    page = report_html(report)
    assert (
        "<h1>Shelfcast weekly report — 2026-03-04 to 2026-03-10</h1>" in page
        and "$40.00" in page
        and "<script" not in page
    )
    rows = list(csv.reader(io.StringIO(report_csv(report))))
    assert rows[0] == ["section", "item", "field", "value"]
    assert ["headline", "Revenue", "value", "$40.00"] in rows and ["top_mover", "A1", "change", "$10.00"] in rows


def test_scheduled_run_writes_due_reports_once(db, data, tmp_path) -> None:
    _seed(db)
    monday = date(2026, 3, 16)
    assert due_periods(monday) == ["daily", "weekly"] and due_periods(date(2026, 4, 1)) == ["daily", "monthly"]
    written = generate_due_reports(data, DOWN, tmp_path, monday)
    assert sorted(p.name for p in written) == [
        "shelfcast-daily-2026-03-15.csv",
        "shelfcast-daily-2026-03-15.html",
        "shelfcast-weekly-2026-03-15.csv",
        "shelfcast-weekly-2026-03-15.html",
    ]
    assert generate_due_reports(data, DOWN, tmp_path, monday) == []
