"""The hand-written exposure bytes (``events.exposure_to_bytes``) against the model's own serialization."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest
from bson.tz_util import utc as bson_utc

from services.common.events import PromotionExposed, event_to_bytes, exposure_to_bytes, parse_event

CASES = [
    (
        datetime(2026, 11, 24, 1, 15, 9, 152771, tzinfo=timezone.utc),
        "online",
        "cu_0123456789abcdef01234567",
        "P-1",
        "treatment",
        "SKU-1",
    ),
    (
        datetime(2026, 1, 1, tzinfo=timezone.utc),
        "marketplace",
        "cu_x",
        "promo.2024:spring",
        "control",
        None,
    ),  # no microseconds
    (
        datetime(2026, 3, 1, 12, 0, 0, 5, tzinfo=bson_utc),
        "store",
        "c" * 64,
        "P_9",
        "treatment",
        "a-b.c",
    ),  # pymongo's UTC
]


@pytest.mark.parametrize("at, channel, customer_id, promotion_id, arm, sku", CASES)
def test_exposure_bytes_are_the_models_bytes(at, channel, customer_id, promotion_id, arm, sku) -> None:
    event_id = uuid4()
    fast = exposure_to_bytes(event_id, at, channel, customer_id, promotion_id, arm, sku)
    model = PromotionExposed(
        event_id=event_id,
        occurred_at=at,
        channel=channel,
        customer_id=customer_id,
        promotion_id=promotion_id,
        arm=arm,
        sku=sku,
    )
    assert fast == event_to_bytes(model)
    assert parse_event(fast) == model


@pytest.mark.parametrize(
    "change",
    [
        {"customer_id": 'cu_"quoted"'},
        {"sku": "x" * 65},
        {"arm": "both"},
        {"channel": "fax"},
        {"at": datetime(2026, 1, 1)},
        {"promotion_id": ""},
        {"customer_id": "cu_1\n"},
        {"sku": "SKU-1\n"},
    ],
)
def test_what_the_fast_path_cannot_vouch_for_is_refused_by_the_model(change) -> None:
    args = dict(zip(("at", "channel", "customer_id", "promotion_id", "arm", "sku"), CASES[0])) | change
    with pytest.raises(ValueError):
        exposure_to_bytes(
            uuid4(), args["at"], args["channel"], args["customer_id"], args["promotion_id"], args["arm"], args["sku"]
        )


def test_a_non_utc_time_goes_through_the_model_and_comes_out_in_utc() -> None:
    at = datetime(2026, 1, 1, 2, 0, tzinfo=timezone(timedelta(hours=2)))
    event_id = uuid4()
    assert b'"occurred_at":"2026-01-01T00:00:00Z"' in exposure_to_bytes(
        event_id, at, "online", "cu_1", "P-1", "treatment", None
    )
