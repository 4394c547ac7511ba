"""Money from cents, deltas in percent and in points."""

from __future__ import annotations

from services.dashboard.formatting import change, money, money_short, percent, signed_percent, signed_points


def test_money_is_exact_from_cents() -> None:
    assert (money(123456), money(-5), money(0), money(None)) == ("$1,234.56", "-$0.05", "$0.00", "—")
    assert (money_short(123_456_789), money_short(1_234_500), money_short(99_999)) == ("$1.23M", "$12.35k", "$999.99")


def test_changes_read_as_percent_or_points() -> None:
    assert (change(150, 100), change(1, 0), change(None, 3)) == (0.5, None, None)
    assert (signed_percent(0.5), signed_percent(-0.0123), percent(0.1234)) == ("+50.0%", "-1.2%", "12.3%")
    assert signed_points(0.31, 0.3) == "+1.0 pp"
