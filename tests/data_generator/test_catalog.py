"""The simulated shop's static world: assortment, stores, customers."""

from __future__ import annotations

import random

from services.common.events import Channel
from services.data_generator.catalog import build_catalog
from services.data_generator.customers import build_customers
from services.data_generator.stores import MARKETPLACE_STORE_ID, STORES, WEB_STORE_ID


def test_catalog_has_at_least_200_skus_in_categories_and_subcategories():
    catalog = build_catalog()
    assert len(catalog) >= 200
    assert len({p.sku for p in catalog}) == len(catalog)
    assert len({p.name for p in catalog}) == len(catalog)
    assert len({p.category for p in catalog}) >= 6
    assert len({(p.category, p.sub_category) for p in catalog}) >= 24


def test_catalog_money_is_integer_cents_with_cost_below_price():
    for p in build_catalog():
        assert type(p.price_cents) is int and type(p.cost_cents) is int
        assert 0 < p.cost_cents < p.price_cents
        assert p.reorder_threshold > 0


def test_catalog_is_the_same_on_every_build():
    build_catalog.cache_clear()
    first = build_catalog()
    build_catalog.cache_clear()
    assert build_catalog() == first


def test_stores_include_physical_web_and_marketplace_with_coordinates():
    kinds = {s.kind for s in STORES}
    assert kinds == {"physical", "web", "marketplace"}
    assert sum(s.kind == "physical" for s in STORES) >= 8
    assert {WEB_STORE_ID, MARKETPLACE_STORE_ID} <= {s.store_id for s in STORES}
    assert all(-90 <= s.latitude <= 90 and -180 <= s.longitude <= 180 and s.region for s in STORES)


def test_customers_have_segments_channels_and_pseudonyms_hiding_raw_ids():
    customers = build_customers(random.Random(1), 500, "k")
    assert {c.segment for c in customers} == {"value", "regular", "premium"}
    assert {c.channel for c in customers} == set(Channel)
    assert all(c.customer_id.startswith("cu_") and c.raw_id not in c.customer_id for c in customers)
    assert all(abs(sum(c.affinity) - 1) < 1e-9 and 0 < c.propensity < 1 for c in customers)
    assert any("@" in c.raw_id for c in customers)
