"""Reading what the data consumer wrote to MongoDB into the frames the forecast core takes.

The consumer keeps one ``daily_sales`` rollup per day × SKU × store × channel and only creates it
when something sells, so two things happen here: channels are summed (shelves and reorders are per
SKU × store), and days without a rollup become explicit zeros from a series' first sale on — in the
rollups a missing day *is* a day with no sales, while the model treats a missing value as "not
observed". Units are gross units sold (returns are not netted out: a returned item still left the
shelf on the day it sold). The current UTC day is excluded by default: its rollup is still filling;
the history then ends on the last day anything sold.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
from pymongo.database import Database

from services.common import read_models

DATE_COL = "date"
SERIES_KEYS: tuple[str, str] = ("sku", "store_id")
TARGET = "units"
_BATCH = 20_000  # documents per reply; the server sends an unbounded first batch otherwise


def today_utc() -> date:
    return datetime.now(timezone.utc).date()


def _day_filter(since: date | None, until: date | None) -> dict:
    bounds: dict[str, str] = {}
    if since is not None:
        bounds["$gte"] = since.isoformat()
    if until is not None:
        bounds["$lte"] = until.isoformat()
    return {"day": bounds} if bounds else {}


def last_complete_day(today: date | None = None) -> date:
    """The newest day whose rollups are final: yesterday in UTC."""
    return (today or today_utc()) - timedelta(days=1)


def sales_day_span(db: Database, until: date | None = None) -> tuple[date, date] | None:
    """First and last day with any rollup (up to ``until``), or None when there are none.

    A ``$group`` with ``$min``/``$max`` rather than two sorted finds: the test server ignores
    secondary indexes, and one scan without a sort measured 0.4 s instead of 2.7 s on 745k rollups.
    """
    pipeline: list[dict] = []
    match = _day_filter(None, until)
    if match:
        pipeline.append({"$match": match})
    pipeline.append({"$group": {"_id": None, "first": {"$min": "$day"}, "last": {"$max": "$day"}}})
    result = next(iter(db[read_models.DAILY_SALES].aggregate(pipeline)), None)
    if result is None or result.get("first") is None:
        return None
    return date.fromisoformat(result["first"]), date.fromisoformat(result["last"])


def daily_units(db: Database, since: date | None = None, until: date | None = None) -> pd.DataFrame:
    """Units per day × SKU × store (channels summed) as ``date, sku, store_id, units``, as stored.

    Read with a projected ``find`` in bounded batches and summed in pandas: on mongo-java-server a
    ``$group`` over 745k rollups took 16 s and then failed, its single reply exceeding the 48 MB
    message limit; the find takes ~5 s.
    """
    projection = {"_id": 0, "day": 1, "sku": 1, "store_id": 1, "units": 1}
    cursor = db[read_models.DAILY_SALES].find(_day_filter(since, until), projection, batch_size=_BATCH)
    rows = [(doc["day"], doc["sku"], doc["store_id"], doc.get("units", 0)) for doc in cursor]
    frame = pd.DataFrame(rows, columns=[DATE_COL, *SERIES_KEYS, TARGET])
    frame = frame.groupby([DATE_COL, *SERIES_KEYS], as_index=False, sort=False)[TARGET].sum()
    frame[DATE_COL] = pd.to_datetime(frame[DATE_COL])
    frame[TARGET] = frame[TARGET].astype(float)
    return frame


def densify(
    frame: pd.DataFrame, last_day: date, known_keys: pd.DataFrame | None = None, known_since: date | None = None
) -> pd.DataFrame:
    """Zero-fill days without a rollup, from each series' first sale (or ``known_since`` for
    ``known_keys``) to ``last_day``; sorted by date then keys."""
    keys = list(SERIES_KEYS)
    end = pd.Timestamp(last_day)
    frame = frame[frame[DATE_COL] <= end]
    starts = frame.groupby(keys)[DATE_COL].min()
    if known_keys is not None and known_since is not None and len(known_keys):
        known = pd.Series(pd.Timestamp(known_since), index=pd.MultiIndex.from_frame(known_keys[keys]))
        starts = pd.concat([starts, known]).groupby(level=[0, 1]).min()
    if starts.empty:
        return pd.DataFrame(
            {
                DATE_COL: pd.Series(dtype="datetime64[ns]"),
                "sku": pd.Series(dtype=str),
                "store_id": pd.Series(dtype=str),
                TARGET: pd.Series(dtype=float),
            }
        )
    first = starts.min()
    dates = pd.date_range(first, end, freq="D")
    series = starts.index
    grid = np.zeros((len(dates), len(series)))
    if not frame.empty:
        day = (frame[DATE_COL] - first).dt.days.to_numpy()
        column = series.get_indexer(pd.MultiIndex.from_frame(frame[keys]))
        np.add.at(grid, (day, column), frame[TARGET].to_numpy(dtype=float))
    start_day = (starts.to_numpy(dtype="datetime64[ns]") - np.datetime64(first, "ns")) // np.timedelta64(1, "D")
    alive = np.arange(len(dates))[:, None] >= start_day[None, :]
    day_index, column_index = np.nonzero(alive)
    out = pd.DataFrame(
        {
            DATE_COL: dates[day_index],
            "sku": series.get_level_values(0)[column_index],
            "store_id": series.get_level_values(1)[column_index],
            TARGET: grid[day_index, column_index],
        }
    )
    return out.reset_index(drop=True)


def training_history(db: Database, until: date | None = None) -> pd.DataFrame:
    """All complete days of sales (to ``until``, default yesterday), zero-filled per series up to the
    last day anything sold: what `POST /train` fits on."""
    last = until or last_complete_day()
    raw = daily_units(db, until=last)
    if raw.empty:
        return densify(raw, last)
    return densify(raw, min(last, raw[DATE_COL].max().date()))


def history_since(db: Database, since: date, known_keys: pd.DataFrame, until: date | None = None) -> pd.DataFrame:
    """Complete days from ``since`` on, zero-filled for the series a model already knows too."""
    last = until or last_complete_day()
    raw = daily_units(db, since=since, until=last)
    if raw.empty:
        return raw
    return densify(raw, raw[DATE_COL].max().date(), known_keys=known_keys, known_since=since)


def known_ids(db: Database, collection: str, ids: Iterable[str] | None = None) -> set[str]:
    """``_id``s present in a catalog collection (products, stores), optionally only among ``ids``."""
    query = {} if ids is None else {"_id": {"$in": sorted(set(ids))}}
    return {doc["_id"] for doc in db[collection].find(query, {"_id": 1})}


def product(db: Database, sku: str) -> dict | None:
    return db[read_models.PRODUCTS].find_one({"_id": sku})


def on_hand(db: Database, store_id: str | None = None) -> dict[tuple[str, str], float]:
    """Current stock per (sku, store_id) from the consumer's ``stock`` documents."""
    query = {"store_id": store_id} if store_id else {}
    return {
        (doc["sku"], doc["store_id"]): float(doc.get("on_hand", 0))
        for doc in db[read_models.STOCK].find(query, {"sku": 1, "store_id": 1, "on_hand": 1})
    }


