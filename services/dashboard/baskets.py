"""Frequently-bought-together pairs: association rules over orders, as plain functions.

For SKUs A and B over N orders: support(A,B) = orders with both / N; confidence(A→B) = orders with
both / orders with A; lift(A→B) = confidence(A→B) / (orders with B / N) — above 1 means A makes B
more likely than it is on its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from itertools import combinations

import pandas as pd

RULE_COLUMNS = ["antecedent", "consequent", "pair_orders", "support", "confidence", "lift"]


def association_rules(baskets: Iterable[Iterable[str]], min_pair_orders: int = 2) -> tuple[pd.DataFrame, int]:
    """Directed rules A→B for every pair bought together in at least ``min_pair_orders`` orders.

    Returns the rules (sorted by lift, then support) and the number of orders mined.
    """
    item_orders: Counter[str] = Counter()
    pair_orders: Counter[tuple[str, str]] = Counter()
    n = 0
    for basket in baskets:
        items = sorted(set(basket))
        n += 1
        item_orders.update(items)
        pair_orders.update(combinations(items, 2))
    rows = []
    for (a, b), both in pair_orders.items():
        if both < min_pair_orders:
            continue
        for x, y in ((a, b), (b, a)):
            confidence = both / item_orders[x]
            rows.append((x, y, both, both / n, confidence, confidence / (item_orders[y] / n)))
    rules = pd.DataFrame(rows, columns=RULE_COLUMNS)
    return rules.sort_values(["lift", "support", "antecedent"], ascending=[False, False, True], ignore_index=True), n
