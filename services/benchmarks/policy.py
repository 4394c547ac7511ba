"""Policy value of the engine's targeting on the simulator, where each customer's true uplift is known.

``evaluate_policies(customers, seed)``:

1. **Shop history**: the data generator's ``ShopSimulator`` runs ``history_days`` simulated days;
   every order it emits is folded into the engine's own ``CustomerHistory`` (RFM, deal share,
   category spend), exactly as the serving snapshot would hold it at the end of those days.
2. **Randomized experiment**: each customer meets ``pairs_per_customer`` distinct promotions of the
   simulator's calendar, treated with probability 1/2; the outcome is drawn from the simulator's
   truth (``UpliftTruth``: control converts at the customer's base rate, treated at base + true
   uplift). Features are the engine's (``features.customer_vector`` + ``candidate_vector``); a
   category promotion is described by its category's median price and cost (the engine offers one
   SKU of the category; which one is not part of this experiment). No recent clicks: the decision
   is made before the session.
3. **Train / hold out by customer** (70/30, seeded): the engine's learner selection
   (``learners.select_learner``, best Qini on a split of the training customers) fits on the
   training customers only.
4. **Policy value on held-out customers**, computed with the TRUE effects: target a budget of
   ``k`` of the held-out (customer, promotion) pairs by
   - *engine*: the top ``k`` by predicted uplift (conversions) or by predicted incremental margin
     (margin: ``u (p - d - c) - b d``, ``b`` the control conversion rate of the training rows);
   - *random*: ``k`` of them at random (its expectation, noise-free);
   - *oracle*: the top ``k`` by the true effect (the ceiling);
   - *everyone*: every pair (no budget).
   Values are expected incremental conversions and expected incremental margin (cents), in total
   and per pair targeted.
"""

from __future__ import annotations

import random
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timezone

import numpy as np

from services.common.events import OrderPlaced, ProductUpserted
from services.data_generator.simulator import ShopConfig, ShopSimulator
from services.promotion_engine.catalog import Product
from services.promotion_engine.features import (
    NO_ACTIVITY,
    CandidateFacts,
    CustomerHistory,
    candidate_vector,
    customer_vector,
)
from services.promotion_engine.uplift.evaluation import qini_coefficient, targeting_policy_values, top_k_count
from services.promotion_engine.uplift.learners import select_learner

START = datetime(2026, 1, 5, tzinfo=timezone.utc)
PSEUDONYM_KEY = "policy-evaluation"
SESSIONS_PER_CUSTOMER_DAY = 0.3
TEST_FRACTION = 0.3
Progress = Callable[[str], None]


def _shop_history(sim: ShopSimulator, days: int) -> tuple[dict[str, CustomerHistory], dict[str, Product]]:
    """Run the simulator for ``days`` days; each customer's order history as the engine summarizes it."""
    end = sim.start.timestamp() + days * 86400
    products: dict[str, Product] = {}
    histories: dict[str, CustomerHistory] = defaultdict(CustomerHistory)
    for event in sim.events():
        if event.occurred_at.timestamp() >= end:
            break
        if isinstance(event, ProductUpserted):
            products[event.sku] = Product(
                event.sku, event.category, event.sub_category, event.price_cents, event.cost_cents
            )
        elif isinstance(event, OrderPlaced):
            lines = [{"sku": line.sku, "revenue_cents": line.revenue_cents} for line in event.lines]
            histories[event.customer_id].add(
                {
                    "occurred_at": event.occurred_at,
                    "revenue_cents": sum(line["revenue_cents"] for line in lines),
                    "discount_cents": sum(line.discount_cents for line in event.lines),
                    "promotion_id": event.promotion_id,
                    "lines": lines,
                },
                products,
            )
    return dict(histories), products


