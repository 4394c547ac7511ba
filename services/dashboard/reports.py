"""Management reports: headline numbers, top movers, alerts, promotion results and a written summary,
rendered as standalone HTML (to forward by mail) and CSV (to open in a spreadsheet).

Built from the same cached queries as the pages, so a report never disagrees with the dashboard.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from html import escape
from pathlib import Path
from typing import Literal

import pandas as pd

from services.dashboard.api_client import PromotionClient, ServiceError
from services.dashboard.data import DashboardData, PeriodNumbers
from services.dashboard.filters import Filters
from services.dashboard.formatting import change, count, money, percent, signed_percent, signed_points

Period = Literal["daily", "weekly", "monthly"]
PERIOD_DAYS: dict[str, int] = {"daily": 1, "weekly": 7, "monthly": 30}
MAX_PROMOTIONS = 10


@dataclass(frozen=True)
class Headline:
    metric: str
    value: str
    previous: str
    change: str


@dataclass(frozen=True)
class PromotionResult:
    promotion_id: str
    name: str
    lift: str
    lift_ci: str
    incremental_margin: str
    roi: str


@dataclass(frozen=True)
class ManagementReport:
    period: str
    filters: Filters
    generated_at: datetime
    headlines: list[Headline]
    movers: pd.DataFrame
    alerts: pd.DataFrame
    promotions: list[PromotionResult] = field(default_factory=list)
    promotions_note: str = ""
    summary: str = ""

    @property
    def title(self) -> str:
        f = self.filters
        span = f.end.isoformat() if f.days == 1 else f"{f.start.isoformat()} to {f.end.isoformat()}"
        return f"Shelfcast {self.period} report — {span}"

    @property
    def file_stem(self) -> str:
        return f"shelfcast-{self.period}-{self.filters.end.isoformat()}"


def report_filters(period: Period, end: date, base: Filters | None = None) -> Filters:
    """The report's days ending at ``end``, keeping any channel/region/category filter of ``base``."""
    start = end - timedelta(days=PERIOD_DAYS[period] - 1)
    return replace(base, start=start, end=end) if base else Filters(start, end)


def build_report(data: DashboardData, promotions: PromotionClient, period: Period, f: Filters) -> ManagementReport:
    now, before = data.compare_periods(f)
    movers = data.top_movers(f)
    alerts = data.alerts(f, limit=20)
    results, note = _promotion_results(promotions)
    headlines = _headlines(now, before)
    return ManagementReport(
        period,
        f,
        datetime.now(timezone.utc),
        headlines,
        movers,
        alerts,
        results,
        note,
        written_summary(period, f, now, before, movers, alerts, results),
    )


def _headlines(now: PeriodNumbers, before: PeriodNumbers) -> list[Headline]:
    return [
        Headline(
            "Revenue",
            money(now.revenue_cents),
            money(before.revenue_cents),
            signed_percent(change(now.revenue_cents, before.revenue_cents)),
        ),
        Headline("Orders", count(now.orders), count(before.orders), signed_percent(change(now.orders, before.orders))),
        Headline(
            "Average order value",
            money(now.aov_cents),
            money(before.aov_cents),
            signed_percent(change(now.aov_cents, before.aov_cents)),
        ),
        Headline("Units", count(now.units), count(before.units), signed_percent(change(now.units, before.units))),
        Headline(
            "Gross margin",
            percent(now.gross_margin),
            percent(before.gross_margin),
            signed_points(now.gross_margin, before.gross_margin),
        ),
        Headline(
            "Conversion (orders / sessions)",
            percent(now.conversion, 2),
            percent(before.conversion, 2),
            signed_points(now.conversion, before.conversion),
        ),
        Headline(
            "Refunds",
            money(now.refund_cents),
            money(before.refund_cents),
            signed_percent(change(now.refund_cents, before.refund_cents)),
        ),
    ]


def _promotion_results(client: PromotionClient) -> tuple[list[PromotionResult], str]:
    try:
        active = [p for p in client.promotions() if p.active][:MAX_PROMOTIONS]
    except ServiceError as exc:
        return [], f"Promotion results unavailable: {exc.reason}"
    results = []
    for promo in active:
        try:
            e = client.experiment(promo.promotion_id)
        except ServiceError as exc:
            results.append(PromotionResult(promo.promotion_id, promo.name, "—", exc.reason, "—", "—"))
            continue
        ci = f"[{e.lift_ci[0]:+.2%}, {e.lift_ci[1]:+.2%}]" if e.lift_ci else "—"
        results.append(
            PromotionResult(
                promo.promotion_id,
                promo.name,
                signed_percent(e.lift),
                ci,
                money(e.incremental_margin_cents),
                "—" if e.roi is None else f"{e.roi:.2f}",
            )
        )
    return results, "" if results else "No active promotions."


