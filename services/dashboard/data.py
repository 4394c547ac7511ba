"""Every MongoDB read of the dashboard: cached aggregations over the rollups, shaped for pages.

Callbacks never query; they ask this module. Sales numbers come from ``sales_summary`` (per day and
per month × store × channel, written by the data consumer) except what only the event collections
know: order counts (an order spans rollup rows), sessions, baskets. Every public method is cached
for ``ttl_s`` so a page refresh costs at most one query per aggregate.

The Mongo-protocol server scans a whole collection for any query not by ``_id`` alone, so the pages
read the small summary collection (~22k documents for two years of 10 stores) rather than the
per-SKU ``daily_sales`` (~900k): the day × category entries of the period and the previous one serve
the KPIs, both comparison periods and the trend; the SKU and discount entries of the period (whole
months from month summaries, the days at either end from day summaries) serve categories, segments,
stores, bestsellers and discount bands, one read for all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any, TypeVar

import pandas as pd
from pymongo.database import Database

from services.common import read_models
from services.common.events import Channel
from services.dashboard.baskets import association_rules
from services.dashboard.cache import TTLCache
from services.dashboard.filters import Filters

T = TypeVar("T")
HEARTBEAT_STALE_S = 30
# ids per `_id: {$in}` lookup: the server checks each match against the whole list, so cost grows with its square
ID_CHUNK = 400
LATEST_DAY_TTL_S = 60.0  # only picks the default window: a full scan per minute is plenty
MONEY = ("units", "revenue_cents", "cost_cents")
SKU_COLUMNS = ["store_id", "channel", "region", "sku", *MONEY, "returned_units"]
DISCOUNT_COLUMNS = ["category", "band", "revenue_cents", "cost_cents"]
FETCH_BATCH = 2_000  # summaries per reply: keeps each reply far below the server's 48 MB cap


@dataclass(frozen=True)
class Catalog:
    """Products and stores, for names, dropdown options and filters the rollups cannot apply themselves."""

    products: pd.DataFrame  # sku, name, category, sub_category, price_cents, cost_cents
    stores: pd.DataFrame  # store_id, name, region, latitude, longitude

    @property
    def categories(self) -> list[str]:
        return sorted(self.products["category"].dropna().unique().tolist())

    @property
    def regions(self) -> list[str]:
        return sorted(self.stores["region"].dropna().unique().tolist())

    def skus_in(self, categories: tuple[str, ...]) -> list[str] | None:
        """SKUs of the chosen categories, or None when the filter is off."""
        if not categories:
            return None
        return self.products.loc[self.products["category"].isin(categories), "sku"].tolist()

    def stores_in(self, regions: tuple[str, ...]) -> list[str] | None:
        if not regions:
            return None
        return self.stores.loc[self.stores["region"].isin(regions), "store_id"].tolist()


@dataclass(frozen=True)
class PeriodNumbers:
    """Headline numbers of one period; ratios are derived so current and previous compute alike."""

    revenue_cents: int = 0
    cost_cents: int = 0
    units: int = 0
    refund_cents: int = 0
    orders: int = 0
    order_revenue_cents: int = 0
    sessions: int = 0
    session_orders: int = 0  # orders in the channels that have clickstream sessions

    @property
    def aov_cents(self) -> float | None:
        return self.order_revenue_cents / self.orders if self.orders else None

    @property
    def gross_margin(self) -> float | None:
        """(revenue − cost of goods) / revenue."""
        return (self.revenue_cents - self.cost_cents) / self.revenue_cents if self.revenue_cents else None

    @property
    def conversion(self) -> float | None:
        """Orders per clickstream session, over the channels that record sessions."""
        return self.session_orders / self.sessions if self.sessions else None


@dataclass(frozen=True)
class Ingestion:
    """The consumers' heartbeat: summed over consumer processes seen in the last ``HEARTBEAT_STALE_S``."""

    events_per_s: float
    lag: int
    live_consumers: int
    last_seen: datetime | None


@dataclass(frozen=True)
class ServiceState:
    """A service as the supervisor of ``shelfcast up`` last reported it (``read_models.service_status_document``)."""

    host: str
    service: str
    state: str  # up, restarting, failed, stopped
    restarts: int


