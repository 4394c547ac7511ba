"""Association rules on a four-order example small enough to check on paper."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.common import read_models
from services.dashboard.baskets import association_rules
from services.dashboard.data import DashboardData
from services.dashboard.filters import Filters
from tests.dashboard.conftest import DAY, order_doc, seed_catalog

# A in 3 of 4 orders, B in 3, C in 2; A+B together in 2, A+C in 2, B+C in 1.
ORDERS = [["A", "B"], ["A", "B", "C"], ["A", "C"], ["B"]]


def _rule(rules, a: str, b: str) -> dict:
    return rules[(rules["antecedent"] == a) & (rules["consequent"] == b)].iloc[0].to_dict()


def test_support_confidence_and_lift_match_the_hand_computation() -> None:
    rules, n = association_rules(ORDERS, min_pair_orders=1)
    assert n == 4
    ab = _rule(rules, "A", "B")
    assert (ab["pair_orders"], ab["support"], ab["confidence"], ab["lift"]) == (
        2,
        0.5,
        pytest.approx(2 / 3),
        pytest.approx((2 / 3) / (3 / 4)),
    )
    ca = _rule(rules, "C", "A")
    assert (ca["confidence"], ca["lift"]) == (1.0, pytest.approx(4 / 3))
    ac = _rule(rules, "A", "C")
    assert (ac["confidence"], ac["lift"]) == (pytest.approx(2 / 3), pytest.approx(4 / 3))
    assert rules.iloc[0]["lift"] == pytest.approx(4 / 3)  # strongest first


def test_pairs_below_the_minimum_are_left_out_and_duplicates_count_once() -> None:
    rules, _ = association_rules(ORDERS + [["D", "D"]], min_pair_orders=2)
    assert {(r.antecedent, r.consequent) for r in rules.itertuples()} == {
        ("A", "B"),
        ("B", "A"),
        ("A", "C"),
        ("C", "A"),
    }


def test_basket_rules_mine_the_newest_orders_of_the_period(db) -> None:
    seed_catalog(db)
    docs = [order_doc(DAY, ["A1", "B2"], minute=i) for i in range(3)] + [order_doc(DAY, ["A1"], minute=10)]
    docs.append(order_doc(DAY - timedelta(days=40), ["A1", "B2"]))  # outside the period
    db[read_models.ORDERS].insert_many(docs)
    data = DashboardData(db, ttl_s=0, basket_max_orders=3)
    rules, mined = data.basket_rules(Filters(DAY - timedelta(days=6), DAY))
    assert mined == 3  # capped: the newest three (one single-line order and two pairs)
    ab = rules[(rules["antecedent"] == "A1")].iloc[0]
    assert (ab["consequent_name"], ab["pair_orders"], ab["support"]) == ("Bowls", 2, pytest.approx(2 / 3))
