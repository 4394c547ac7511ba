"""Reports: a daily, weekly or monthly management summary generated on demand, previewed, and
downloadable as HTML and CSV; scheduled copies are written by ``services.dashboard.scheduler``."""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html

from services.dashboard.context import current
from services.dashboard.guard import db_guarded
from services.dashboard.reports import build_report, report_csv, report_filters, report_html

dash.register_page(__name__, path="/reports", name="Reports", order=6, title="Shelfcast — Reports")
PLACEHOLDER = (
    "<p style='font-family:system-ui,sans-serif;color:#616e7c'>Choose a period and press <b>Generate report</b>"
    " to preview it here.</p>"
)


def layout(**_: object) -> html.Div:
    return html.Div(
        [
            html.H2("Reports"),
            html.Div(
                className="controls",
                children=[
                    dcc.RadioItems(
                        id="report-period",
                        options=[{"label": p.title(), "value": p} for p in ("daily", "weekly", "monthly")],
                        value="weekly",
                        inline=True,
                    ),
                    html.Button("Generate report", id="report-generate", className="button"),
                    html.Button(
                        "Download HTML", id="report-download-html", className="button secondary", disabled=True
                    ),
                    html.Button("Download CSV", id="report-download-csv", className="button secondary", disabled=True),
                ],
            ),
            html.P(
                "The period ends on the last day of the selected date range; channel, region and category filters "
                "apply.",
                className="muted",
            ),
            dcc.Store(id="report-store"),
            dcc.Download(id="report-download"),
            html.P(id="report-scheduled", className="muted"),
            dcc.Loading(
                html.Iframe(
                    id="report-preview", className="report-preview", title="report preview", srcDoc=PLACEHOLDER
                ),
                type="dot",
            ),
        ]
    )


@callback(
    Output("report-store", "data"),
    Output("report-preview", "srcDoc"),
    Output("report-download-html", "disabled"),
    Output("report-download-csv", "disabled"),
    Input("report-generate", "n_clicks"),
    State("report-period", "value"),
    State("filters", "data"),
    prevent_initial_call=True,
)
@db_guarded
def generate(_: int, period: str, filters: dict | None) -> tuple[dict, str, bool, bool]:
    ctx = current()
    f = report_filters(period, ctx.data.filters(filters).end, ctx.data.filters(filters))  # type: ignore[arg-type]
    report = build_report(ctx.data, ctx.promotions, period, f)  # type: ignore[arg-type]
    html_text = report_html(report)
    return {"stem": report.file_stem, "html": html_text, "csv": report_csv(report)}, html_text, False, False


@callback(
    Output("report-download", "data"),
    Input("report-download-html", "n_clicks"),
    Input("report-download-csv", "n_clicks"),
    State("report-store", "data"),
    prevent_initial_call=True,
)
def download(_html: int | None, _csv: int | None, stored: dict | None) -> dict | None:
    if not stored:
        return None
    kind = "csv" if dash.ctx.triggered_id == "report-download-csv" else "html"
    return dcc.send_string(stored[kind], f"{stored['stem']}.{kind}")


@callback(Output("report-scheduled", "children"), Input("refresh", "n_intervals"))
def list_scheduled(_: int | None) -> str:
    ctx = current()
    directory = ctx.reports_dir
    files = sorted(directory.glob("*.html"), reverse=True)[:10] if directory.is_dir() else []
    every = f"every {ctx.config.report_interval_s / 3600:g} h" if ctx.config.report_interval_s else "disabled"
    listed = ", ".join(p.stem for p in files) or "none yet"
    return f"Scheduled reports ({every}) in {directory}: {listed}"
