"""The persistent control group: a fixed share of customers who never get a promotion.

Assignment is a hash, not a stored draw: SHA-256 of ``salt:customer_id`` read as a number in
[0, 1), below ``share`` = control. Every server, restart and replay agrees on a customer's arm
with no coordination, and the arm cannot drift with traffic. Changing the salt reshuffles the
group, so do it only between experiments.
"""

from __future__ import annotations

import hashlib

TREATMENT = "treatment"
CONTROL = "control"


def control_position(customer_id: str, salt: str) -> float:
    """Where the customer falls in [0, 1): the first 8 bytes of the hash over 2**64."""
    digest = hashlib.sha256(f"{salt}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def arm_for(customer_id: str, salt: str, share: float) -> str:
    """``control`` for a deterministic ``share`` of customers, ``treatment`` for the rest."""
    return CONTROL if control_position(customer_id, salt) < share else TREATMENT
