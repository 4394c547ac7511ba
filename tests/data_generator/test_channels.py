"""Channel adapters: native order formats in, common events out — exact cents, UTC, pseudonyms only."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from services.common.events import event_to_bytes
from services.common.privacy import pseudonymize
from services.data_generator.channels import (
    AdapterError,
    MarketplaceAdapter,
    OnlineShopAdapter,
    PosAdapter,
    Sale,
    SaleLine,
)
from services.data_generator.channels.pos import ANONYMOUS_CUSTOMER

KEY = "test-pseudonym-key"
EMAIL = "Ava.Chen12@Example.com"
CARD = "603412345678901"
BUYER = "MB9F2C00AA11BB22CC"
AT = datetime(2026, 3, 2, 14, 15, 0, tzinfo=timezone.utc)


def sale(customer: str, store_id: str, offset_minutes: int = 0, promotion_id: str | None = None) -> Sale:
    lines = (SaleLine("GRO-SNK-001", 3, 1299, 390), SaleLine("ELE-HPH-002", 1, 4599, 0))
    return Sale("R0001A", customer, store_id, AT, offset_minutes, lines, promotion_id)


def online_payload(**changes: object) -> dict:
    payload = {
        "orderNumber": "W1001",
        "placedAt": "2026-03-02T09:15:00-05:00",
        "currency": "USD",
        "customer": {"email": EMAIL},
        "items": [{"sku": "GRO-SNK-001", "qty": 3, "price": "12.99", "discount": "3.90"}],
        "promoCode": None,
    }
    return payload | changes


def receipt(
    total: str = "35.07", count: str = "2", offset: str = "-05:00", card: str = CARD, item_qty: str = "3"
) -> str:
    return (
        f"H|R-77|s-nyc|2026-03-02 09:15:00|{offset}|{card}|\n"
        f"L|GRO-SNK-001|{item_qty}|12.99|3.90\n"
        f"L|ELE-HPH-002|1|0.00|0.00\n"
        f"T|{count}|{total}\n"
    )


def feed(**order_changes: object) -> dict:
    order = {
        "mp_order_id": "M-1",
        "buyer_token": BUYER,
        "purchase_ts_ms": 1_772_460_900_000,
        "promotion_ref": None,
        "order_lines": [{"seller_sku": "ELE-HPH-003", "units": 2, "unit_price": "10.00", "promo_discount": "1.00"}],
    }
    return {"feed_currency": "EUR", "orders": [order | order_changes]}


# --- online shop -------------------------------------------------------------------------------


def test_online_order_becomes_an_order_in_exact_cents_at_utc_time_with_a_pseudonymous_customer():
    [order] = OnlineShopAdapter(KEY).parse(json.dumps(online_payload()))
    assert order.occurred_at == AT and order.occurred_at.tzinfo == timezone.utc
    assert (order.lines[0].unit_price_cents, order.lines[0].discount_cents, order.lines[0].revenue_cents) == (
        1299,
        390,
        3507,
    )
    assert (order.channel.value, order.store_id, order.order_id) == ("online", "web", "W1001")
    assert order.customer_id == pseudonymize(EMAIL, KEY)
    assert EMAIL.lower().encode() not in event_to_bytes(order).lower()


def test_online_prices_are_read_as_decimals_never_through_float():
    [order] = OnlineShopAdapter(KEY).parse(
        '{"orderNumber":"W2","placedAt":"2026-03-02T14:15:00Z","customer":{"email":"a@b.c"},'
        '"items":[{"sku":"A1","qty":1,"price":1.005},{"sku":"A2","qty":1,"price":"0.125"}]}'
    )
    assert [line.unit_price_cents for line in order.lines] == [100, 12]  # half-even: 100.5 → 100, 12.5 → 12


def test_online_round_trip_of_a_rendered_sale_keeps_every_cent_and_the_same_event_id():
    adapter = OnlineShopAdapter(KEY)
    native = adapter.render(sale(EMAIL, "web", promotion_id="PR0001-000-1"))
    [first], [again] = adapter.parse(native), adapter.parse(native)
    assert [(ln.sku, ln.quantity, ln.unit_price_cents, ln.discount_cents) for ln in first.lines] == [
        ("GRO-SNK-001", 3, 1299, 390),
        ("ELE-HPH-002", 1, 4599, 0),
    ]
    assert (first.occurred_at, first.promotion_id) == (AT, "PR0001-000-1")
    assert first.event_id == again.event_id


@pytest.mark.parametrize(
    ("payload", "names"),
    [
        ("{not json", "not valid JSON"),
        ('["an", "array"]', "expected a JSON object"),
        (online_payload(orderNumber=None), "orderNumber is missing"),
        (online_payload(items=[]), "items must be a non-empty list"),
        (
            online_payload(items=[{"sku": "A1", "qty": "2", "price": "1.00"}]),
            "items[0].qty must be a positive whole number",
        ),
        (online_payload(items=[{"sku": "A1", "qty": 1, "price": "12,99"}]), "items[0].price"),
        (online_payload(items=[{"sku": "A1", "qty": 1, "price": "-1.00"}]), "items[0].price must not be negative"),
        (
            online_payload(items=[{"sku": "A1", "qty": 1, "price": "1.00", "discount": "2.00"}]),
            "items[0]: discount exceeds",
        ),
        (
            online_payload(items=[{"sku": "bad sku!", "qty": 1, "price": "1.00"}]),
            "items[0].sku: String should match pattern",
        ),
        (online_payload(placedAt="2026-03-02T09:15:00"), "placedAt '2026-03-02T09:15:00' has no UTC offset"),
        (online_payload(placedAt="yesterday"), "placedAt 'yesterday' is not an ISO-8601 timestamp"),
        (online_payload(currency="EUR"), "currency 'EUR' is not supported"),
        (online_payload(customer={"email": "not-an-email"}), "customer.email is not an email address"),
    ],
)
def test_malformed_online_order_raises_adapter_error_naming_the_field(payload, names):
    native = payload if isinstance(payload, str) else json.dumps(payload)
    with pytest.raises(AdapterError) as caught:
        OnlineShopAdapter(KEY).parse(native)
    assert str(caught.value).startswith("online shop order: ") and names in str(caught.value)


def test_raw_identifier_resembling_a_pseudonym_is_hashed_not_passed_through():
    [order] = OnlineShopAdapter(KEY).parse(json.dumps(online_payload(customer={"email": "cu_bob@example.com"})))
    assert order.customer_id == pseudonymize("cu_bob@example.com", KEY)
    assert "bob" not in event_to_bytes(order).decode()


def test_a_pseudonym_with_a_trailing_newline_is_hashed_not_passed_through():
    pseudonym = pseudonymize("alice@example.com", KEY)
    assert pseudonymize(pseudonym, KEY) == pseudonym
    assert pseudonymize(pseudonym + "\n", KEY) != pseudonym + "\n"


# --- store POS ---------------------------------------------------------------------------------


def test_pos_receipt_in_local_time_becomes_a_utc_order_with_a_pseudonymous_card():
    [order] = PosAdapter(KEY).parse(receipt())
    assert order.occurred_at == AT and order.occurred_at.utcoffset() == timedelta(0)
    assert (order.channel.value, order.store_id, order.order_id) == ("store", "s-nyc", "R-77")
    assert [(ln.quantity, ln.unit_price_cents, ln.discount_cents) for ln in order.lines] == [(3, 1299, 390), (1, 0, 0)]
    assert order.customer_id == pseudonymize(CARD, KEY)
    assert CARD.encode() not in event_to_bytes(order)


def test_pos_round_trip_of_a_rendered_sale_prints_local_time_and_parses_back_to_utc():
    adapter = PosAdapter(KEY)
    native = adapter.render(sale(CARD, "s-lax", offset_minutes=-480))
    assert "|2026-03-02 06:15:00|-08:00|" in native
    [order] = adapter.parse(native)
    assert order.occurred_at == AT
    assert sum(ln.revenue_cents for ln in order.lines) == 3 * 1299 - 390 + 4599


def test_pos_receipt_without_loyalty_card_belongs_to_the_anonymous_walk_in_customer():
    [order] = PosAdapter(KEY).parse(receipt(card=""))
    assert order.customer_id == ANONYMOUS_CUSTOMER


@pytest.mark.parametrize(
    ("native", "names"),
    [
        (receipt(total="35.08"), "line 4: total 35.08 does not match the items (35.07)"),
        (receipt(count="3"), "line 4: trailer says 3 items, the receipt has 2"),
        (receipt(offset="EST"), "line 1: UTC offset 'EST' is not in the form ±HH:MM"),
        (receipt(item_qty="two"), "line 2: quantity must be a positive whole number, got 'two'"),
        (receipt().replace("T|2|35.07\n", ""), "line 3: expected the trailer"),
        (receipt().replace("2026-03-02 09:15:00", "02/03/2026 09:15"), "line 1: local time '02/03/2026 09:15'"),
        ("H|R-1|s-nyc\n", "expected a header, at least one item and a trailer line"),
    ],
)
def test_malformed_pos_receipt_raises_adapter_error_naming_the_line(native, names):
    with pytest.raises(AdapterError) as caught:
        PosAdapter(KEY).parse(native)
    assert str(caught.value).startswith("POS receipt: ") and names in str(caught.value)


# --- marketplace -------------------------------------------------------------------------------


def test_marketplace_eur_amounts_convert_to_usd_cents_at_the_fixed_rate():
    [order] = MarketplaceAdapter(KEY).parse(json.dumps(feed()))
    line = order.lines[0]
    assert (line.unit_price_cents, line.discount_cents) == (
        1085,
        108,
    )  # 10.00 EUR × 1.085; 1.00 EUR = 108.5 ¢ → half-even 108
    assert order.occurred_at == datetime(2026, 3, 2, 14, 15, tzinfo=timezone.utc)
    assert (order.channel.value, order.store_id) == ("marketplace", "mkt")
    assert order.customer_id == pseudonymize(BUYER, KEY) and BUYER.encode() not in event_to_bytes(order)


def test_marketplace_feed_with_several_orders_gives_one_event_each():
    document = feed()
    document["orders"].append(document["orders"][0] | {"mp_order_id": "M-2", "promotion_ref": "PR0001-000-2"})
    orders = MarketplaceAdapter(KEY).parse(json.dumps(document))
    assert [(o.order_id, o.promotion_id) for o in orders] == [("M-1", None), ("M-2", "PR0001-000-2")]
    assert orders[0].event_id != orders[1].event_id


def test_marketplace_round_trip_of_a_rendered_sale_lands_within_a_cent_of_the_usd_price():
    adapter = MarketplaceAdapter(KEY)
    [order] = adapter.parse(adapter.render(sale(BUYER, "mkt")))
    assert order.occurred_at == AT
    assert [abs(ln.unit_price_cents - want) <= 1 for ln, want in zip(order.lines, (1299, 4599))] == [True, True]


@pytest.mark.parametrize(
    ("document", "names"),
    [
        (feed() | {"feed_currency": "USD"}, "feed_currency 'USD' is not supported"),
        (feed(purchase_ts_ms="2026-03-02"), "orders[0].purchase_ts_ms must be epoch milliseconds"),
        (feed(purchase_ts_ms=1_772_460_900_000_000), "orders[0].purchase_ts_ms must be epoch milliseconds"),
        (
            feed(order_lines=[{"seller_sku": "A1", "units": 0, "unit_price": "1.00"}]),
            "orders[0].order_lines[0].units must be a positive whole number",
        ),
        (
            feed(order_lines=[{"seller_sku": "A1", "units": 1, "unit_price": "abc"}]),
            "orders[0].order_lines[0].unit_price",
        ),
        (feed(buyer_token=""), "orders[0].buyer_token must be a non-empty string"),
        ({"feed_currency": "EUR", "orders": []}, "orders must be a non-empty list"),
    ],
)
def test_malformed_marketplace_feed_raises_adapter_error_naming_the_field(document, names):
    with pytest.raises(AdapterError) as caught:
        MarketplaceAdapter(KEY).parse(json.dumps(document))
    assert str(caught.value).startswith("marketplace feed: ") and names in str(caught.value)