def written_summary(
    period: str,
    f: Filters,
    now: PeriodNumbers,
    before: PeriodNumbers,
    movers: pd.DataFrame,
    alerts: pd.DataFrame,
    promotions: list[PromotionResult],
) -> str:
    """A few plain sentences a manager can read without the tables."""
    span = "day" if f.days == 1 else f"{f.days} days"
    revenue_change = change(now.revenue_cents, before.revenue_cents)
    trend = (
        "flat on"
        if revenue_change is None or abs(revenue_change) < 0.005
        else ("up " if revenue_change > 0 else "down ") + f"{abs(revenue_change):.1%} on"
    )
    sentences = [
        f"Revenue was {money(now.revenue_cents)} over the {span} to {f.end.isoformat()}, {trend} the previous {span}, "
        f"from {count(now.orders)} orders (average order {money(now.aov_cents)})."
    ]
    if now.gross_margin is not None:
        sentences.append(
            f"Gross margin was {percent(now.gross_margin)} ({signed_points(now.gross_margin, before.gross_margin)})."
        )
    if not movers.empty:
        top = movers.iloc[0]
        if top["change_cents"] > 0:
            sentences.append(f"Biggest riser: {top['name'] or top['sku']} ({money(int(top['change_cents']))}).")
        fallers = movers[movers["change_cents"] < 0]
        if not fallers.empty:
            low = fallers.iloc[0]
            sentences.append(f"Biggest faller: {low['name'] or low['sku']} ({money(int(low['change_cents']))}).")
    if not alerts.empty:
        kinds = alerts["kind"].value_counts()
        sentences.append(
            f"{len(alerts)} stock alerts, of which {int(kinds.get('out_of_stock', 0))} out of stock and "
            f"{int(kinds.get('backorder', 0))} backorders."
        )
    else:
        sentences.append("No stock alerts.")
    if promotions:
        best = promotions[0]
        sentences.append(
            f"{len(promotions)} active promotions; {best.name}: lift {best.lift} {best.lift_ci}, incremental margin "
            f"{best.incremental_margin}."
        )
    return " ".join(sentences)


def report_html(report: ManagementReport) -> str:
    """A standalone page (inline style, no scripts) that survives being forwarded by mail."""

    def table(headers: list[str], rows: list[list[object]]) -> str:
        if not rows:
            return "<p><em>None.</em></p>"
        head = "".join(f"<th>{escape(h)}</th>" for h in headers)
        body = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>" for row in rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    style = (
        "body{font-family:system-ui,sans-serif;max-width:860px;margin:2em auto;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}"
        "th,td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left}"
        "th{background:#f3f5f8}.summary{background:#f7f9fc;border-left:4px solid #1f77b4;padding:.8em 1em}"
    )
    sections = [
        f"<h1>{escape(report.title)}</h1>",
        "<p>Generated "
        f"{escape(report.generated_at.strftime('%Y-%m-%d %H:%M UTC'))}{escape(_filter_note(report.filters))}</p>",
        f"<p class='summary'>{escape(report.summary)}</p>",
        "<h2>Headline numbers</h2>",
        table(
            ["Metric", "This period", "Previous period", "Change"],
            [[h.metric, h.value, h.previous, h.change] for h in report.headlines],
        ),
        "<h2>Top movers</h2>",
        table(["SKU", "Product", "Revenue", "Previous", "Change"], _mover_rows(report.movers)),
        "<h2>Stock alerts</h2>",
        table(["When", "Kind", "SKU", "Store", "On hand", "Message"], _alert_rows(report.alerts)),
        "<h2>Promotions</h2>",
        table(
            ["Promotion", "Lift", "95% CI", "Incremental margin", "ROI"],
            [[p.name, p.lift, p.lift_ci, p.incremental_margin, p.roi] for p in report.promotions],
        )
        if report.promotions
        else f"<p><em>{escape(report.promotions_note)}</em></p>",
    ]
    head = f"<meta charset='utf-8'><title>{escape(report.title)}</title><style>{style}</style>"
    return f"<!DOCTYPE html><html><head>{head}</head><body>{''.join(sections)}</body></html>"


def report_csv(report: ManagementReport) -> str:
    """One long table (section, item, field, value) so every part of the report fits one sheet."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "item", "field", "value"])
    writer.writerow(
        ["report", report.period, "period", f"{report.filters.start.isoformat()}..{report.filters.end.isoformat()}"]
    )
    writer.writerow(["summary", "", "text", report.summary])
    for h in report.headlines:
        writer.writerows(
            [
                ["headline", h.metric, "value", h.value],
                ["headline", h.metric, "previous", h.previous],
                ["headline", h.metric, "change", h.change],
            ]
        )
    for row in _mover_rows(report.movers):
        writer.writerows(
            [
                ["top_mover", row[0], name, value]
                for name, value in zip(["product", "revenue", "previous", "change"], row[1:])
            ]
        )
    for row in _alert_rows(report.alerts):
        writer.writerow(["alert", f"{row[2]}@{row[3]}", row[1], row[5]])
    for p in report.promotions:
        writer.writerows(
            [
                ["promotion", p.name, name, value]
                for name, value in (
                    ("lift", p.lift),
                    ("lift_ci", p.lift_ci),
                    ("incremental_margin", p.incremental_margin),
                    ("roi", p.roi),
                )
            ]
        )
    if report.promotions_note:
        writer.writerow(["promotion", "", "note", report.promotions_note])
    return out.getvalue()


def write_report(report: ManagementReport, directory: Path) -> list[Path]:
    """Write ``<stem>.html`` and ``<stem>.csv`` under ``directory``; returns both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    html_path, csv_path = directory / f"{report.file_stem}.html", directory / f"{report.file_stem}.csv"
    html_path.write_text(report_html(report), encoding="utf-8")
    csv_path.write_text(report_csv(report), encoding="utf-8")
    return [html_path, csv_path]


def _mover_rows(movers: pd.DataFrame) -> list[list[object]]:
    return [
        [m.sku, m.name or "", money(m.revenue_cents), money(m.revenue_cents_previous), money(m.change_cents)]
        for m in movers.itertuples()
    ]


def _alert_rows(alerts: pd.DataFrame) -> list[list[object]]:
    return [
        [pd.Timestamp(a.created_at).strftime("%Y-%m-%d %H:%M"), a.kind, a.sku, a.store_id, a.on_hand, a.message]
        for a in alerts.itertuples()
    ]


def _filter_note(f: Filters) -> str:
    parts = [
        f"{name}: {', '.join(values)}"
        for name, values in (("channels", f.channels), ("regions", f.regions), ("categories", f.categories))
        if values
    ]
    return f" — filtered to {'; '.join(parts)}" if parts else ""
