"""The read model against the real Mongo-protocol server: every number checked by hand."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from services.common import read_models
from services.dashboard.data import DashboardData
from services.dashboard.filters import Filters
from services.dashboard.formatting import change
from tests.dashboard.conftest import DAY, click_doc, insert_rollups, order_doc, rollup, seed_catalog

WEEK = Filters(DAY - timedelta(days=6), DAY)  # 2026-03-04 .. 2026-03-10


@pytest.fixture
def sales(db) -> None:
    seed_catalog(db)
    insert_rollups(
        db,
        [
            rollup(DAY, "A1", "s1", "online", units=1, revenue=1000, cost=600),
            rollup(DAY - timedelta(days=1), "B2", "s2", "store", units=2, revenue=5000, cost=2000),
            rollup(DAY - timedelta(days=6), "A1", "s1", "marketplace", units=3, revenue=3000, cost=1800),
            rollup(DAY - timedelta(days=7), "A1", "s1", "online", units=6, revenue=6000, cost=3000),  # previous week
            rollup(
                DAY - timedelta(days=14), "A1", "s1", "online", units=9, revenue=99_999, cost=1
            ),  # two weeks back: in neither
            rollup(DAY + timedelta(days=1), "A1", "s1", "online", units=9, revenue=77_777, cost=1),  # after the period
        ],
    )


def test_revenue_kpi_is_the_sum_of_rollups_in_the_period(data: DashboardData, sales) -> None:
    now, _ = data.compare_periods(WEEK)
    assert (now.revenue_cents, now.cost_cents, now.units) == (9000, 4400, 6)


def test_previous_period_has_equal_length_and_gives_the_delta(data: DashboardData, sales) -> None:
    previous = WEEK.previous()
    assert (previous.start, previous.end, previous.days) == (date(2026, 2, 25), date(2026, 3, 3), 7)
    now, before = data.compare_periods(WEEK)
    assert (now.revenue_cents, before.revenue_cents) == (9000, 6000)
    assert change(now.revenue_cents, before.revenue_cents) == pytest.approx(0.5)
    assert now.gross_margin == pytest.approx(4600 / 9000) and before.gross_margin == pytest.approx(0.5)


@pytest.mark.parametrize(
    "dimension, expected",
    [({"channels": ("online",)}, 1000), ({"regions": ("East",)}, 5000), ({"categories": ("Home",)}, 5000)],
)
def test_dimension_filters_restrict_the_rollups(data: DashboardData, sales, dimension: dict, expected: int) -> None:
    assert data.compare_periods(Filters(WEEK.start, WEEK.end, **dimension))[0].revenue_cents == expected


def test_orders_aov_and_conversion_come_from_orders_and_sessions(data: DashboardData, db) -> None:
    seed_catalog(db)
    db[read_models.ORDERS].insert_many(
        [
            order_doc(DAY, ["A1"], revenue=1000),
            order_doc(DAY, ["A1", "B2"], revenue=3000, minute=1),
            order_doc(DAY, ["B2"], channel="store", store_id="s2", revenue=5000),
            order_doc(DAY - timedelta(days=30), ["A1"], revenue=10),
        ]
    )
    db[read_models.CLICKS].insert_many([click_doc(DAY, s) for s in ("x1", "x1", "x2", "x3", "x4")])
    numbers, previous = data.compare_periods(WEEK)
    assert (previous.orders, previous.sessions, previous.conversion) == (0, 0, None)
    assert (numbers.orders, numbers.order_revenue_cents, numbers.aov_cents) == (3, 9000, 3000)
    assert (numbers.sessions, numbers.session_orders, numbers.conversion) == (
        4,
        2,
        0.5,
    )  # store orders have no sessions
    home, _ = data.compare_periods(Filters(WEEK.start, WEEK.end, categories=("Home",)))
    assert home.orders == 2  # orders with a Home line


def test_default_filters_end_on_the_last_day_with_sales(data: DashboardData, sales) -> None:
    f = data.filters(None)
    assert (f.start, f.end) == (date(2026, 2, 10), date(2026, 3, 11))
    assert data.filters({"start": "2026-03-04", "end": "2026-03-10", "channels": ["store"]}) == Filters(
        WEEK.start, WEEK.end, channels=("store",)
    )


def test_trend_groups_by_day_and_channel_for_both_periods(data: DashboardData, sales) -> None:
    trend = data.sales_by_day_channel(WEEK)
    assert list(zip(trend["date"].dt.strftime("%m-%d"), trend["channel"], trend["revenue_cents"])) == [
        ("03-04", "marketplace", 3000),
        ("03-09", "store", 5000),
        ("03-10", "online", 1000),
    ]
    previous = data.previous_sales_by_day_channel(WEEK)
    assert list(zip(previous["date"].dt.strftime("%m-%d"), previous["revenue_cents"])) == [("03-03", 6000)]


def test_category_and_segment_views_share_one_mix(data: DashboardData, sales) -> None:
    categories = data.sales_by_category(WEEK)
    assert list(zip(categories["category"], categories["revenue_cents"])) == [("Grocery", 4000), ("Home", 5000)]
    segments = data.sales_by_segment(WEEK)
    assert list(zip(segments["channel"], segments["region"], segments["revenue_cents"])) == [
        ("marketplace", "West", 3000),
        ("online", "West", 1000),
        ("store", "East", 5000),
    ]


def test_discount_bands_show_which_discounts_lose_money(data: DashboardData, db) -> None:
    seed_catalog(db)
    insert_rollups(
        db,
        [
            rollup(DAY, "A1", channel="online", revenue=1000, cost=600),
            rollup(DAY, "A1", channel="store", revenue=950, cost=600, discount=50),
            rollup(DAY, "B2", channel="online", revenue=600, cost=800, discount=400),
        ],
    )
    bands = data.discount_bands(WEEK).set_index("band")["profit_cents"].to_dict()
    assert bands == {"no discount": 400, "0–10%": 350, "40%+": -200}


def test_top_movers_rank_risers_then_fallers(data: DashboardData, sales) -> None:
    movers = data.top_movers(WEEK)
    assert list(zip(movers["sku"], movers["change_cents"])) == [("B2", 5000), ("A1", -2000)]
    assert movers["name"].tolist() == ["Bowls", "Apples"]


def test_bestsellers_and_stores_join_the_catalog(data: DashboardData, sales) -> None:
    skus = data.sales_by_sku(WEEK)
    assert list(zip(skus["sku"], skus["name"], skus["revenue_cents"])) == [
        ("B2", "Bowls", 5000),
        ("A1", "Apples", 4000),
    ]
    stores = data.sales_by_store(WEEK)
    assert list(zip(stores["name"], stores["region"], stores["revenue_cents"])) == [
        ("Boston", "East", 5000),
        ("Seattle", "West", 4000),
    ]


def test_stock_and_alerts_follow_region_and_category_filters(data: DashboardData, db) -> None:
    seed_catalog(db)
    db[read_models.STOCK].insert_many(
        [
            {
                "_id": "A1|s1",
                "sku": "A1",
                "store_id": "s1",
                "on_hand": 2,
                "reorder_threshold": 3,
                "status": "low",
                "sold_units": 8,
                "backordered_units": 0,
            },
            {
                "_id": "B2|s2",
                "sku": "B2",
                "store_id": "s2",
                "on_hand": 0,
                "reorder_threshold": 3,
                "status": "out",
                "sold_units": 5,
                "backordered_units": 2,
            },
        ]
    )
    at = datetime(2026, 3, 9, 12, tzinfo=timezone.utc)
    db[read_models.ALERTS].insert_many(
        [
            {
                "_id": "1",
                "kind": "low_stock",
                "sku": "A1",
                "store_id": "s1",
                "on_hand": 2,
                "threshold": 3,
                "message": "A1 low",
                "created_at": at,
            },
            {
                "_id": "2",
                "kind": "out_of_stock",
                "sku": "B2",
                "store_id": "s2",
                "on_hand": 0,
                "threshold": 3,
                "message": "B2 out",
                "created_at": at,
            },
            {
                "_id": "3",
                "kind": "low_stock",
                "sku": "A1",
                "store_id": "s1",
                "on_hand": 1,
                "threshold": 3,
                "message": "old",
                "created_at": at - timedelta(days=30),
            },
        ]
    )
    west = Filters(WEEK.start, WEEK.end, regions=("West",))
    assert data.stock_levels(west)[["sku", "status", "category"]].values.tolist() == [["A1", "low", "Grocery"]]
    assert data.alerts(west)["message"].tolist() == ["A1 low"]
    assert data.alerts(Filters(WEEK.start, WEEK.end, categories=("Home",)))["message"].tolist() == ["B2 out"]


def test_sku_history_is_zero_filled_across_channels(data: DashboardData, sales) -> None:
    history = data.sku_history("A1", "s1", DAY, days=7)
    assert history["units"].tolist() == [3, 0, 0, 0, 0, 0, 1]
    assert history["date"].iloc[0].date() == DAY - timedelta(days=6)


def test_results_are_cached_for_the_ttl(db, sales) -> None:
    cached = DashboardData(db, ttl_s=60)
    before = cached.compare_periods(WEEK)[0].revenue_cents
    insert_rollups(db, [rollup(DAY, "B2", "s1", "online", revenue=1)])
    assert cached.compare_periods(WEEK)[0].revenue_cents == before
    cached.clear_cache()
    assert cached.compare_periods(WEEK)[0].revenue_cents == before + 1
