"""A seeded corpus of malformed Kafka records: what a broken or hostile producer could send.

Every case is invalid by construction (not by asking the validator), tagged with its kind so a
failure names what got through.
"""

from __future__ import annotations

import json
import random

from services.common.events import event_to_bytes
from tests.factories import order, product, restock

BROKER_SAFE_BYTES = 900_000  # a "1 MB" value that still fits the broker's default message.max.bytes (1,048,588)
UNICODE_NASTIES = ("😀", "\u202e", "\u200b", "\x00", "ß", "日本", "\ufeff", "e\u0301")


def _template(rng: random.Random, i: int) -> dict:
    """A valid event as a dict, to be broken."""
    kind = rng.choice(("order", "order", "product", "restock"))
    event = {
        "order": lambda: order("A1", 1, customer=f"cu_{i}", minutes=i),
        "product": lambda: product(f"P{i}"),
        "restock": lambda: restock("A1", 5),
    }[kind]()
    return json.loads(event_to_bytes(event))


def _wrong_type(rng: random.Random, doc: dict) -> dict:
    wrong = {
        "occurred_at": ["yesterday", [], {"t": 1}, True],
        "channel": ["fax", 3, None],
        "event_id": ["not-a-uuid", 42],
        "schema_version": [2, "1", None],
        "event_type": [5, None, ["order"]],
    }
    if doc["event_type"] == "order":
        wrong |= {
            "lines": [
                {},
                "A1",
                [],
                [{"sku": "A1", "quantity": "1", "unit_price_cents": 1000}],
                [{"sku": "A1", "quantity": 1.5, "unit_price_cents": 1000}],
                [{"sku": "A1", "quantity": True, "unit_price_cents": 1000}],
            ],
            "customer_id": [123, [], None],
            "store_id": [1.0, {}],
        }
    else:
        wrong |= {"sku": [7, None, ["A1"]]}
    field = rng.choice(sorted(wrong))
    return doc | {field: rng.choice(wrong[field])}


def _huge_number(rng: random.Random, doc: dict) -> bytes:
    if doc["event_type"] == "product":
        return json.dumps(doc | {"price_cents": rng.choice([10**30, -1, 2**63])}).encode()
    if doc["event_type"] == "restock":
        return json.dumps(doc | {"quantity": rng.choice([10**30, 0, 10_001])}).encode()
    literal = rng.choice(["1" + "0" * 5000, "1e400", "-1e400", "NaN", "Infinity", str(10**19), "-5", "0"])
    text = json.dumps(doc | {"lines": [{"sku": "A1", "quantity": "@Q", "unit_price_cents": 1000}]})
    return text.replace('"@Q"', literal).encode()


def _huge_string(rng: random.Random, doc: dict) -> dict:
    filler = rng.choice(("x", "é", "😀"))
    size = BROKER_SAFE_BYTES // len(filler.encode())
    field = "name" if doc["event_type"] == "product" else ("customer_id" if doc["event_type"] == "order" else "sku")
    return doc | {field: filler * size}


def _unicode(rng: random.Random, doc: dict) -> bytes:
    choice = rng.randrange(4)
    if choice == 0:  # identifiers outside the allowed alphabet
        field = "customer_id" if doc["event_type"] == "order" else "sku"
        return json.dumps(doc | {field: "cu" + rng.choice(UNICODE_NASTIES)}, ensure_ascii=rng.random() < 0.5).encode()
    if choice == 1:  # a lone surrogate as a key or as the type
        return (
            json.dumps(doc).replace('"event_type"', rng.choice(['"\\ud800"', '"event_type": "\\udfff", "x"'])).encode()
        )
    if choice == 2:  # invalid UTF-8 spliced in
        raw = json.dumps(doc).encode()
        cut = rng.randrange(1, len(raw) - 1)
        return raw[:cut] + rng.choice((b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80")) + raw[cut:]
    return ("\ufeff" + json.dumps(doc)).encode("utf-16")  # right text, wrong encoding


def _missing(rng: random.Random, doc: dict) -> dict:
    required = {
        "order": ["occurred_at", "channel", "order_id", "customer_id", "store_id", "lines", "event_type"],
        "product": [
            "occurred_at",
            "channel",
            "sku",
            "name",
            "category",
            "sub_category",
            "price_cents",
            "cost_cents",
            "event_type",
        ],
        "restock": ["occurred_at", "channel", "store_id", "sku", "quantity", "unit_cost_cents", "event_type"],
    }[doc["event_type"]]
    field = rng.choice(required)
    return {k: v for k, v in doc.items() if k != field}


def _not_an_object(rng: random.Random, doc: dict) -> bytes:
    return rng.choice(
        [
            b"[]",
            b"null",
            b"true",
            b"42",
            b'"order"',
            json.dumps([doc]).encode(),
            b"[" * 100_000 + b"]" * 100_000,
            b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
            b"{}",
            b"{" + b" " * 1000 + b"}",
        ]
    )


def _bad_time(rng: random.Random, doc: dict) -> dict:
    return doc | {
        "occurred_at": rng.choice(
            [
                "0001-01-01T00:00:00+14:00",
                "9999-12-31T23:59:59-14:00",
                "2026-03-02T09:00:00",
                "2026-02-30T00:00:00Z",
                "",
            ]
        )
    }


CASES = {
    "random_bytes": lambda rng, doc: rng.randbytes(rng.randint(1, 400)),
    "empty_value": lambda rng, doc: b"",
    "tombstone": lambda rng, doc: None,
    "truncated_json": lambda rng, doc: (raw := json.dumps(doc).encode())[: rng.randrange(1, len(raw) - 1)],
    "wrong_type": _wrong_type,
    "huge_number": _huge_number,
    "huge_string": _huge_string,
    "unicode": _unicode,
    "missing_field": _missing,
    "not_an_object": _not_an_object,
    "bad_timestamp": _bad_time,
    "extra_field": lambda rng, doc: doc | {rng.choice(["admin", "$where", "_id", "lines.0"]): True},
    "unknown_event_type": lambda rng, doc: doc | {"event_type": rng.choice(["refund", "ORDER", "order ", ""])},
}
HUGE_STRINGS = 6  # ~900 KB values are costly to move twice through Kafka: a handful, always
RARE = {"not_an_object": 0.05}  # includes 100k-deep nesting, which costs parse time


def malformed(rng: random.Random, count: int) -> list[tuple[str, bytes | None]]:
    """``count`` (kind, value) pairs; unknown-SKU and unknown-store orders are valid-shaped but refer to nothing."""
    kinds = [k for k in CASES if k != "huge_string"] + ["unknown_sku", "unknown_store"]
    weights = [RARE.get(k, 1.0) for k in kinds]
    out: list[tuple[str, bytes | None]] = []
    for i in range(count):
        kind = "huge_string" if i < HUGE_STRINGS else rng.choices(kinds, weights)[0]
        if kind == "unknown_sku":
            out.append((kind, event_to_bytes(order(f"ZZ{i}", 1, customer=f"cu_{i}", minutes=i))))
        elif kind == "unknown_store":
            out.append((kind, event_to_bytes(order("A1", 1, store_id=f"nowhere{i}", customer=f"cu_{i}", minutes=i))))
        else:
            value = CASES[kind](rng, _template(rng, i))
            out.append((kind, json.dumps(value, ensure_ascii=False).encode() if isinstance(value, dict) else value))
    return out