class DashboardData:
    """Cached read model over one database."""

    def __init__(self, db: Database, ttl_s: float = 4.0, basket_max_orders: int = 20_000) -> None:
        self.db = db
        self.basket_max_orders = basket_max_orders
        self._cache = TTLCache(ttl_s)

    def _cached(self, key: Hashable, compute: Callable[[], T], ttl_s: float | None = None) -> T:
        return self._cache.get_or_compute(key, compute, ttl_s)

    def clear_cache(self) -> None:
        self._cache.clear()

    # ---- shared lookups -------------------------------------------------------------------------

    def latest_day(self) -> date:
        """The last day with sales, so a replayed or imported history opens on its own dates; today if empty."""

        def compute() -> date:
            pipeline = [{"$match": {"grain": "day"}}, {"$group": {"_id": None, "day": {"$max": "$period"}}}]
            rows = list(self.db[read_models.SALES_SUMMARY].aggregate(pipeline))
            return date.fromisoformat(rows[0]["day"]) if rows and rows[0]["day"] else datetime.now(timezone.utc).date()

        return self._cached("latest_day", compute, LATEST_DAY_TTL_S)

    def filters(self, store_data: dict[str, Any] | None) -> Filters:
        return Filters.from_store(store_data, self.latest_day())

    def catalog(self) -> Catalog:
        def compute() -> Catalog:
            products = pd.DataFrame(
                [
                    {
                        "sku": d["_id"],
                        **{k: d.get(k) for k in ("name", "category", "sub_category", "price_cents", "cost_cents")},
                    }
                    for d in self.db[read_models.PRODUCTS].find()
                ],
                columns=["sku", "name", "category", "sub_category", "price_cents", "cost_cents"],
            )
            stores = pd.DataFrame(
                [
                    {"store_id": d["_id"], **{k: d.get(k) for k in ("name", "region", "latitude", "longitude")}}
                    for d in self.db[read_models.STORES].find()
                ],
                columns=["store_id", "name", "region", "latitude", "longitude"],
            )
            return Catalog(
                products.sort_values("sku", ignore_index=True), stores.sort_values("store_id", ignore_index=True)
            )

        return self._cached("catalog", compute)

    # ---- overview -------------------------------------------------------------------------------

    def compare_periods(self, f: Filters) -> tuple[PeriodNumbers, PeriodNumbers]:
        """Headline numbers of the period and of the previous one of equal length (three scans for both)."""
        sales, orders, sessions = self._daily_sales(f), self._daily_orders(f), self._daily_sessions(f)
        previous = f.previous()
        return self._numbers(sales, orders, sessions, f.start, f.end), self._numbers(
            sales, orders, sessions, previous.start, previous.end
        )

    @staticmethod
    def _numbers(
        sales: pd.DataFrame, orders: pd.DataFrame, sessions: pd.DataFrame, start: date, end: date
    ) -> PeriodNumbers:
        def within(frame: pd.DataFrame) -> pd.DataFrame:
            return frame[(frame["date"] >= pd.Timestamp(start)) & (frame["date"] <= pd.Timestamp(end))]

        sales, orders, sessions = within(sales), within(orders), within(sessions)
        click_channels = set(sessions["channel"])
        return PeriodNumbers(
            revenue_cents=int(sales["revenue_cents"].sum()),
            cost_cents=int(sales["cost_cents"].sum()),
            units=int(sales["units"].sum()),
            refund_cents=int(sales["refund_cents"].sum()),
            orders=int(orders["orders"].sum()),
            order_revenue_cents=int(orders["revenue_cents"].sum()),
            sessions=int(sessions["sessions"].sum()),
            session_orders=int(orders.loc[orders["channel"].isin(click_channels), "orders"].sum()),
        )

    def _daily_sales(self, f: Filters) -> pd.DataFrame:
        """Sales sums per day × channel over the period and the previous one, from the day summaries' category
        entries."""

        def compute() -> pd.DataFrame:
            window, columns = _with_previous(f), (*MONEY, "refund_cents")
            query = {
                "grain": "day",
                "period": {"$gte": window.start.isoformat(), "$lte": window.end.isoformat()},
            } | _summary_match(f)
            table: dict[str, list] = {c: [] for c in ("day", "channel", "category", *columns)}
            projection = {
                "period": 1,
                "channel": 1,
                "categories.category": 1,
                **{f"categories.{c}": 1 for c in columns},
                "_id": 0,
            }
            for doc in self.db[read_models.SALES_SUMMARY].find(query, projection, batch_size=FETCH_BATCH):
                _extend(table, doc["categories"], day=doc["period"], channel=doc["channel"])
            frame = _frame(table)
            if f.categories:
                frame = frame[frame["category"].isin(f.categories)]
            frame = frame.groupby(["day", "channel"], as_index=False)[list(columns)].sum()
            return _dated(frame).sort_values(["date", "channel"], ignore_index=True)

        return self._cached(("daily_sales", f), compute)

    def _daily_orders(self, f: Filters) -> pd.DataFrame:
        """Orders and order revenue per day × channel over both periods (an order spans rollup rows, so they are counted
        here).
        """

        def compute() -> pd.DataFrame:
            match = _with_previous(f).order_match(self.catalog().skus_in(f.categories))
            frame = self._fields(read_models.ORDERS, match, ["day", "channel", "revenue_cents"])
            frame = frame.groupby(["day", "channel"], as_index=False).agg(
                orders=("revenue_cents", "size"), revenue_cents=("revenue_cents", "sum")
            )
            return _dated(frame.astype({"orders": "int64", "revenue_cents": "int64"}))

        return self._cached(("daily_orders", f), compute)

    def _daily_sessions(self, f: Filters) -> pd.DataFrame:
        """Distinct clickstream sessions per day × channel over both periods; clicks carry no region or
        category, so only the channel filter applies (a session spanning midnight counts on both days)."""

        def compute() -> pd.DataFrame:
            match = _with_previous(f).day_match() | ({"channel": {"$in": list(f.channels)}} if f.channels else {})
            frame = self._fields(read_models.CLICKS, match, ["day", "channel", "session_id"]).drop_duplicates()
            return _dated(
                frame.groupby(["day", "channel"], as_index=False)
                .agg(sessions=("session_id", "size"))
                .astype({"sessions": "int64"})
            )

        return self._cached(("daily_sessions", f), compute)

    def ingestion(self) -> Ingestion:
        def compute() -> Ingestion:
            docs = list(self.db[read_models.CONSUMER_STATUS].find())
            cutoff = datetime.now(timezone.utc) - timedelta(seconds=HEARTBEAT_STALE_S)
            live = [d for d in docs if d.get("updated_at") and _utc(d["updated_at"]) >= cutoff]
            last = max((_utc(d["updated_at"]) for d in docs if d.get("updated_at")), default=None)
            return Ingestion(
                sum(float(d.get("events_per_s", 0)) for d in live),
                sum(int(d.get("lag", 0)) for d in live),
                len(live),
                last,
            )

        return self._cached("ingestion", compute)

    def service_states(self) -> list[ServiceState]:
        """Services a supervisor reported in the last ``HEARTBEAT_STALE_S``; none when no supervisor runs (Docker
        restarts containers itself) or it stopped."""

        def compute() -> list[ServiceState]:
            cutoff = datetime.now(timezone.utc) - timedelta(seconds=HEARTBEAT_STALE_S)
            return [
                ServiceState(d["host"], d["service"], d["state"], int(d.get("restarts", 0)))
                for d in self.db[read_models.SERVICE_STATUS].find().sort("_id")
                if d.get("updated_at") and _utc(d["updated_at"]) >= cutoff
            ]

        return self._cached("service_states", compute)

    # ---- sales ----------------------------------------------------------------------------------

    def sales_by_day_channel(self, f: Filters) -> pd.DataFrame:
        """date, channel and the sales sums, one row per day × channel of the period."""
        frame = self._daily_sales(f)
        return frame[frame["date"] >= pd.Timestamp(f.start)].reset_index(drop=True)

    def previous_sales_by_day_channel(self, f: Filters) -> pd.DataFrame:
        """The same for the previous period (same scan)."""
        frame = self._daily_sales(f)
        return frame[frame["date"] < pd.Timestamp(f.start)].reset_index(drop=True)

    def sales_by_category(self, f: Filters) -> pd.DataFrame:
        def compute() -> pd.DataFrame:
            frame = self._sku_sales(f).merge(
                self.catalog().products[["sku", "category", "sub_category"]], on="sku", how="left"
            )
            return frame.groupby(["category", "sub_category"], as_index=False, dropna=False)[list(MONEY)].sum()

        return self._cached(("sales_by_category", f), compute)

    def sales_by_segment(self, f: Filters) -> pd.DataFrame:
        """Channel × region: orders carry no customer segment, so these are the segments the data has."""
        return self._cached(
            ("sales_by_segment", f),
            lambda: self._sku_sales(f).groupby(["channel", "region"], as_index=False, dropna=False)[list(MONEY)].sum(),
        )

    def sales_by_store(self, f: Filters) -> pd.DataFrame:
        """Sales per store with its name, region and coordinates (for the map)."""

        def compute() -> pd.DataFrame:
            frame = self._sku_sales(f).groupby("store_id", as_index=False)[["units", "revenue_cents"]].sum()
            return (
                self.catalog()
                .stores.merge(frame, on="store_id", how="inner")
                .sort_values("revenue_cents", ascending=False, ignore_index=True)
            )

        return self._cached(("sales_by_store", f), compute)

    def sales_by_sku(self, f: Filters) -> pd.DataFrame:
        """Every SKU sold in the period with name and category, best revenue first (bestsellers, top movers)."""

        def compute() -> pd.DataFrame:
            frame = self._sku_sales(f).groupby("sku", as_index=False)[[*MONEY, "returned_units"]].sum()
            names = self.catalog().products[["sku", "name", "category", "sub_category"]]
            frame = frame.merge(names, on="sku", how="left")
            return frame.sort_values(["revenue_cents", "sku"], ascending=[False, True], ignore_index=True)

        return self._cached(("sales_by_sku", f), compute)

    def discount_bands(self, f: Filters) -> pd.DataFrame:
        """Revenue, cost and profit per discount band; the band is each order line's discount / list price."""

        def compute() -> pd.DataFrame:
            frame = self._period_summaries(f)[1]
            if f.categories:
                frame = frame[frame["category"].isin(f.categories)]
            frame = frame.groupby("band", as_index=False)[["revenue_cents", "cost_cents"]].sum()
            frame["band"] = pd.Categorical(
                [read_models.DISCOUNT_BAND_LABELS[int(b)] for b in frame["band"]],
                read_models.DISCOUNT_BAND_LABELS,
                ordered=True,
            )
            frame["profit_cents"] = frame["revenue_cents"] - frame["cost_cents"]
            return frame.sort_values("band", ignore_index=True)

        return self._cached(("discount_bands", f), compute)

    def _sku_sales(self, f: Filters) -> pd.DataFrame:
        """Sums per store × channel × SKU over the period, category filter applied (from the catalog)."""
        frame = self._period_summaries(f)[0]
        skus = self.catalog().skus_in(f.categories)
        return frame if skus is None else frame[frame["sku"].isin(skus)]

    def _period_summaries(self, f: Filters) -> tuple[pd.DataFrame, pd.DataFrame]:
        """SKU entries (``SKU_COLUMNS``) and discount entries (``DISCOUNT_COLUMNS``) of the period, summed over its
        days.

        Read before the category filter, so changing only the categories reads nothing again."""
        window = replace(f, categories=())

        def compute() -> tuple[pd.DataFrame, pd.DataFrame]:
            skus: dict[str, list] = {c: [] for c in SKU_COLUMNS}
            discounts: dict[str, list] = {c: [] for c in DISCOUNT_COLUMNS}
            projection = {"store_id": 1, "channel": 1, "region": 1, "skus": 1, "discounts": 1, "_id": 0}
            for doc in self.db[read_models.SALES_SUMMARY].find(
                _period_query(window), projection, batch_size=FETCH_BATCH
            ):
                _extend(skus, doc["skus"], store_id=doc["store_id"], channel=doc["channel"], region=doc.get("region"))
                _extend(discounts, doc["discounts"])
            by_sku = _frame(skus).groupby(SKU_COLUMNS[:4], as_index=False, dropna=False).sum()
            by_band = _frame(discounts).groupby(DISCOUNT_COLUMNS[:2], as_index=False, dropna=False).sum()
            return by_sku, by_band

        return self._cached(("period_summaries", window), compute)

    # ---- inventory ------------------------------------------------------------------------------

    def stock_levels(self, f: Filters) -> pd.DataFrame:
        """Current stock per SKU × store with status; region and category filters apply, dates do not (stock is now)."""

        def compute() -> pd.DataFrame:
            catalog = self.catalog()
            match = self._sku_store_match(f, catalog)
            fields = [
                "sku",
                "store_id",
                "on_hand",
                "reorder_threshold",
                "status",
                "sold_units",
                "backordered_units",
                "updated_at",
            ]
            frame = pd.DataFrame(
                list(self.db[read_models.STOCK].find(match, {k: 1 for k in fields} | {"_id": 0})), columns=fields
            )
            frame = frame.merge(catalog.products[["sku", "name", "category"]], on="sku", how="left")
            frame = frame.merge(catalog.stores[["store_id", "region"]], on="store_id", how="left")
            return frame.sort_values(["on_hand", "sku", "store_id"], ignore_index=True)

        return self._cached(("stock_levels", f), compute)

    def alerts(self, f: Filters, limit: int = 100) -> pd.DataFrame:
        """Newest stock alerts raised within the period, for the selected regions and categories."""

        def compute() -> pd.DataFrame:
            match = self._sku_store_match(f, self.catalog()) | f.time_match("created_at")
            fields = ["created_at", "kind", "sku", "store_id", "on_hand", "threshold", "message"]
            docs = (
                self.db[read_models.ALERTS]
                .find(match, {k: 1 for k in fields} | {"_id": 0})
                .sort("created_at", -1)
                .limit(limit)
            )
            return pd.DataFrame(list(docs), columns=fields)

        return self._cached(("alerts", f, limit), compute)

    # ---- forecasts, promotions, baskets ---------------------------------------------------------

    def sku_history(self, sku: str, store_id: str, end: date, days: int = 120) -> pd.DataFrame:
        """Daily units and revenue of one SKU in one store (all channels), zero-filled so gaps show as zero sales.

        Read by ``_id`` (day|sku|store|channel), the one lookup the Mongo-protocol server answers from an index."""

        def compute() -> pd.DataFrame:
            start = end - timedelta(days=days - 1)
            index = pd.date_range(start, end, freq="D", name="date")
            ids = [
                read_models.rollup_id(d.strftime("%Y-%m-%d"), sku, store_id, channel.value)
                for d in index
                for channel in Channel
            ]
            rows = [
                (doc["day"], doc["units"], doc["revenue_cents"])
                for i in range(0, len(ids), ID_CHUNK)
                for doc in self.db[read_models.DAILY_SALES].find(
                    {"_id": {"$in": ids[i : i + ID_CHUNK]}}, {"day": 1, "units": 1, "revenue_cents": 1}
                )
            ]
            frame = pd.DataFrame(rows, columns=["day", "units", "revenue_cents"]).groupby("day", as_index=False).sum()
            frame = frame.set_index(pd.to_datetime(frame.pop("day"))).reindex(index, fill_value=0)
            return frame.reset_index()

        return self._cached(("sku_history", sku, store_id, end, days), compute)

    def exposures(self, f: Filters) -> pd.DataFrame:
        """Promotion exposures per promotion and arm in the period (what the engine served, as recorded)."""

        def compute() -> pd.DataFrame:
            match = f.day_match() | ({"channel": {"$in": list(f.channels)}} if f.channels else {})
            pipeline = [
                {"$match": match},
                {"$group": {"_id": {"promotion_id": "$promotion_id", "arm": "$arm"}, "exposures": {"$sum": 1}}},
            ]
            rows = [
                {**d["_id"], "exposures": int(d["exposures"])}
                for d in self.db[read_models.EXPOSURES].aggregate(pipeline)
            ]
            return pd.DataFrame(rows, columns=["promotion_id", "arm", "exposures"]).sort_values(
                ["promotion_id", "arm"], ignore_index=True
            )

        return self._cached(("exposures", f), compute)

    def promoted_orders(self, f: Filters) -> pd.DataFrame:
        """Orders and revenue attributed to each promotion in the period."""

        def compute() -> pd.DataFrame:
            match = f.order_match(self.catalog().skus_in(f.categories)) | {"promotion_id": {"$ne": None}}
            pipeline = [
                {"$match": match},
                {
                    "$group": {
                        "_id": "$promotion_id",
                        "orders": {"$sum": 1},
                        "revenue_cents": {"$sum": "$revenue_cents"},
                    }
                },
            ]
            rows = [
                {"promotion_id": d["_id"], "orders": int(d["orders"]), "revenue_cents": int(d["revenue_cents"])}
                for d in self.db[read_models.ORDERS].aggregate(pipeline)
            ]
            return pd.DataFrame(rows, columns=["promotion_id", "orders", "revenue_cents"])

        return self._cached(("promoted_orders", f), compute)

    def basket_rules(self, f: Filters, min_pair_orders: int = 2) -> tuple[pd.DataFrame, int]:
        """Association rules over the newest ``basket_max_orders`` orders of the period, with product names."""

        def compute() -> tuple[pd.DataFrame, int]:
            match = f.order_match(self.catalog().skus_in(f.categories))
            cursor = (
                self.db[read_models.ORDERS]
                .find(match, {"lines.sku": 1, "_id": 0})
                .sort("occurred_at", -1)
                .limit(self.basket_max_orders)
            )
            rules, n = association_rules(
                ([line["sku"] for line in doc.get("lines", [])] for doc in cursor), min_pair_orders
            )
            names = self.catalog().products.set_index("sku")["name"]
            rules.insert(1, "antecedent_name", rules["antecedent"].map(names))
            rules.insert(3, "consequent_name", rules["consequent"].map(names))
            return rules, n

        return self._cached(("basket_rules", f, min_pair_orders), compute)

    def top_movers(self, f: Filters, n: int = 5) -> pd.DataFrame:
        """SKUs whose revenue changed most vs the previous period, risers first then fallers."""
        now = self.sales_by_sku(f)[["sku", "name", "revenue_cents"]]
        before = self.sales_by_sku(f.previous())[["sku", "name", "revenue_cents"]]
        both = now.merge(before, on="sku", how="outer", suffixes=("", "_previous"))
        both["name"] = both["name"].fillna(both.pop("name_previous"))
        both[["revenue_cents", "revenue_cents_previous"]] = (
            both[["revenue_cents", "revenue_cents_previous"]].fillna(0).astype("int64")
        )
        both["change_cents"] = both["revenue_cents"] - both["revenue_cents_previous"]
        risers = both[both["change_cents"] > 0].nlargest(n, "change_cents")
        fallers = both[both["change_cents"] < 0].nsmallest(n, "change_cents")
        return pd.concat([risers, fallers], ignore_index=True)

    # ---- helpers --------------------------------------------------------------------------------

    def _fields(self, collection: str, match: dict[str, Any], fields: list[str]) -> pd.DataFrame:
        """The matching documents' ``fields``, to count and sum in pandas: measured ~6× faster than a ``$group`` on the
        Mongo-protocol server (80k clicks: 0.6 s against 4 s)."""
        docs = self.db[collection].find(match, {k: 1 for k in fields} | {"_id": 0}, batch_size=20_000)
        return pd.DataFrame(list(docs), columns=fields)

    def _sku_store_match(self, f: Filters, catalog: Catalog) -> dict[str, Any]:
        match: dict[str, Any] = {}
        skus, stores = catalog.skus_in(f.categories), catalog.stores_in(f.regions)
        if skus is not None:
            match["sku"] = {"$in": skus}
        if stores is not None:
            match["store_id"] = {"$in": stores}
        return match


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _extend(table: dict[str, list], rows: dict[str, list], **constants: Any) -> None:
    """Append a summary's table (columns of equal length) to ``table``, with the document's own fields repeated per
    row."""
    n = len(next(iter(rows.values())))
    for column, values in table.items():
        values.extend(rows[column] if column in rows else [constants[column]] * n)


