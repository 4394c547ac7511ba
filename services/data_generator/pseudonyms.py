"""Customer identifiers cross into the platform only as pseudonyms, and only through here."""
from __future__ import annotations

import re

from services.common.privacy import pseudonymize

_PSEUDONYM = re.compile(r"cu_[0-9a-f]{24}")


def customer_pseudonym(raw_identifier: str, key: str) -> str:
    """The keyed-hash pseudonym of a raw customer identifier (email, card number, account id).

    ``pseudonymize`` passes anything starting with ``cu_`` through as already pseudonymous; a raw
    identifier that merely starts that way (``cu_bob@example.com``) would leak, so it is refused
    with a ``ValueError`` whose message does not repeat the identifier.
    """
    if not raw_identifier.strip():
        raise ValueError("customer identifier is empty")
    pseudonym = pseudonymize(raw_identifier, key)
    if not _PSEUDONYM.fullmatch(pseudonym):
        raise ValueError("customer identifier starts with the pseudonym prefix 'cu_' but is not a pseudonym")
    return pseudonym
