"""Event ids that are reproducible: drawn from the seeded RNG, or derived from a source record's id.

Derived ids make re-importing or re-parsing the same external record produce the same event, which
the consumer then stores once.
"""

from __future__ import annotations

import random
from uuid import UUID, uuid5

_NAMESPACE = UUID("6b1f4d8e-2c3a-4f7b-9e21-5d0c8a7b3f10")


def random_event_id(rng: random.Random) -> UUID:
    """A version-4 UUID from the simulation's RNG, so the same seed yields the same ids."""
    return UUID(int=rng.getrandbits(128), version=4)


def stable_event_id(*parts: str) -> UUID:
    """A version-5 UUID naming a source record (e.g. ``"online", order_number``)."""
    return uuid5(_NAMESPACE, "\x1f".join(parts))
