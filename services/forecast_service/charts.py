"""PNG bar charts of the seed API (profit per item, units sold per item), rendered with Agg.

Figures are built with matplotlib's object API (``Figure`` + Agg canvas), not ``pyplot``: no global
figure state, so concurrent requests in the thread pool cannot draw into each other's charts.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def bar_chart_png(labels: list[str], values: list[float], title: str, ylabel: str, color: str = "#2b6cb0") -> bytes:
    """A horizontal-label bar chart as PNG bytes; an empty chart says there is no data."""
    width = max(6.0, min(16.0, 0.45 * len(labels) + 2))
    figure = Figure(figsize=(width, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    if labels:
        colors = [color if v >= 0 else "#c53030" for v in values]
        axes.bar(range(len(labels)), values, color=colors)
        axes.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
        axes.axhline(0, color="#444444", linewidth=0.8)
    else:
        axes.text(0.5, 0.5, "no sales recorded yet", ha="center", va="center", transform=axes.transAxes)
        axes.set_xticks([])
    axes.set_title(title)
    axes.set_ylabel(ylabel)
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def profit_by_item_png(totals: pd.DataFrame, top: int, store_id: str | None = None) -> bytes:
    """Profit (revenue − cost, currency units) of the ``top`` items by profit."""
    ranked = totals.sort_values(["profit_cents", "sku"], ascending=[False, True]).head(top)
    scope = f" in store {store_id}" if store_id else ""
    return bar_chart_png(
        ranked["sku"].astype(str).tolist(),
        (ranked["profit_cents"] / 100).tolist(),
        f"Profit by item{scope} (top {len(ranked)})",
        "profit (revenue − cost)",
    )


def frequency_of_sale_png(totals: pd.DataFrame, top: int, store_id: str | None = None) -> bytes:
    """Units sold of the ``top`` items by units."""
    ranked = totals.sort_values(["units", "sku"], ascending=[False, True]).head(top)
    scope = f" in store {store_id}" if store_id else ""
    return bar_chart_png(
        ranked["sku"].astype(str).tolist(),
        ranked["units"].astype(float).tolist(),
        f"Units sold by item{scope} (top {len(ranked)})",
        "units sold",
        color="#2f855a",
    )
