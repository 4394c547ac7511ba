"""Data-subject rights over the store: export everything held about a customer, or erase it.

Plain functions over a ``Database`` so the promotion engine's admin API and a CLI share them; the
caller drops its own in-memory state (the engine's ``forget`` methods) after ``erase_customer``.

Where a customer's data lives, by customer pseudonym (``cu_`` + 24 hex, ``services.common.privacy``):

- ``orders``, ``returns``, ``exposures``: **anonymized**. ``customer_id`` becomes a tombstone drawn
  fresh for each erasure (``erased_`` + 24 random hex), so stock, the ledger and ``daily_sales``
  (which never held the customer) stay exact, and experiment figures keep counting the erased
  person as one unit, but nothing links the records back to them. The tombstone is not written to
  the audit record, which would re-link them.
- ``clicks`` and the promotion engine's ``promotion_frequency`` counters: **deleted** (behavioural
  data with no bookkeeping role); so are the customer's entries in the engine's
  ``promotion_frequency_journal`` (documents holding many customers' recent serves: the customer's
  entries are pulled out, the rest stays, and an export shows only theirs).

Each call writes a ``privacy_audit`` record: action, ``subject_sha256`` (SHA-256 of the pseudonym:
whoever holds the pseudonym can check it was erased; the record alone names nobody), the actor (a
key fingerprint, never a key), counts per collection and the time. Erasing an id nothing is held
about succeeds with zero counts and is audited too: erasure is idempotent, and answering "unknown
customer" would let a caller probe which pseudonyms exist.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from pymongo.database import Database

from services.common import read_models
from services.common.privacy import PREFIX

CUSTOMER_ID_PATTERN = rf"^{PREFIX}[0-9a-f]{{24}}$"
TOMBSTONE_PREFIX = "erased_"

ANONYMIZED = (read_models.ORDERS, read_models.RETURNS, read_models.EXPOSURES)
DELETED = (read_models.CLICKS, read_models.PROMOTION_FREQUENCY)
_VALID_ID = re.compile(CUSTOMER_ID_PATTERN)


class InvalidCustomerId(ValueError):
    """Not a customer pseudonym; the message says what one looks like (and does not echo the input)."""

    def __init__(self) -> None:
        super().__init__(f"customer_id must be a pseudonym: '{PREFIX}' followed by 24 lowercase hex characters")


@dataclass(frozen=True)
class ErasureReport:
    """What one erasure did, as recorded in ``privacy_audit`` under ``audit_id``."""

    audit_id: str
    subject_sha256: str
    anonymized: dict[str, int]
    deleted: dict[str, int]
    at: datetime


def subject_hash(customer_id: str) -> str:
    return hashlib.sha256(customer_id.encode()).hexdigest()


def _check(customer_id: str) -> None:
    if not _VALID_ID.fullmatch(customer_id):  # not match: its $ would also accept a final newline
        raise InvalidCustomerId()


def export_customer(db: Database, customer_id: str, actor: str) -> dict[str, list[dict[str, Any]]]:
    """Every stored document about ``customer_id``, grouped by collection (empty lists when none), with
    the earlier audit records about them; the export is audited in turn."""
    _check(customer_id)
    held = {name: list(db[name].find({"customer_id": customer_id})) for name in (*ANONYMIZED, *DELETED)}
    held[read_models.PROMOTION_FREQUENCY_JOURNAL] = [
        doc | {"serves": [serve for serve in doc["serves"] if serve["customer_id"] == customer_id]}
        for doc in db[read_models.PROMOTION_FREQUENCY_JOURNAL].find({"serves.customer_id": customer_id})
    ]
    held[read_models.PRIVACY_AUDIT] = list(
        db[read_models.PRIVACY_AUDIT].find({"subject_sha256": subject_hash(customer_id)})
    )
    _audit(db, "export", customer_id, actor, {"exported": {name: len(docs) for name, docs in held.items()}})
    return held


def erase_customer(db: Database, customer_id: str, actor: str) -> ErasureReport:
    """Anonymize the customer's orders, returns and exposures, delete their clicks and counters; audited.

    Single-document writes only (no transactions on mongo-java-server): a failure part-way leaves
    the rest for a retry, which is safe because erasure is idempotent.
    """
    _check(customer_id)
    tombstone = TOMBSTONE_PREFIX + uuid.uuid4().hex[:24]
    anonymized = {
        name: db[name].update_many({"customer_id": customer_id}, {"$set": {"customer_id": tombstone}}).modified_count
        for name in ANONYMIZED
    }
    deleted = {name: db[name].delete_many({"customer_id": customer_id}).deleted_count for name in DELETED}
    deleted[read_models.PROMOTION_FREQUENCY_JOURNAL] = pull_journal_entries(db, customer_id)
    audit_id, at = _audit(db, "erase", customer_id, actor, {"anonymized": anonymized, "deleted": deleted})
    return ErasureReport(audit_id, subject_hash(customer_id), anonymized, deleted, at)


def pull_journal_entries(db: Database, customer_id: str) -> int:
    """Remove the customer's entries from the engine's serve journal; returns how many journal documents held some."""
    return (
        db[read_models.PROMOTION_FREQUENCY_JOURNAL]
        .update_many({"serves.customer_id": customer_id}, {"$pull": {"serves": {"customer_id": customer_id}}})
        .modified_count
    )


def _audit(
    db: Database, action: str, customer_id: str, actor: str, counts: dict[str, dict[str, int]]
) -> tuple[str, datetime]:
    audit_id, at = str(uuid.uuid4()), datetime.now(timezone.utc)
    db[read_models.PRIVACY_AUDIT].insert_one(
        {
            "_id": audit_id,
            "action": action,
            "subject_sha256": subject_hash(customer_id),
            "actor": actor,
            "at": at,
            **counts,
        }
    )
    return audit_id, at
