"""Figures built from the frames ``data.py`` returns: pure functions, so pages stay thin and charts testable.

Money arrives in cents and is drawn in currency units with a currency tick prefix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from services.dashboard.api_client import Experiment, ForecastPoint, Promotion, QiniPoint
from services.dashboard.components import STATUS_COLOURS, empty_figure, style_figure
from services.dashboard.filters import Filters
from services.dashboard.formatting import CURRENCY

Grain = Literal["day", "week", "month"]
Metric = Literal["revenue", "units", "profit"]
FREQ = {"day": "D", "week": "W-MON", "month": "MS"}
CHANNEL_COLOURS = {"online": "#1f77b4", "store": "#2ca02c", "marketplace": "#ff7f0e"}
MONEY_AXIS = dict(tickprefix=CURRENCY, tickformat=",.0f")
NO_DATA = "No sales match the filters in this period"


def _metric_values(frame: pd.DataFrame, metric: Metric) -> pd.Series:
    if metric == "units":
        return frame["units"]
    cents = frame["revenue_cents"] - frame["cost_cents"] if metric == "profit" else frame["revenue_cents"]
    return cents / 100


def resample_sales(frame: pd.DataFrame, grain: Grain, f: Filters) -> pd.DataFrame:
    """Day × channel rows, zero-filled over the period (a day without sales is a zero, not a gap to
    interpolate over), then summed into weeks (starting Monday) or calendar months."""
    if frame.empty:
        return frame
    full = pd.MultiIndex.from_product(
        [pd.date_range(f.start, f.end, freq="D"), sorted(frame["channel"].unique())], names=["date", "channel"]
    )
    frame = frame.set_index(["date", "channel"]).reindex(full, fill_value=0).reset_index()
    if grain == "day":
        return frame
    grouper = pd.Grouper(key="date", freq=FREQ[grain], label="left", closed="left")
    return frame.groupby([grouper, "channel"]).sum(numeric_only=True).reset_index()


def sales_trend(frame: pd.DataFrame, grain: Grain, metric: Metric, f: Filters) -> go.Figure:
    """Stacked by channel, with the consolidated total as a line on top: split and total in one view."""
    if frame.empty:
        return empty_figure(NO_DATA)
    frame = resample_sales(frame, grain, f).assign(value=lambda rows: _metric_values(rows, metric))
    fig = px.area(frame, x="date", y="value", color="channel", color_discrete_map=CHANNEL_COLOURS)
    total = frame.groupby("date", as_index=False)["value"].sum()
    fig.add_scatter(
        x=total["date"], y=total["value"], name="total", mode="lines+markers", line=dict(color="#222", width=2)
    )
    fig.update_layout(xaxis_title=None, yaxis_title=metric, hovermode="x unified")
    if metric != "units":
        fig.update_yaxes(**MONEY_AXIS)
    return style_figure(fig)


def period_comparison(current: pd.DataFrame, previous: pd.DataFrame, f: Filters) -> go.Figure:
    """Daily revenue of this period over the previous one, aligned by day of period; days without sales count as
    zero."""
    if current.empty and previous.empty:
        return empty_figure(NO_DATA)
    fig = go.Figure()
    for frame, period, name, style in (
        (previous, f.previous(), "previous period", dict(color="#9aa5b1", dash="dot")),
        (current, f, "this period", dict(color="#1f77b4", width=3)),
    ):
        days = pd.date_range(period.start, period.end, freq="D")
        daily = frame.groupby("date")["revenue_cents"].sum().reindex(days, fill_value=0)
        fig.add_scatter(
            x=list(range(1, len(days) + 1)),
            y=daily.to_numpy() / 100,
            name=name,
            mode="lines",
            line=style,
            customdata=days.strftime("%Y-%m-%d"),
            hovertemplate="%{customdata}: %{y:$,.2f}<extra></extra>",
        )
    fig.update_xaxes(title="day of period")
    fig.update_yaxes(**MONEY_AXIS)
    return style_figure(fig)


def category_treemap(frame: pd.DataFrame) -> go.Figure:
    """Revenue by category and sub-category; colour is gross margin so big-but-thin categories stand out."""
    frame = frame[frame["revenue_cents"] > 0].fillna({"category": "unknown", "sub_category": "unknown"})
    if frame.empty:
        return empty_figure(NO_DATA)
    frame = frame.assign(
        revenue=frame["revenue_cents"] / 100,
        margin=(frame["revenue_cents"] - frame["cost_cents"]) / frame["revenue_cents"],
    )
    fig = px.treemap(
        frame,
        path=[px.Constant("all"), "category", "sub_category"],
        values="revenue",
        color="margin",
        color_continuous_scale="RdYlGn",
        range_color=[-0.2, 0.6],
    )
    fig.update_traces(
        texttemplate="%{label}<br>%{value:$,.0f}",
        hovertemplate="%{label}<br>revenue %{value:$,.2f}<br>margin %{color:.1%}<extra></extra>",
    )
    fig.update_layout(coloraxis_colorbar=dict(title="margin", tickformat=".0%", thickness=10))
    return style_figure(fig)


def store_map(frame: pd.DataFrame) -> go.Figure:
    """Stores at their coordinates, sized by revenue. Plain lat/lon axes, no basemap: plotly's geo basemap
    needs topojson from a CDN, which an offline deployment cannot reach (checked: it fails to render)."""
    frame = frame.dropna(subset=["latitude", "longitude"])
    if frame.empty:
        return empty_figure("No store sales (or no store coordinates) for these filters")
    frame = frame.assign(revenue=frame["revenue_cents"].clip(lower=0) / 100)
    fig = px.scatter(
        frame,
        x="longitude",
        y="latitude",
        size="revenue",
        color="region",
        hover_name="name",
        size_max=40,
        hover_data={"revenue": ":$,.2f", "units": ":,", "longitude": False, "latitude": False, "region": True},
    )
    fig.update_yaxes(scaleanchor="x", scaleratio=1.3, title="latitude")
    fig.update_xaxes(title="longitude")
    return style_figure(fig)


def discount_profit(frame: pd.DataFrame) -> go.Figure:
    """Profit per discount band, red where the band loses money."""
    if frame.empty or frame["revenue_cents"].sum() == 0:
        return empty_figure(NO_DATA)
    profit = frame["profit_cents"] / 100
    margin = (frame["profit_cents"] / frame["revenue_cents"].where(frame["revenue_cents"] != 0)).fillna(0)
    fig = go.Figure(
        go.Bar(
            x=frame["band"].astype(str),
            y=profit,
            marker_color=["#c62828" if p < 0 else "#2e7d32" for p in profit],
            customdata=margin,
            text=[f"{m:.0%}" for m in margin],
            textposition="outside",
            hovertemplate="%{x}<br>profit %{y:$,.2f}<br>margin %{customdata:.1%}<extra></extra>",
        )
    )
    fig.update_yaxes(**MONEY_AXIS, title="gross profit")
    fig.update_xaxes(title="discount off list price")
    return style_figure(fig, legend=False)


def segment_bars(frame: pd.DataFrame) -> go.Figure:
    """Revenue by region, split by channel (the segments the data carries)."""
    if frame.empty:
        return empty_figure(NO_DATA)
    frame = frame.fillna({"region": "unknown"}).assign(revenue=frame["revenue_cents"] / 100)
    fig = px.bar(
        frame.sort_values("region"),
        x="region",
        y="revenue",
        color="channel",
        barmode="group",
        color_discrete_map=CHANNEL_COLOURS,
        hover_data={"units": ":,"},
    )
    fig.update_yaxes(**MONEY_AXIS, title=None)
    fig.update_xaxes(title=None)
    return style_figure(fig)


def stock_heatmap(frame: pd.DataFrame, max_skus: int = 20) -> go.Figure:
    """SKU × store grid coloured ok/low/out for the SKUs in most trouble (most stores out, then low, then least
    stock)."""
    if frame.empty:
        return empty_figure("No stock records for these filters")
    trouble = (
        frame.assign(out=frame["status"].eq("out"), low=frame["status"].eq("low"))
        .groupby("sku")[["out", "low", "on_hand"]]
        .agg({"out": "sum", "low": "sum", "on_hand": "sum"})
    )
    worst = trouble.sort_values(["out", "low", "on_hand"], ascending=[False, False, True]).index[:max_skus]
    subset = frame[frame["sku"].isin(worst)]
    level = {"out": 0, "low": 1, "ok": 2}
    grid = subset.pivot_table(index="sku", columns="store_id", values="status", aggfunc="first").reindex(
        list(worst)[::-1]
    )
    on_hand = subset.pivot_table(index="sku", columns="store_id", values="on_hand", aggfunc="first").reindex(
        grid.index
    )[grid.columns]
    on_hand = on_hand.astype(object).where(on_hand.notna(), "")  # no stock record for that SKU in that store
    z = grid.apply(lambda col: col.map(level))
    scale = [
        [0, STATUS_COLOURS["out"]],
        [0.33, STATUS_COLOURS["out"]],
        [0.34, STATUS_COLOURS["low"]],
        [0.66, STATUS_COLOURS["low"]],
        [0.67, STATUS_COLOURS["ok"]],
        [1, STATUS_COLOURS["ok"]],
    ]
    fig = go.Figure(
        go.Heatmap(
            z=z.values,
            x=list(grid.columns),
            y=list(grid.index),
            zmin=0,
            zmax=2,
            colorscale=scale,
            showscale=False,
            text=on_hand.values,
            texttemplate="%{text}",
            customdata=grid.values,
            xgap=2,
            ygap=2,
            hovertemplate="%{y} @ %{x}: %{text} on hand (%{customdata})<extra></extra>",
        )
    )
    fig.update_xaxes(side="top", type="category")
    fig.update_yaxes(type="category")
    return style_figure(fig, legend=False)


def forecast_chart(history: pd.DataFrame, points: Sequence[ForecastPoint]) -> go.Figure:
    """Recent daily units, then the forecast median with its p10–p90 band."""
    fig = go.Figure()
    fig.add_scatter(
        x=history["date"], y=history["units"], name="history (units)", mode="lines", line=dict(color="#444")
    )
    if points:
        dates = [p.date for p in points]
        fig.add_scatter(
            x=dates + dates[::-1],
            y=[p.p90 for p in points] + [p.p10 for p in points][::-1],
            fill="toself",
            fillcolor="rgba(31,119,180,0.2)",
            line=dict(width=0),
            name="p10–p90",
            hoverinfo="skip",
        )
        fig.add_scatter(
            x=dates, y=[p.p50 for p in points], name="forecast (p50)", mode="lines", line=dict(color="#1f77b4", width=3)
        )
    fig.update_layout(hovermode="x unified")
    return style_figure(fig)


def accuracy_bars(metrics: dict[str, float | None]) -> go.Figure:
    """Backtest error of the model next to the seasonal-naive baseline, per metric (lower is better)."""
    names = [m for m in ("smape", "wape", "mase", "mae", "rmse") if metrics.get(m) is not None]
    if not names:
        return empty_figure("The active model reports no backtest metrics")
    fig = go.Figure()
    fig.add_bar(x=names, y=[metrics[m] for m in names], name="model", marker_color="#1f77b4")
    fig.add_bar(
        x=names, y=[metrics.get(f"baseline_{m}") for m in names], name="seasonal-naive baseline", marker_color="#9aa5b1"
    )
    fig.update_layout(barmode="group")
    return style_figure(fig)


def budget_burn(promotions: Sequence[Promotion]) -> go.Figure:
    """Spent vs budget per promotion."""
    rows = [p for p in promotions if p.budget_cents]
    if not rows:
        return empty_figure("No promotion has a budget")
    names = [p.name for p in rows]
    fig = go.Figure()
    fig.add_bar(y=names, x=[p.budget_cents / 100 for p in rows], name="budget", orientation="h", marker_color="#d5dbe3")
    fig.add_bar(
        y=names,
        x=[(p.spent_cents or 0) / 100 for p in rows],
        name="spent",
        orientation="h",
        marker_color="#ff7f0e",
        text=[f"{(p.spent_cents or 0) / p.budget_cents:.0%}" for p in rows],
        textposition="auto",
    )  # type: ignore[operator]
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(**MONEY_AXIS)
    return style_figure(fig)


def arms_chart(experiment: Experiment) -> go.Figure:
    """Conversion of treatment vs control, with each arm's size."""
    arms = [("control", experiment.control), ("treatment", experiment.treatment)]
    fig = go.Figure(
        go.Bar(
            x=[a for a, _ in arms],
            y=[r.conversion for _, r in arms],
            marker_color=["#9aa5b1", "#1f77b4"],
            text=[f"{r.conversion:.1%} of {r.n:,}" for _, r in arms],
            textposition="auto",
        )
    )
    fig.update_yaxes(tickformat=".0%", title="conversion")
    return style_figure(fig, legend=False)


