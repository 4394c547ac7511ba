"""The simulated shoppers: who they are, where and how often they shop, what they like.

Each customer shops through one channel and is known there by that channel's raw identifier (an
email, a loyalty card number, a marketplace buyer token). Events only ever carry the pseudonym.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from services.common.events import Channel
from services.common.privacy import pseudonymize
from services.data_generator.catalog import CATEGORIES
from services.data_generator.stores import MARKETPLACE_STORE_ID, PHYSICAL_STORES, WEB_STORE_ID

Segment = Literal["value", "regular", "premium"]
SEGMENTS: tuple[Segment, ...] = ("value", "regular", "premium")
_SEGMENT_WEIGHTS = (0.40, 0.42, 0.18)
_CHANNELS = (Channel.ONLINE, Channel.STORE, Channel.MARKETPLACE)
_CHANNEL_WEIGHTS = (0.50, 0.38, 0.12)
_PROPENSITY_RANGE: dict[str, tuple[float, float]] = {
    "value": (0.10, 0.30),
    "regular": (0.15, 0.40),
    "premium": (0.25, 0.55),
}
_FIRST_NAMES = (
    "ava",
    "ben",
    "chloe",
    "diego",
    "emma",
    "farah",
    "george",
    "hana",
    "ivan",
    "julia",
    "kofi",
    "lena",
    "mateo",
    "nina",
    "omar",
    "priya",
    "quinn",
    "rosa",
    "sam",
    "tariq",
    "uma",
    "victor",
    "wen",
    "yusuf",
    "zoe",
)
_LAST_NAMES = (
    "adams",
    "baker",
    "chen",
    "diaz",
    "evans",
    "fischer",
    "garcia",
    "hughes",
    "ito",
    "jones",
    "kim",
    "lopez",
    "miller",
    "nguyen",
    "okafor",
    "patel",
    "rossi",
    "smith",
    "tanaka",
    "weber",
)
_MAIL_DOMAINS = ("example.com", "example.org", "example.net")


@dataclass(frozen=True)
class Customer:
    index: int
    raw_id: str  # the channel's own identifier; never put into an event
    customer_id: str  # the pseudonym events carry
    channel: Channel
    home_store: str
    segment: Segment
    propensity: float  # probability of buying an item they consider
    visit_weight: float  # relative frequency of shopping sessions
    affinity: tuple[float, ...]  # share of interest per category, in CATEGORIES order, sums to 1


def build_customers(rng: random.Random, count: int, pseudonym_key: str) -> tuple[Customer, ...]:
    """``count`` customers drawn from ``rng``: the same RNG state always yields the same people."""
    customers = []
    store_weights = [s.par_level for s in PHYSICAL_STORES]
    for index in range(count):
        channel = rng.choices(_CHANNELS, weights=_CHANNEL_WEIGHTS)[0]
        segment = rng.choices(SEGMENTS, weights=_SEGMENT_WEIGHTS)[0]
        raw_id, home = _identity(rng, index, channel, store_weights)
        interest = [rng.gammavariate(0.6, 1.0) + 1e-6 for _ in CATEGORIES]
        total = sum(interest)
        customers.append(
            Customer(
                index=index,
                raw_id=raw_id,
                customer_id=pseudonymize(raw_id, pseudonym_key),
                channel=channel,
                home_store=home,
                segment=segment,
                propensity=round(rng.uniform(*_PROPENSITY_RANGE[segment]), 4),
                visit_weight=rng.lognormvariate(0.0, 0.8),
                affinity=tuple(x / total for x in interest),
            )
        )
    return tuple(customers)


def _identity(rng: random.Random, index: int, channel: Channel, store_weights: list[int]) -> tuple[str, str]:
    """The raw identifier a channel knows the customer by, and the store they usually use."""
    if channel == Channel.ONLINE:
        email = f"{rng.choice(_FIRST_NAMES)}.{rng.choice(_LAST_NAMES)}{index}@{rng.choice(_MAIL_DOMAINS)}"
        return email, WEB_STORE_ID
    if channel == Channel.STORE:
        card = f"6034{rng.randrange(10**11):011d}"
        return card, rng.choices(PHYSICAL_STORES, weights=store_weights)[0].store_id
    return f"MB{rng.getrandbits(64):016X}", MARKETPLACE_STORE_ID
