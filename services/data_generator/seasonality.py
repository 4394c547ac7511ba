"""How demand moves with time: day of week, hour of day, season of year, and each SKU's trend."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

WEEKLY = (0.90, 0.85, 0.88, 0.95, 1.08, 1.25, 1.09)  # Monday … Sunday; mean 1
_HOURLY_RAW = (
    0.25,
    0.15,
    0.10,
    0.10,
    0.10,
    0.20,
    0.40,
    0.70,
    1.00,
    1.20,
    1.30,
    1.40,
    1.50,
    1.40,
    1.30,
    1.30,
    1.40,
    1.60,
    1.80,
    1.90,
    1.80,
    1.50,
    1.00,
    0.50,
)
HOURLY = tuple(h * 24 / sum(_HOURLY_RAW) for h in _HOURLY_RAW)  # mean 1
SHOPPERS_TZ = timezone(timedelta(hours=-6))  # the arrival curve follows the customer base's middle time zone
HOLIDAY_PEAK_DAY = 350
HOLIDAY_AMPLITUDE = 0.20
PEAK_INTENSITY = max(WEEKLY) * max(HOURLY) * (1 + HOLIDAY_AMPLITUDE)


def yearly(day_of_year: int, peak_day: int, amplitude: float) -> float:
    """A cosine year: ``1 + amplitude`` on the peak day, ``1 - amplitude`` half a year away."""
    return 1.0 + amplitude * math.cos(2 * math.pi * (day_of_year - peak_day) / 365.25)


def arrival_intensity(at: datetime) -> float:
    """Relative rate of shopping sessions at ``at`` (1 = an average hour); at most ``PEAK_INTENSITY``."""
    local = at.astimezone(SHOPPERS_TZ)
    return (
        WEEKLY[local.weekday()]
        * HOURLY[local.hour]
        * yearly(local.timetuple().tm_yday, HOLIDAY_PEAK_DAY, HOLIDAY_AMPLITUDE)
    )


def trend(trend_per_year: float, years: float) -> float:
    """Multiplicative growth (or decline, floored at 20 % of launch demand) since the simulation started."""
    return max(0.2, 1.0 + trend_per_year * years)
