"""The true effect of each promotion on each customer, known only to the simulator.

Promotion policies are scored against this table: ``true_uplift`` is how much being treated with
the promotion changes the probability that the customer buys the promoted item in a session where
they come across it (treatment: ``base_rate + true_uplift``; control: ``base_rate``). Effects are
heterogeneous: bargain hunters respond strongly, and some customers — "sleeping dogs", most often
premium ones — buy *less* when nudged.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator
from pathlib import Path

from services.data_generator.catalog import CATEGORIES
from services.data_generator.customers import Customer
from services.data_generator.promotions import Promotion, PromotionCalendar

SENSITIVITY = {"value": 1.5, "regular": 1.0, "premium": 0.45}
SLEEPING_DOG_SHARE = {"value": 0.05, "regular": 0.10, "premium": 0.30}
MAX_CONVERSION = 0.9
_CATEGORY_INDEX = {c.name: i for i, c in enumerate(CATEGORIES)}
TRUTH_COLUMNS = ("customer_id", "promotion_id", "segment", "channel", "base_rate", "true_uplift")


class UpliftTruth:
    """Per customer × promotion effects, each drawn from its own seeded RNG so any pair can be recomputed."""

    def __init__(self, seed: int, customers: tuple[Customer, ...], calendar: PromotionCalendar) -> None:
        self._seed = seed
        self._customers = customers
        self._by_pseudonym = {c.customer_id: c for c in customers}
        self._calendar = calendar
        self._effects: dict[tuple[int, str], float] = {}

    @staticmethod
    def base_rate(customer: Customer) -> float:
        """Probability of buying the promoted item without the promotion (the control arm's rate)."""
        return customer.propensity

    def effect(self, customer: Customer, promotion: Promotion) -> float:
        """The true uplift; clipped so that treated conversion stays a probability."""
        key = (customer.index, promotion.promotion_id)
        if key not in self._effects:
            rng = random.Random(f"{self._seed}:uplift:{customer.index}:{promotion.promotion_id}")
            interest = min(
                customer.affinity[_CATEGORY_INDEX[promotion.category]] * len(CATEGORIES), 3.0
            )  # 1.0 = average
            mean = (
                promotion.strength
                * SENSITIVITY[customer.segment]
                * (0.5 + 0.5 * interest)
                * promotion.discount_pct
                / 20
            )
            value = mean + rng.gauss(0.0, 0.015)
            if rng.random() < SLEEPING_DOG_SHARE[customer.segment]:
                value = -(abs(value) * 0.6 + 0.01)
            base = self.base_rate(customer)
            self._effects[key] = round(min(max(value, -base), MAX_CONVERSION - base), 6)
        return self._effects[key]

    def true_uplift(self, customer_id: str, promotion_id: str) -> float:
        """The effect for a pseudonymous customer id (as in events) and a promotion id."""
        customer = self._by_pseudonym.get(customer_id)
        if customer is None:
            raise KeyError(f"unknown customer {customer_id!r}")
        return self.effect(customer, self._calendar.get(promotion_id))

    def rows(self, promotions: tuple[Promotion, ...]) -> Iterator[dict[str, object]]:
        for promotion in promotions:
            for customer in self._customers:
                yield {
                    "customer_id": customer.customer_id,
                    "promotion_id": promotion.promotion_id,
                    "segment": customer.segment,
                    "channel": customer.channel.value,
                    "base_rate": customer.propensity,
                    "true_uplift": self.effect(customer, promotion),
                }

    def write(self, path: Path, promotions: tuple[Promotion, ...]) -> int:
        """The table as CSV (``.csv``) or JSON with the promotion definitions (any other suffix); returns rows
        written."""
        rows = list(self.rows(promotions))
        if path.suffix.lower() == ".csv":
            with path.open("w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=TRUTH_COLUMNS)
                writer.writeheader()
                writer.writerows(rows)
        else:
            path.write_text(json.dumps({"promotions": [p.as_dict() for p in promotions], "truth": rows}, indent=1))
        return len(rows)