def qini_chart(curve: Sequence[QiniPoint]) -> go.Figure:
    """Cumulative incremental responders when targeting by model score vs at random."""
    if not curve:
        return empty_figure("The active uplift model has no Qini curve")
    fig = go.Figure()
    fig.add_scatter(
        x=[p.x for p in curve],
        y=[p.model for p in curve],
        name="uplift model",
        mode="lines",
        line=dict(color="#1f77b4", width=3),
    )
    fig.add_scatter(
        x=[p.x for p in curve],
        y=[p.random for p in curve],
        name="random targeting",
        mode="lines",
        line=dict(color="#9aa5b1", dash="dash"),
    )
    fig.update_xaxes(title="share of customers targeted")
    fig.update_yaxes(title="incremental responders")
    return style_figure(fig)


def basket_chart(rules: pd.DataFrame, top: int = 12) -> go.Figure:
    """Strongest pairs by lift (one direction per pair)."""
    if rules.empty:
        return empty_figure("No product pair was bought together often enough")
    pairs = rules.assign(pair=[" + ".join(sorted((a, b))) for a, b in zip(rules["antecedent"], rules["consequent"])])
    pairs = pairs.drop_duplicates("pair").head(top).iloc[::-1]
    fig = go.Figure(
        go.Bar(
            y=pairs["pair"],
            x=pairs["lift"],
            orientation="h",
            marker_color="#6a3d9a",
            customdata=pairs[["pair_orders", "support"]],
            hovertemplate="%{y}<br>lift %{x:.2f}<br>%{customdata[0]} orders (support "
            "%{customdata[1]:.2%})<extra></extra>",
        )
    )
    fig.update_xaxes(title="lift")
    return style_figure(fig, legend=False)
