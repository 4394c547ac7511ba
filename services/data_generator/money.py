"""Money at the boundaries: decimal text from outside, integer cents inside, never float."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

CENT = Decimal("0.01")


def parse_amount(value: object) -> Decimal:
    """A finite decimal amount from text (or an exact JSON number); ``ValueError`` names what was wrong."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ValueError(f"expected a decimal amount such as '12.99', got {type(value).__name__}")
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal amount such as '12.99'") from None
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not a finite amount")
    return amount


def to_cents(amount: Decimal) -> int:
    """Whole cents, rounding half to even so that summed rounding errors do not drift one way."""
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def format_cents(cents: int) -> str:
    """``1299`` → ``'12.99'``: exact, with no float in between."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"
