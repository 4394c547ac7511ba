"""The engine's in-memory state forgets an erased customer and does not take them back from a
snapshot reload that was already scanning, nor from the click tail re-reading its window."""

from __future__ import annotations

from datetime import timedelta

from services.promotion_engine.catalog import Catalog
from services.promotion_engine.features import ClickRecord, ClickWindow, OrderHistory
from tests.privacy.conftest import ALICE, BOB
from tests.promotion_engine.conftest import NOW, add_order, add_product


class _ForgetMidScan:
    """A catalog whose product read (which ``refresh`` does after it began, before it scans) erases Alice in memory:
    the position of an erasure landing while a reload is under way."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.history: OrderHistory | None = None

    @property
    def products(self):  # noqa: ANN201 - Catalog's own type
        if self.history is not None:
            self.history.forget(ALICE)
        return self.catalog.products


def test_a_reload_under_way_during_an_erasure_does_not_bring_the_customer_back(db) -> None:
    add_product(db, "SKU-A")
    for customer in (ALICE, BOB):
        add_order(db, customer, "SKU-A", NOW - timedelta(days=1), order_id=f"o-{customer}")
    catalog = _ForgetMidScan(Catalog(db, 0.0))
    history = OrderHistory(db, catalog, lookback_days=30)  # type: ignore[arg-type]
    history.refresh()
    assert history.customer(ALICE) is not None and history.customer(BOB) is not None

    catalog.history = history
    history.refresh()  # scans orders still under Alice's id (as a scan begun before the anonymization would)
    assert history.customer(ALICE) is None and history.customer(BOB) is not None

    catalog.history = None
    db.orders.update_one({"_id": f"o-{ALICE}"}, {"$set": {"customer_id": "erased_x"}})
    history.refresh()
    assert history.customer(ALICE) is None and history.customer("erased_x") is not None


def test_click_window_forgets_and_refuses_the_erased_customers_earlier_clicks_when_reread() -> None:
    window = ClickWindow(minutes=30)
    before = [ClickRecord(NOW - timedelta(minutes=m), "view", "SKU-A", f"e{m}") for m in (5, 3)]
    for click in before:
        window.add(ALICE, click, now=NOW)
    window.add(BOB, ClickRecord(NOW - timedelta(minutes=2), "view", "SKU-B", "b1"), now=NOW)

    assert window.forget(ALICE, now=NOW) == 2
    assert window.activity(ALICE, NOW).clicks == 0 and window.activity(BOB, NOW).clicks == 1
    assert not window.add(
        ALICE, ClickRecord(NOW - timedelta(minutes=4), "view", "SKU-A", "e4-replayed"), now=NOW
    )  # tail re-reading the topic
    assert window.add(
        ALICE, ClickRecord(NOW + timedelta(seconds=1), "view", "SKU-C", "new"), now=NOW
    )  # what they do next is new data
    assert window.activity(ALICE, NOW + timedelta(seconds=2)).viewed == frozenset({"SKU-C"})
    assert window.forget("cu_" + "c" * 24, now=NOW) == 0  # nothing held: nothing dropped
