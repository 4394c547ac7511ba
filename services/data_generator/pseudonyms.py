"""Customer identifiers cross into the platform only as pseudonyms, and only through here."""

from __future__ import annotations

from services.common.privacy import pseudonymize


def customer_pseudonym(raw_identifier: str, key: str) -> str:
    """The keyed-hash pseudonym of a raw customer identifier (email, card number, account id).

    An empty identifier is refused rather than hashed: it would merge every anonymous buyer into one.
    """
    if not raw_identifier.strip():
        raise ValueError("customer identifier is empty")
    return pseudonymize(raw_identifier, key)