def evaluate_policies(
    customers: int = 5000,
    seed: int = 0,
    k: float = 0.3,
    history_days: int = 28,
    pairs_per_customer: int = 4,
    progress: Progress | None = None,
) -> dict:
    """The module docstring's evaluation; every number is reproducible from ``seed``."""
    if customers < 100:
        raise ValueError(f"customers must be at least 100 (a held-out set needs both arms), got {customers}")
    if not 0 < k <= 1:
        raise ValueError(f"k must be in (0, 1], got {k}")
    if history_days < 1 or pairs_per_customer < 1:
        raise ValueError("history_days and pairs_per_customer must be positive")
    say = progress or (lambda message: None)
    started = time.perf_counter()
    sim = ShopSimulator(
        seed,
        START,
        PSEUDONYM_KEY,
        ShopConfig(customers=customers, sessions_per_day=max(1, round(customers * SESSIONS_PER_CUSTOMER_DAY))),
    )
    say(f"simulating {history_days} days of shop history for {customers} customers")
    histories, products = _shop_history(sim, history_days)
    as_of = sim.now
    promotions = sim.promotions.started_by(as_of)
    by_category: dict[str, list[Product]] = defaultdict(list)
    for product in products.values():
        by_category[product.category].append(product)

    def price_and_cost(promotion) -> tuple[float, float]:
        if promotion.scope == "sku":
            product = products[promotion.target]
            return float(product.price_cents), float(product.cost_cents)
        pool = by_category[promotion.category]
        return float(statistics.median(p.price_cents for p in pool)), float(
            statistics.median(p.cost_cents for p in pool)
        )

    say(f"drawing a randomized experiment over {len(promotions)} promotions")
    rng = random.Random(f"{seed}:policy-experiment")
    pairs = min(pairs_per_customer, len(promotions))
    rows, treatment, outcome, effect, base, economics, customer_of = [], [], [], [], [], [], []
    for customer in sim.customers:
        history = histories.get(customer.customer_id)
        person = customer_vector(history, NO_ACTIVITY, as_of)
        for promotion in rng.sample(promotions, pairs):
            price, cost = price_and_cost(promotion)
            discount = price * promotion.discount_pct / 100
            facts = CandidateFacts(
                promotion.category,
                promotion.target if promotion.scope == "sku" else None,
                promotion.discount_pct / 100,
                "percent_off",
                promotion.scope == "category",
                price,
                cost,
            )
            true_effect = sim.truth.effect(customer, promotion)
            treated = rng.random() < 0.5
            rows.append(person + candidate_vector(facts, history, NO_ACTIVITY))
            treatment.append(int(treated))
            outcome.append(int(rng.random() < customer.propensity + (true_effect if treated else 0.0)))
            effect.append(true_effect)
            base.append(customer.propensity)
            economics.append((price - discount - cost, discount))
            customer_of.append(customer.index)
    X, t, y = np.asarray(rows, dtype=float), np.asarray(treatment), np.asarray(outcome)
    effect_arr, base_arr = np.asarray(effect), np.asarray(base)
    unit_margin, discount_arr = np.asarray(economics).T
    true_margin = (
        effect_arr * unit_margin - base_arr * discount_arr
    )  # cents per pair: the scoring module's formula, with true u and b

    held_out = np.random.default_rng(seed).permutation(customers)[: round(customers * TEST_FRACTION)]
    test = np.isin(np.asarray(customer_of), held_out)
    train = ~test
    say(
        f"selecting and fitting the engine's learner on {int(train.sum())} pairs of {customers - held_out.size} "
        "training customers"
    )
    selection = select_learner(X[train], t[train], y[train], seed=seed)
    predicted = selection.learner.predict_uplift(X[test])
    b_hat = float(y[train][t[train] == 0].mean())
    predicted_margin = predicted * unit_margin[test] - b_hat * discount_arr[test]

    conversions = targeting_policy_values(effect_arr[test], predicted, k)
    margin = targeting_policy_values(true_margin[test], predicted_margin, k)
    n_test = int(test.sum())
    n_top = top_k_count(n_test, k)

    def table(values: dict[str, float]) -> dict[str, dict[str, float]]:
        named = {
            "engine": values["model"],
            "everyone": values["everyone"],
            "random": values["random"],
            "oracle": values["oracle"],
        }
        return {
            name: {
                "total": round(value, 2),
                "per_targeted": round(value / (n_test if name == "everyone" else n_top), 5),
            }
            for name, value in named.items()
        }

    return {
        "customers": customers,
        "seed": seed,
        "k": k,
        "history_days": history_days,
        "promotions": len(promotions),
        "pairs_train": int(train.sum()),
        "pairs_test": n_test,
        "targeted": n_top,
        "learner": selection.best,
        "selection_qini": {name: round(q, 4) for name, q in selection.scores.items()},
        "held_out_qini": round(qini_coefficient(y[test], t[test], predicted), 4),
        "true_mean_uplift": round(float(effect_arr[test].mean()), 5),
        "sleeping_dog_share": round(float((effect_arr[test] < 0).mean()), 4),
        "conversions": table(conversions),
        "margin_cents": table(margin),
        "seconds": round(time.perf_counter() - started, 1),
    }
