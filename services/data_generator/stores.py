"""Where the simulated shop sells: physical stores, the web shop and a marketplace account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

from services.common.events import Channel

WEB_STORE_ID = "web"
MARKETPLACE_STORE_ID = "mkt"

StoreKind = Literal["physical", "web", "marketplace"]
_CHANNEL_BY_KIND: dict[str, Channel] = {
    "physical": Channel.STORE,
    "web": Channel.ONLINE,
    "marketplace": Channel.MARKETPLACE,
}


@dataclass(frozen=True)
class Store:
    store_id: str
    name: str
    region: str
    latitude: float
    longitude: float
    kind: StoreKind
    utc_offset_minutes: int  # fixed standard-time offset; the simulation ignores daylight saving
    par_level: int  # units per SKU on the shelf after a delivery
    opens_hour: int = 0
    closes_hour: int = 24

    @property
    def channel(self) -> Channel:
        return _CHANNEL_BY_KIND[self.kind]

    @property
    def tz(self) -> timezone:
        return timezone(timedelta(minutes=self.utc_offset_minutes))

    def is_open(self, at: datetime) -> bool:
        """Physical stores sell only during local opening hours; web and marketplace never close."""
        return self.opens_hour <= at.astimezone(self.tz).hour < self.closes_hour


STORES: tuple[Store, ...] = (
    Store("s-nyc", "Shelfcast Manhattan", "East", 40.7549, -73.9840, "physical", -300, 30, 8, 22),
    Store("s-bos", "Shelfcast Boston Back Bay", "East", 42.3503, -71.0810, "physical", -300, 25, 8, 21),
    Store("s-atl", "Shelfcast Atlanta Midtown", "South", 33.7838, -84.3830, "physical", -300, 25, 8, 21),
    Store("s-mia", "Shelfcast Miami Brickell", "South", 25.7617, -80.1918, "physical", -300, 25, 9, 21),
    Store("s-chi", "Shelfcast Chicago Loop", "Central", 41.8819, -87.6278, "physical", -360, 30, 8, 21),
    Store("s-dal", "Shelfcast Dallas Uptown", "Central", 32.8021, -96.8003, "physical", -360, 25, 9, 21),
    Store("s-den", "Shelfcast Denver LoDo", "West", 39.7527, -105.0005, "physical", -420, 25, 9, 20),
    Store("s-sea", "Shelfcast Seattle Downtown", "West", 47.6097, -122.3331, "physical", -480, 25, 8, 21),
    Store("s-lax", "Shelfcast Los Angeles Westside", "West", 34.0407, -118.4550, "physical", -480, 30, 9, 22),
    Store(WEB_STORE_ID, "Shelfcast Web Shop (Columbus fulfilment centre)", "Online", 39.9612, -82.9988, "web", 0, 150),
    Store(
        MARKETPLACE_STORE_ID,
        "Shelfcast on EU Marketplace (Luxembourg)",
        "Marketplace EU",
        49.6116,
        6.1319,
        "marketplace",
        60,
        60,
    ),
)
PHYSICAL_STORES: tuple[Store, ...] = tuple(s for s in STORES if s.kind == "physical")
STORE_BY_ID: dict[str, Store] = {s.store_id: s for s in STORES}
