"""Privacy tests run the real promotion engine and the real data consumer over the session's servers.

The engine fixtures (own database and topics per test, ``start_app``) are the promotion engine
tests' own, imported so both suites set the engine up the same way.
"""

from __future__ import annotations

from tests.promotion_engine.conftest import db, settings, start_app  # noqa: F401  (fixtures)

ALICE = "cu_" + "a" * 24
BOB = "cu_" + "b" * 24
