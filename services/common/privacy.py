"""Pseudonymous customer identifiers: a keyed hash applied where data enters the platform.

HMAC-SHA256 with a secret key means the same customer maps to the same id across channels, and
nobody without the key can go back to the raw identifier (or confirm a guess of it).
"""
from __future__ import annotations

import hashlib
import hmac

PREFIX = "cu_"


def pseudonymize(raw_identifier: str, key: str) -> str:
    """A stable 24-hex-char pseudonym; already-pseudonymous ids pass through unchanged."""
    if raw_identifier.startswith(PREFIX):
        return raw_identifier
    digest = hmac.new(key.encode(), raw_identifier.strip().lower().encode(), hashlib.sha256).hexdigest()
    return PREFIX + digest[:24]
