"""Hand-entered sales: field messages for bad input, a valid OrderPlaced for good input."""

from __future__ import annotations

import pytest

from services.common.events import OrderPlaced, event_to_bytes, parse_event
from services.common.settings import load_settings
from services.dashboard.entry import build_sale, dashboard_customer, validate_sale
from tests.dashboard.conftest import seed_catalog


@pytest.fixture
def catalog(db, data):
    seed_catalog(db)
    return data.catalog()


@pytest.mark.parametrize(
    "form, messages",
    [
        (
            (None, None, None, None),
            {
                "sku": "Choose a product.",
                "store_id": "Choose a store.",
                "channel": "Choose a channel.",
                "quantity": "Enter a quantity.",
            },
        ),
        (
            ("ZZ", "s9", "fax", 0),
            {
                "sku": "Unknown product 'ZZ'.",
                "store_id": "Unknown store 's9'.",
                "channel": "Choose a channel.",
                "quantity": "Quantity must be between 1 and 10,000.",
            },
        ),
        (("A1", "s1", "online", 1.5), {"quantity": "Quantity must be a whole number."}),
        (("A1", "s1", "online", 3), {}),
    ],
)
def test_each_bad_field_gets_its_own_message(catalog, form, messages) -> None:
    sku, store_id, channel, quantity = form
    assert validate_sale(sku, store_id, channel, quantity, catalog) == messages


def test_a_valid_sale_is_an_order_at_the_catalog_price_with_a_pseudonymous_customer(catalog) -> None:
    settings = load_settings()
    sale = build_sale("B2", "s2", "store", 2, catalog, dashboard_customer("alice", settings))
    assert isinstance(parse_event(event_to_bytes(sale)), OrderPlaced)
    assert (sale.lines[0].unit_price_cents, sale.lines[0].revenue_cents, sale.channel.value) == (2500, 5000, "store")
    assert sale.customer_id.startswith("cu_") and "alice" not in sale.customer_id