def _frame(table: dict[str, list]) -> pd.DataFrame:
    """Columns to a frame; an empty one keeps untyped (object) columns, so merges on keys still work."""
    return pd.DataFrame(table) if any(table.values()) else pd.DataFrame(columns=list(table))


def _summary_match(f: Filters) -> dict[str, Any]:
    """Channel and region are fields of a summary document; categories are entries inside it."""
    match: dict[str, Any] = {}
    if f.channels:
        match["channel"] = {"$in": list(f.channels)}
    if f.regions:
        match["region"] = {"$in": list(f.regions)}
    return match


def _period_query(f: Filters) -> dict[str, Any]:
    """Month summaries for the calendar months wholly inside the period, day summaries for the days around them."""
    first = f.start if f.start.day == 1 else _next_month(f.start)
    months: list[date] = []
    while _next_month(first) - timedelta(days=1) <= f.end:
        months.append(first)
        first = _next_month(first)
    if not months:
        parts = [_day_range(f.start, f.end)]
    else:
        parts = [{"grain": "month", "period": {"$in": [m.strftime("%Y-%m") for m in months]}}]
        if f.start < months[0]:
            parts.append(_day_range(f.start, months[0] - timedelta(days=1)))
        if first <= f.end:
            parts.append(_day_range(first, f.end))
    return (parts[0] if len(parts) == 1 else {"$or": parts}) | _summary_match(f)


def _day_range(start: date, end: date) -> dict[str, Any]:
    return {"grain": "day", "period": {"$gte": start.isoformat(), "$lte": end.isoformat()}}


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _with_previous(f: Filters) -> Filters:
    """The window covering the period and the previous one, same dimension filters."""
    return replace(f, start=f.previous().start)


def _dated(frame: pd.DataFrame) -> pd.DataFrame:
    frame.insert(0, "date", pd.to_datetime(frame.pop("day")))
    return frame
