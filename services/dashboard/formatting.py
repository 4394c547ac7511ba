"""How numbers read on screen and in reports: money from integer cents, percentages, deltas."""

from __future__ import annotations

CURRENCY = "$"


def money(cents: int | float | None, symbol: str = CURRENCY) -> str:
    """Exact currency from cents: ``123456`` → ``$1,234.56``; negative amounts keep their sign in front."""
    if cents is None:
        return "—"
    sign = "-" if cents < 0 else ""
    return f"{sign}{symbol}{abs(cents) / 100:,.2f}"


def money_short(cents: int | float | None, symbol: str = CURRENCY) -> str:
    """Compact currency for KPI cards, where width matters more than the last cent: ``$1.23M``."""
    if cents is None:
        return "—"
    value = abs(cents) / 100
    sign = "-" if cents < 0 else ""
    for threshold, unit, suffix in (
        (1e9, 1e9, "B"),
        (1e6, 1e6, "M"),
        (1e4, 1e3, "k"),
    ):  # thousands only from 10k: "$9,999.99" still fits
        if value >= threshold:
            return f"{sign}{symbol}{value / unit:,.2f}{suffix}"
    return f"{sign}{symbol}{value:,.2f}"


def count(value: int | float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def percent(ratio: float | None, digits: int = 1) -> str:
    """A ratio (0.123) as a percentage (12.3%)."""
    return "—" if ratio is None else f"{ratio * 100:.{digits}f}%"


def change(current: float | None, previous: float | None) -> float | None:
    """Relative change vs the previous period; None when there is nothing to compare with."""
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / abs(previous)


def signed_percent(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio * 100:+.1f}%"


def signed_points(current: float | None, previous: float | None) -> str:
    """Difference of two ratios in percentage points (margins and rates compare in points, not %)."""
    if current is None or previous is None:
        return "—"
    return f"{(current - previous) * 100:+.1f} pp"
