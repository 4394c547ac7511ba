"""Load test of ``GET /recommendations`` against a running engine, and realistic data to run it on.

``bench_recommendations`` (what ``api_bench.run_promotions_bench`` and so ``shelfcast bench api
--service promotions`` runs): ``requests`` GETs over ``concurrency`` keep-alive connections
(``services.benchmarks.http_load``), customers taken round-robin from ``customers``; it returns
``{rps, p50_ms, p99_ms, errors, warmup}`` (latency as the client sees it, after ``warmup`` untimed
requests).
``seed_bench_data`` writes a shop of the size the README's figures use straight into MongoDB, in
the data consumer's shapes; ``known_customers`` picks the customer ids of an existing deployment
instead.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone

from pymongo.database import Database

from services.benchmarks.http_load import run_load
from services.common import read_models
from services.promotion_engine.catalog import Catalog
from services.promotion_engine.promotions import PromotionStore
from services.promotion_engine.schemas import PromotionIn

CATEGORIES = (
    "Grocery",
    "Beverages",
    "Snacks",
    "Household",
    "Personal care",
    "Baby",
    "Pets",
    "Toys",
    "Electronics",
    "Garden",
)


def bench_recommendations(
    base_url: str,
    api_key: str | None,
    requests: int,
    concurrency: int,
    customers: Sequence[str],
    k: int = 3,
    warmup: int = 200,
    timeout_s: float = 10.0,
    progress: Callable[[int], None] | None = None,
) -> dict[str, float | int]:
    """Measure the recommendation endpoint (``http_load.run_load``: latency as the client sees it, errors =
    transport failures and non-2xx answers); ``progress`` is called with the requests done, every 100."""
    if requests <= 0 or concurrency <= 0 or not customers:
        raise ValueError("requests and concurrency must be positive and customers non-empty")
    paths = [f"/recommendations/{customers[i % len(customers)]}?k={k}" for i in range(requests)]
    return run_load(
        base_url, paths, concurrency, {"X-API-Key": api_key} if api_key else {}, warmup, timeout_s, progress
    ) | {"warmup": warmup}


def known_customers(db: Database, limit: int = 5000) -> list[str]:
    """Customer ids that have orders (what a CLI bench against a live deployment should ask for), sorted."""
    return sorted(db[read_models.ORDERS].distinct("customer_id"))[:limit]


def seed_bench_data(
    db: Database,
    customers: int = 5000,
    orders: int = 20_000,
    clicks: int = 50_000,
    products: int = 200,
    promotions: int = 20,
    exposures: int = 4000,
    seed: int = 0,
    store_id: str = "web",
    now: datetime | None = None,
) -> list[str]:
    """A shop of the given size, written directly; returns the customer ids (for ``bench_recommendations``).

    Stock at ``store_id``: a fifth of the SKUs below their reorder threshold, a third overstocked.
    Orders span the last 180 days with a skewed customer activity; clicks span the last two hours
    (a quarter within the engine's default 30-minute window), a tenth of them add-to-cart.
    ``exposures`` past exposures of the SKU-scoped promotions (half control, ten days ago, windows
    closed) with outcomes — treated customers convert more, most of all in categories they already
    buy — so ``POST /train`` has an experiment to learn from.
    """
    rng = random.Random(seed)
    now = now or datetime.now(timezone.utc)
    skus = [f"BENCH-{i:04d}" for i in range(products)]
    prices = {sku: rng.randint(200, 5000) for sku in skus}
    db[read_models.PRODUCTS].insert_many(
        [
            {
                "_id": sku,
                "sku": sku,
                "name": sku,
                "category": CATEGORIES[i % len(CATEGORIES)],
                "sub_category": "any",
                "price_cents": prices[sku],
                "cost_cents": int(prices[sku] * rng.uniform(0.4, 0.7)),
                "reorder_threshold": 10,
            }
            for i, sku in enumerate(skus)
        ]
    )
    db[read_models.STOCK].insert_many(
        [
            read_models.new_stock_document(
                sku,
                store_id,
                10,
                rng.choice([rng.randint(0, 9)] + [rng.randint(10, 29)] * 2 + [rng.randint(30, 120)] * 2),
            )
            for sku in skus
        ]
    )
    ids = [f"cu_bench{i:05d}" for i in range(customers)]
    weights = [1.0 / (1 + i % 50) for i in range(customers)]
    order_docs = []
    for _ in range(orders):
        lines = []
        for sku in rng.sample(skus, rng.randint(1, 3)):
            quantity = rng.randint(1, 3)
            discount = rng.choice([0, 0, 0, prices[sku] // 10])
            lines.append(
                {
                    "sku": sku,
                    "quantity": quantity,
                    "unit_price_cents": prices[sku],
                    "discount_cents": discount,
                    "revenue_cents": quantity * prices[sku] - discount,
                    "cost_cents": quantity * prices[sku] // 2,
                }
            )
        order_docs.append(
            {
                "_id": str(uuid.UUID(int=rng.getrandbits(128))),
                "customer_id": rng.choices(ids, weights)[0],
                "store_id": store_id,
                "channel": "online",
                "occurred_at": now - timedelta(days=rng.uniform(0, 180)),
                "lines": lines,
                "revenue_cents": sum(line["revenue_cents"] for line in lines),
                "cost_cents": sum(line["cost_cents"] for line in lines),
                "discount_cents": sum(line["discount_cents"] for line in lines),
                "promotion_id": None,
            }
        )
    for start in range(0, len(order_docs), 5000):
        db[read_models.ORDERS].insert_many(order_docs[start : start + 5000])
    actions = ["view"] * 8 + ["add_to_cart", "checkout"]
    click_docs = [
        {
            "_id": str(uuid.UUID(int=rng.getrandbits(128))),
            "customer_id": rng.choice(ids),
            "session_id": "bench",
            "action": (a := rng.choice(actions)),
            "sku": None if a == "checkout" else rng.choice(skus),
            "promotion_id": None,
            "occurred_at": now - timedelta(minutes=rng.uniform(0, 120)),
        }
        for _ in range(clicks)
    ]
    for start in range(0, len(click_docs), 5000):
        db[read_models.CLICKS].insert_many(click_docs[start : start + 5000])
    plans = []
    for i in range(promotions):
        kind = ("percent_off", "percent_off", "amount_off", "bogo")[i % 4]
        scope = {"sku": skus[rng.randrange(products)]} if i % 2 == 0 else {"category": CATEGORIES[i % len(CATEGORIES)]}
        plans.append(
            PromotionIn(
                promotion_id=f"P-BENCH-{i:02d}",
                name=f"Bench promotion {i}",
                type=kind,
                discount_pct=rng.choice([10, 15, 20, 25]) if kind == "percent_off" else None,
                discount_cents=100 if kind == "amount_off" else None,
                starts_at=now - timedelta(days=1),
                ends_at=now + timedelta(days=30),
                budget_cents=100_000_000,
                max_per_customer_per_day=5,
                stock_cover_threshold=1.0,
                **scope,
            )
        )
    promotion_store = PromotionStore(db, Catalog(db, 60.0), 0.0)
    for plan in plans:
        promotion_store.create(plan)
    targets = [(plan.promotion_id, plan.sku) for plan in plans if plan.sku]
    if targets and exposures:
        _seed_experiment(db, rng, ids, order_docs, targets, exposures, store_id, now)
    return ids


def _seed_experiment(
    db: Database,
    rng: random.Random,
    ids: list[str],
    order_docs: list[dict],
    targets: list[tuple[str, str]],
    exposures: int,
    store_id: str,
    now: datetime,
) -> None:
    """Past exposures of the SKU-scoped bench promotions and their outcomes (a 50/50 randomized test)."""
    category_of = {doc["_id"]: doc["category"] for doc in db[read_models.PRODUCTS].find({}, {"category": 1})}
    bought: dict[str, set[str]] = {}
    for order in order_docs:
        bought.setdefault(order["customer_id"], set()).update(category_of[line["sku"]] for line in order["lines"])
    t0 = now - timedelta(days=10)
    exposure_docs, outcome_docs = [], []
    for n in range(exposures):
        customer, (promotion_id, sku) = rng.choice(ids), rng.choice(targets)
        arm = "treatment" if n % 2 else "control"
        at = t0 + timedelta(minutes=rng.uniform(0, 600))
        exposure_docs.append(
            {
                "_id": str(uuid.UUID(int=rng.getrandbits(128))),
                "customer_id": customer,
                "promotion_id": promotion_id,
                "arm": arm,
                "sku": sku,
                "occurred_at": at,
                "channel": "online",
            }
        )
        likes = category_of[sku] in bought.get(customer, ())
        rate = 0.08 + (0.20 if likes else 0.05) * (arm == "treatment")
        if rng.random() < rate:
            outcome_docs.append(
                {
                    "_id": str(uuid.UUID(int=rng.getrandbits(128))),
                    "customer_id": customer,
                    "store_id": store_id,
                    "channel": "online",
                    "occurred_at": at + timedelta(days=rng.uniform(0, 6)),
                    "promotion_id": promotion_id if arm == "treatment" else None,
                    "lines": [
                        {
                            "sku": sku,
                            "quantity": 1,
                            "unit_price_cents": 1000,
                            "discount_cents": 0,
                            "revenue_cents": 1000,
                            "cost_cents": 500,
                        }
                    ],
                    "revenue_cents": 1000,
                    "cost_cents": 500,
                    "discount_cents": 0,
                }
            )
    if exposure_docs:
        db[read_models.EXPOSURES].insert_many(exposure_docs)
    if outcome_docs:
        db[read_models.ORDERS].insert_many(outcome_docs)