def daily_price_and_units(db: Database, sku: str) -> pd.DataFrame:
    """One SKU's units and effective price per day, all stores and channels: the elasticity input.

    Effective price = revenue / units, i.e. after line discounts, in cents.
    """
    pipeline = [
        {"$match": {"sku": sku}},
        {"$group": {"_id": "$day", "units": {"$sum": "$units"}, "revenue_cents": {"$sum": "$revenue_cents"}}},
    ]
    rows = [(doc["_id"], doc["units"], doc["revenue_cents"]) for doc in db[read_models.DAILY_SALES].aggregate(pipeline)]
    frame = pd.DataFrame(rows, columns=[DATE_COL, "units", "revenue_cents"])
    frame[DATE_COL] = pd.to_datetime(frame[DATE_COL])
    frame = frame[frame["units"] > 0].sort_values(DATE_COL).reset_index(drop=True)
    frame["price_cents"] = frame["revenue_cents"] / frame["units"]
    return frame


def totals_by_item(db: Database, store_id: str | None = None) -> pd.DataFrame:
    """Per SKU: units sold and profit (revenue − cost, cents) over all stored rollups."""
    pipeline: list[dict] = []
    if store_id:
        pipeline.append({"$match": {"store_id": store_id}})
    pipeline.append(
        {
            "$group": {
                "_id": "$sku",
                "units": {"$sum": "$units"},
                "revenue_cents": {"$sum": "$revenue_cents"},
                "cost_cents": {"$sum": "$cost_cents"},
            }
        }
    )
    rows = [
        (doc["_id"], doc["units"], doc["revenue_cents"] - doc["cost_cents"])
        for doc in db[read_models.DAILY_SALES].aggregate(pipeline)
    ]
    return pd.DataFrame(rows, columns=["sku", "units", "profit_cents"])
