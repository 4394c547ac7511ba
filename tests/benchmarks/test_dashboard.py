"""The benchmark's simulated database reads the same through the summaries as through the per-SKU rollups.

The summaries are checked against aggregations over ``daily_sales`` (an independent path over the same
simulated lines), over a period that takes whole months from month summaries and its ends from day ones.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pymongo.database import Database

from services.benchmarks.dashboard import bench_pages, fill_database, run_dashboard_bench
from services.common import read_models, store
from services.dashboard.data import DashboardData
from services.dashboard.filters import Filters
from services.data_consumer.rollups import new_summary_document
from services.data_consumer.validation import CatalogCache
from tests.dashboard.conftest import db  # noqa: F401 (fixture, used by name)

END = date(2026, 3, 10)
PERIOD = Filters(date(2026, 1, 5), END)  # Jan 5–31 and Mar 1–10 from day summaries, February from its month summary


@pytest.fixture
def filled(db: Database) -> Database:
    fill_database(db, orders=3000, days=90, skus=20, stores=3, event_days=10, end=END)
    return db


def _rollup_sums(db: Database, f: Filters, key: str, categories: tuple[str, ...] = ()) -> dict:
    match = {"day": {"$gte": f.start.isoformat(), "$lte": f.end.isoformat()}} | (
        {"category": {"$in": list(categories)}} if categories else {}
    )
    return {
        d["_id"]: d["revenue_cents"]
        for d in db[read_models.DAILY_SALES].aggregate(
            [{"$match": match}, {"$group": {"_id": f"${key}", "revenue_cents": {"$sum": "$revenue_cents"}}}]
        )
    }


def test_summaries_have_the_consumers_shape(filled: Database) -> None:
    day = filled[read_models.SALES_SUMMARY].find_one({"grain": "day"})
    month = filled[read_models.SALES_SUMMARY].find_one({"grain": "month"})
    built = new_summary_document(day["_id"], CatalogCache(filled))
    assert set(day) == set(month) == set(built) | {"version", "applied"}
    assert all(
        set(doc[table]) == set(built[table]) for doc in (day, month) for table in ("skus", "categories", "discounts")
    )
    assert (day["period"], day["store_id"], day["channel"]) == tuple(day["_id"].split("|")) and len(
        month["period"]
    ) == 7


def test_period_numbers_from_summaries_equal_the_rollups(filled: Database) -> None:
    data = DashboardData(filled, ttl_s=0)
    by_sku = data.sales_by_sku(PERIOD).set_index("sku")["revenue_cents"].to_dict()
    assert by_sku == _rollup_sums(filled, PERIOD, "sku") and len(by_sku) == 20
    assert data.sales_by_store(PERIOD).set_index("store_id")["revenue_cents"].to_dict() == _rollup_sums(
        filled, PERIOD, "store_id"
    )
    assert (
        data.compare_periods(PERIOD)[0].revenue_cents
        == sum(by_sku.values())
        == int(data.discount_bands(PERIOD)["revenue_cents"].sum())
    )
    home = Filters(PERIOD.start, PERIOD.end, categories=("Furniture",))
    assert data.sales_by_category(home).groupby("category")["revenue_cents"].sum().to_dict() == _rollup_sums(
        filled, PERIOD, "category", ("Furniture",)
    )
    assert data.compare_periods(home)[0].revenue_cents == sum(
        _rollup_sums(filled, PERIOD, "category", ("Furniture",)).values()
    )
    trend = data.sales_by_day_channel(PERIOD)
    assert trend.groupby(trend["date"].dt.strftime("%Y-%m-%d"))["revenue_cents"].sum().to_dict() == _rollup_sums(
        filled, PERIOD, "day"
    )


def test_sku_history_reads_the_rollups_by_id(filled: Database) -> None:
    data = DashboardData(filled, ttl_s=0)
    history = data.sku_history("SKU0000", "ST00", END, days=40)
    rows = filled[read_models.DAILY_SALES].find(
        {"sku": "SKU0000", "store_id": "ST00", "day": {"$gte": (END - timedelta(days=39)).isoformat()}}
    )
    expected: dict[str, int] = {}
    for row in rows:
        expected[row["day"]] = expected.get(row["day"], 0) + row["units"]
    got = {d.strftime("%Y-%m-%d"): u for d, u in zip(history["date"], history["units"]) if u}
    assert got == expected and len(history) == 40 and expected


def test_bench_times_every_page_and_drops_its_database(isolated_settings) -> None:
    result = bench_pages(isolated_settings, orders=2000, days=60, repeats=1)
    assert set(result["pages"]) == {"overview", "sales", "inventory", "promotions", "forecasts", "baskets", "reports"}
    assert all(
        t["cold_30d_ms"] > 0 and t["cold_full_ms"] > 0 and t["warm_30d_ms"] >= 0 and t["warm_full_ms"] >= 0
        for t in result["pages"].values()
    )
    assert (
        result["documents"][read_models.SALES_SUMMARY] > 60 * 3
        and result["slowest_cold_full_ms"] >= result["pages"]["sales"]["cold_full_ms"]
    )
    client = store.connect(isolated_settings.mongo_uri, isolated_settings.mongo_db).client
    assert not [
        name for name in client.list_database_names() if name.startswith(f"{isolated_settings.mongo_db}_bench_")
    ]


def test_bad_sizes_fail_before_a_server_starts(isolated_settings) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        run_dashboard_bench(isolated_settings, orders=0)
