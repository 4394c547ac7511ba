"""The simulated shop's stream: deterministic, well-formed, and carrying the behaviours it promises."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from datetime import datetime, timezone
from itertools import islice

import pytest

from services.common.events import ClickAction, event_to_bytes, parse_event
from services.data_generator.catalog import build_catalog
from services.data_generator.simulator import ShopConfig, ShopSimulator, simulate
from services.data_generator.stores import STORES

START = datetime(2026, 3, 2, 8, 30, tzinfo=timezone.utc)
KEY = "test-pseudonym-key"
SMALL = ShopConfig(customers=400, sessions_per_day=1000, return_rate=0.2, stock_scale=0.1)
SETUP_EVENTS = len(STORES) + len(build_catalog()) * (1 + len(STORES))


def wire(events, n: int) -> list[bytes]:
    return [event_to_bytes(e) for e in islice(events, n)]


@pytest.fixture(scope="module")
def small_run() -> tuple[ShopSimulator, list]:
    """About five simulated days of a small, thinly stocked shop: enough for stockouts and returns."""
    sim = ShopSimulator(5, START, KEY, SMALL)
    return sim, list(islice(sim.events(), 12_000))


def test_same_seed_and_start_give_a_byte_identical_stream():
    n = SETUP_EVENTS + 3000
    assert wire(simulate(42, START, KEY), n) == wire(simulate(42, START, KEY), n)


def test_different_seed_gives_a_different_stream():
    first, second = (
        wire(simulate(42, START, KEY), SETUP_EVENTS + 500),
        wire(simulate(43, START, KEY), SETUP_EVENTS + 500),
    )
    assert first[SETUP_EVENTS:] != second[SETUP_EVENTS:]
    assert not set(first) & set(second)  # not even the catalog events share ids


def test_stream_opens_with_stores_then_products_then_stock_for_every_sku_in_every_store():
    setup = list(islice(simulate(1, START, KEY), SETUP_EVENTS))
    kinds = [e.event_type for e in setup]
    assert kinds == ["store"] * len(STORES) + ["product"] * len(build_catalog()) + ["restock"] * (
        len(STORES) * len(build_catalog())
    )
    assert {(e.store_id, e.sku) for e in setup if e.event_type == "restock"} == {
        (s.store_id, p.sku) for s in STORES for p in build_catalog()
    }
    assert all(e.occurred_at == START for e in setup)


def test_every_event_parses_back_from_its_wire_form_and_time_never_runs_backwards(small_run):
    _, events = small_run
    assert [parse_event(event_to_bytes(e)) for e in events] == events
    times = [e.occurred_at for e in events]
    assert times == sorted(times) and times[0] == START


def test_stream_carries_orders_clicks_exposures_restocks_after_stockouts_and_returns(small_run):
    sim, events = small_run
    kinds = Counter(e.event_type for e in events)
    assert {"order", "click", "exposure", "return"} <= kinds.keys()
    assert {e.action for e in events if e.event_type == "click"} == set(ClickAction)
    assert sim.stockouts > 0
    assert any(e.event_type == "restock" and e.occurred_at > START for e in events)
    assert {e.channel.value for e in events if e.event_type == "order"} == {"online", "store", "marketplace"}


def test_returns_refer_to_earlier_orders_of_the_same_customer_and_store(small_run):
    _, events = small_run
    orders = {e.order_id: e for e in events if e.event_type == "order"}
    for r in (e for e in events if e.event_type == "return"):
        order = orders[r.order_id]
        line = next(line for line in order.lines if line.sku == r.sku)
        assert (order.customer_id, order.store_id) == (r.customer_id, r.store_id)
        assert (
            order.occurred_at < r.occurred_at and r.quantity <= line.quantity and r.refund_cents <= line.revenue_cents
        )


def test_online_orders_are_preceded_by_a_checkout_click_in_the_same_session(small_run):
    _, events = small_run
    checkouts = {e.customer_id for e in events if e.event_type == "click" and e.action == ClickAction.CHECKOUT}
    web_orders = [e for e in events if e.event_type == "order" and e.store_id == "web"]
    assert web_orders and all(o.customer_id in checkouts for o in web_orders)


def test_events_carry_pseudonyms_and_never_a_raw_customer_identifier(small_run):
    sim, events = small_run
    blob = b"\n".join(event_to_bytes(e) for e in events)
    ids = {e.customer_id for e in events if hasattr(e, "customer_id")}
    assert all(re.fullmatch(r"cu_[0-9a-f]{24}", i) for i in ids)
    seen = [c for c in sim.customers if c.customer_id in ids]
    assert len(seen) > 100
    assert not [c.raw_id for c in seen if c.raw_id.encode() in blob]


def test_promotion_orders_come_from_treated_customers_with_the_discount(small_run):
    _, events = small_run
    treated = {(e.customer_id, e.promotion_id) for e in events if e.event_type == "exposure" and e.arm == "treatment"}
    promo_orders = [e for e in events if e.event_type == "order" and e.promotion_id]
    assert promo_orders
    for order in promo_orders:
        assert (order.customer_id, order.promotion_id) in treated
        assert any(line.discount_cents > 0 for line in order.lines)


def test_true_uplift_is_heterogeneous_with_sleeping_dogs(small_run):
    sim, _ = small_run
    promotions = sim.promotions.started_by(sim.now)
    effects = [sim.true_uplift(c.customer_id, p.promotion_id) for p in promotions for c in sim.customers]
    assert promotions and len(set(effects)) > len(effects) // 2
    assert sum(x < 0 for x in effects) > 0.03 * len(effects)
    assert sum(effects) > 0
    assert all(
        -c.propensity <= sim.true_uplift(c.customer_id, promotions[0].promotion_id) <= 0.9 - c.propensity
        for c in sim.customers
    )
    with pytest.raises(KeyError):
        sim.true_uplift("cu_000000000000000000000000", promotions[0].promotion_id)


def test_truth_table_exports_to_csv_and_json_matching_true_uplift(small_run, tmp_path):
    sim, _ = small_run
    rows = sim.write_truth(tmp_path / "truth.csv")
    with (tmp_path / "truth.csv").open() as handle:
        table = list(csv.DictReader(handle))
    assert rows == len(table) == len(sim.customers) * len(sim.promotions.started_by(sim.now))
    for row in table[:50]:
        assert float(row["true_uplift"]) == sim.true_uplift(row["customer_id"], row["promotion_id"])
    sim.write_truth(tmp_path / "truth.json")
    document = json.loads((tmp_path / "truth.json").read_text())
    assert {p["promotion_id"] for p in document["promotions"]} == {r["promotion_id"] for r in table}
    assert len(document["truth"]) == rows
