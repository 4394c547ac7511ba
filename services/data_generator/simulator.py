"""The simulated shop in motion: shopping sessions on a simulated clock, turned into events.

Sessions arrive as a Poisson process whose rate follows the week, the day and the year. A shopper
browses SKUs of the categories they like (seasonal, trending), may come across a running promotion
(randomly assigned to treatment or control, responding by their true uplift), buys what is in
stock, and sometimes returns it later. Online sessions leave a clickstream before the order. Sold
stock that falls to the reorder threshold triggers a delivery a few days later; until it arrives
the SKU can sell out.

Determinism: one ``random.Random(seed)`` drives behaviour, customers and promotions come from
RNGs seeded by ``(seed, purpose)`` strings, ids are drawn from those RNGs or derived from order
numbers, and every timestamp is the start plus a simulated offset. Same seed and start ⇒ the
same bytes.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import partial
from itertools import accumulate
from pathlib import Path

from services.common.events import (
    Channel,
    Click,
    ClickAction,
    Event,
    OrderPlaced,
    ProductUpserted,
    PromotionExposed,
    Restocked,
    ReturnReceived,
    StoreUpserted,
)
from services.data_generator.catalog import CATEGORIES, Product, build_catalog
from services.data_generator.channels import MarketplaceAdapter, OnlineShopAdapter, PosAdapter, Sale, SaleLine
from services.data_generator.customers import Customer, build_customers
from services.data_generator.ids import random_event_id
from services.data_generator.promotions import Promotion, PromotionCalendar
from services.data_generator.seasonality import PEAK_INTENSITY, arrival_intensity, trend, yearly
from services.data_generator.stores import PHYSICAL_STORES, STORE_BY_ID, STORES, Store
from services.data_generator.uplift_truth import UpliftTruth

MS_PER_SECOND = 1000
MS_PER_HOUR = 3_600_000
MS_PER_DAY = 86_400_000
PROMO_ENCOUNTER_SHARE = {"sku": 0.03, "category": 0.12}  # sessions, per running promotion, that come across it
PROMO_CLICK_SHARE = 0.35  # treated online shoppers who click the banner without buying
BROWSE_BUY_FACTOR = 0.6  # conversion of casually browsed items relative to the customer's propensity
CART_ABANDON_SHARE = 0.08
AWAY_STORE_SHARE = 0.1  # store customers visiting a store that is not their usual one
BROWSED_ITEMS = (1, 2, 3, 4)
BROWSED_ITEMS_CUM_WEIGHTS = (45, 75, 92, 100)
QUANTITIES = (1, 2, 3, 4)
QUANTITY_CUM_WEIGHTS = (70, 88, 96, 100)
_CATEGORY_INDEXES = tuple(range(len(CATEGORIES)))
_CATEGORY_INDEX = {c.name: i for i, c in enumerate(CATEGORIES)}
LEAD_TIME_DAYS = {"physical": (1, 3), "web": (1, 2), "marketplace": (2, 4)}
RETURN_AFTER_DAYS = (2, 20)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class ShopConfig:
    """Scale of the simulation; the defaults give ~25k events per simulated day."""

    customers: int = 10_000
    sessions_per_day: int = 8000
    return_rate: float = 0.03
    treatment_share: float = 0.5
    stock_scale: float = 1.0  # opening stock and delivery sizes relative to each store's par level


@dataclass(frozen=True)
class _DemandDay:
    """What is constant over one UTC day: category seasons, SKU weights (trend), running promotions."""

    category_season: tuple[float, ...]
    sku_tables: tuple[tuple[tuple[Product, ...], list[float]], ...]  # per category: SKUs and cumulative weights
    promotions: tuple[Promotion, ...]
    _interests: dict[int, list[float]] = field(default_factory=dict)

    def interests(self, customer: Customer) -> list[float]:
        """Cumulative category weights for this customer today: their affinity times the season."""
        if customer.index not in self._interests:
            self._interests[customer.index] = list(
                accumulate(a * s for a, s in zip(customer.affinity, self.category_season))
            )
        return self._interests[customer.index]


class _Session:
    """One shopper's visit: the clicks it leaves (online only) and the basket it ends with."""

    def __init__(self, sim: ShopSimulator, customer: Customer, store: Store, t: int) -> None:
        self.sim, self.customer, self.store = sim, customer, store
        self.online = store.kind == "web"
        self.session_id = f"ss{sim.rng.getrandbits(64):016x}"
        self.cursor = t
        self.lines: dict[str, SaleLine] = {}
        self.promotion_id: str | None = None

    def click(self, action: ClickAction, sku: str | None = None, promotion_id: str | None = None) -> None:
        if not self.online:
            return
        self.cursor += self.sim.rng.randint(3 * MS_PER_SECOND, 60 * MS_PER_SECOND)
        self.sim.schedule(
            self.cursor,
            Click(
                event_id=random_event_id(self.sim.rng),
                occurred_at=self.sim.clock(self.cursor),
                channel=Channel.ONLINE,
                session_id=self.session_id,
                customer_id=self.customer.customer_id,
                action=action,
                sku=sku,
                promotion_id=promotion_id,
            ),
        )

    def buy(self, product: Product, discount_pct: int = 0) -> bool:
        """Put the wanted quantity (or what is left on the shelf) in the basket; False on a stockout."""
        wanted = self.sim.rng.choices(QUANTITIES, cum_weights=QUANTITY_CUM_WEIGHTS)[0]
        taken = self.sim.take_stock(self.store, product, wanted, self.cursor)
        if taken:
            self.lines[product.sku] = SaleLine(
                product.sku, taken, product.price_cents, taken * product.price_cents * discount_pct // 100
            )
        return taken > 0


class ShopSimulator:
    """An endless, deterministic event stream of one simulated omnichannel shop."""

    def __init__(self, seed: int, start: datetime, pseudonym_key: str, config: ShopConfig | None = None) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self.config = config or ShopConfig()
        self.start = start.astimezone(timezone.utc).replace(microsecond=0)
        self.rng = random.Random(seed)
        self.catalog = build_catalog()
        self.customers = build_customers(random.Random(f"{seed}:customers"), self.config.customers, pseudonym_key)
        self.promotions = PromotionCalendar(seed, self.start, self.catalog)
        self.truth = UpliftTruth(seed, self.customers, self.promotions)
        self.stockouts = 0
        self._by_sku = {p.sku: p for p in self.catalog}
        self._visit_cum_weights = list(accumulate(c.visit_weight for c in self.customers))
        self._adapters = {
            "web": OnlineShopAdapter(pseudonym_key),
            "physical": PosAdapter(pseudonym_key),
            "marketplace": MarketplaceAdapter(pseudonym_key),
        }
        self._par = {s.store_id: max(1, round(s.par_level * self.config.stock_scale)) for s in STORES}
        self._stock = {(s.store_id, p.sku): self._par[s.store_id] for s in STORES for p in self.catalog}
        self._restocking: set[tuple[str, str]] = set()
        self._arms: dict[tuple[int, str], str] = {}
        self._days: dict[date, _DemandDay] = {}
        self._queue: list[tuple[int, int, Event | Callable[[], Event]]] = []
        self._sequence = 0
        self._now = 0
        self._session_rate = self.config.sessions_per_day / MS_PER_DAY * PEAK_INTENSITY  # sessions per ms at the peak
        self._start_ms = (self.start - _EPOCH) // timedelta(milliseconds=1)
        self._hour = (-1, 0.0)

    @property
    def now(self) -> datetime:
        """Simulated time of the last event handed out."""
        return self.clock(self._now)

    def clock(self, t: int) -> datetime:
        return self.start + timedelta(milliseconds=t)

    def schedule(self, t: int, item: Event | Callable[[], Event]) -> None:
        """Queue an event (or an action that produces one at its time, e.g. a delivery) for time ``t``."""
        self._sequence += 1
        heapq.heappush(self._queue, (t, self._sequence, item))

    def true_uplift(self, customer_id: str, promotion_id: str) -> float:
        """See ``UpliftTruth``: the true treated-minus-control purchase probability."""
        return self.truth.true_uplift(customer_id, promotion_id)

    def write_truth(self, path: Path) -> int:
        """The truth table for every promotion that had started by ``now``; returns the rows written."""
        return self.truth.write(path, self.promotions.started_by(self.now))

    def events(self) -> Iterator[Event]:
        """Stores and products, the opening stock, then the endless stream in time order."""
        yield from self._setup()
        t = 0
        while True:
            t = self._next_session(t)
            while self._queue and self._queue[0][0] <= t:
                self._now, _, item = heapq.heappop(self._queue)
                yield item() if callable(item) else item
            self._session(t)

    def take_stock(self, store: Store, product: Product, wanted: int, t: int) -> int:
        """Remove up to ``wanted`` units; reorder when the shelf reaches the threshold."""
        key = (store.store_id, product.sku)
        taken = min(wanted, self._stock[key])
        self._stock[key] -= taken
        if taken == 0:
            self.stockouts += 1
        if self._stock[key] <= product.reorder_threshold and key not in self._restocking:
            self._restocking.add(key)
            low, high = LEAD_TIME_DAYS[store.kind]
            self.schedule(
                t + self.rng.randint(low * MS_PER_DAY, high * MS_PER_DAY), partial(self._deliver, store, product)
            )
        return taken

    def _setup(self) -> Iterator[Event]:
        at = self.clock(0)
        for s in STORES:
            yield StoreUpserted(
                event_id=random_event_id(self.rng),
                occurred_at=at,
                channel=s.channel,
                store_id=s.store_id,
                name=s.name,
                region=s.region,
                latitude=s.latitude,
                longitude=s.longitude,
            )
        for p in self.catalog:
            yield ProductUpserted(
                event_id=random_event_id(self.rng),
                occurred_at=at,
                channel=Channel.ONLINE,
                sku=p.sku,
                name=p.name,
                category=p.category,
                sub_category=p.sub_category,
                price_cents=p.price_cents,
                cost_cents=p.cost_cents,
                reorder_threshold=p.reorder_threshold,
            )
        for s in STORES:
            for p in self.catalog:
                yield Restocked(
                    event_id=random_event_id(self.rng),
                    occurred_at=at,
                    channel=s.channel,
                    store_id=s.store_id,
                    sku=p.sku,
                    quantity=self._par[s.store_id],
                    unit_cost_cents=p.cost_cents,
                )

    def _next_session(self, t: int) -> int:
        """Next arrival by thinning: candidates at the peak rate, kept in proportion to the current rate."""
        while True:
            t += 1 + int(self.rng.expovariate(self._session_rate))
            if self.rng.random() * PEAK_INTENSITY < self._intensity(t):
                return t

    def _intensity(self, t: int) -> float:
        """``arrival_intensity`` is constant within a clock hour, so it is computed once per hour."""
        hour = (self._start_ms + t) // MS_PER_HOUR
        if hour != self._hour[0]:
            self._hour = (hour, arrival_intensity(self.clock(hour * MS_PER_HOUR - self._start_ms)))
        return self._hour[1]

    def _demand_day(self, at: datetime) -> _DemandDay:
        day = at.date()
        if day not in self._days:
            doy = at.timetuple().tm_yday
            years = (at - self.start).total_seconds() / (365.25 * 86_400)
            tables = []
            for category in CATEGORIES:
                products = tuple(p for p in self.catalog if p.category == category.name)
                tables.append(
                    (products, list(accumulate(p.popularity * trend(p.trend_per_year, years) for p in products)))
                )
            self._days = {
                day: _DemandDay(
                    tuple(yearly(doy, c.season_peak_day, c.season_amplitude) for c in CATEGORIES),
                    tuple(tables),
                    self.promotions.active(datetime.combine(day, datetime.min.time(), timezone.utc)),
                )
            }
        return self._days[day]

    def _pick_product(self, day: _DemandDay, category_index: int) -> Product:
        products, cum_weights = day.sku_tables[category_index]
        return self.rng.choices(products, cum_weights=cum_weights)[0]

    def _store_for(self, customer: Customer) -> Store:
        if customer.channel == Channel.STORE and self.rng.random() < AWAY_STORE_SHARE:
            return self.rng.choice(PHYSICAL_STORES)
        return STORE_BY_ID[customer.home_store]

    def _session(self, t: int) -> None:
        rng = self.rng
        customer = rng.choices(self.customers, cum_weights=self._visit_cum_weights)[0]
        store = self._store_for(customer)
        at = self.clock(t)
        if not store.is_open(at):
            return
        day = self._demand_day(at)
        session = _Session(self, customer, store, t)
        for promotion in day.promotions:
            if rng.random() < PROMO_ENCOUNTER_SHARE[promotion.scope]:
                self._promotion_encounter(session, day, promotion)
                break
        interests = day.interests(customer)
        for _ in range(rng.choices(BROWSED_ITEMS, cum_weights=BROWSED_ITEMS_CUM_WEIGHTS)[0]):
            product = self._pick_product(day, rng.choices(_CATEGORY_INDEXES, cum_weights=interests)[0])
            session.click(ClickAction.VIEW, product.sku)
            if product.sku in session.lines:
                continue
            if rng.random() < customer.propensity * BROWSE_BUY_FACTOR:
                if session.buy(product):
                    session.click(ClickAction.ADD_TO_CART, product.sku)
            elif rng.random() < CART_ABANDON_SHARE:
                session.click(ClickAction.ADD_TO_CART, product.sku)
                session.click(ClickAction.REMOVE_FROM_CART, product.sku)
        if session.lines:
            session.click(ClickAction.CHECKOUT)
            self._place_order(session)

    def _promotion_encounter(self, session: _Session, day: _DemandDay, promotion: Promotion) -> None:
        """The randomized experiment: assignment on first encounter, then conversion at base (+ uplift if treated)."""
        customer, rng = session.customer, self.rng
        key = (customer.index, promotion.promotion_id)
        if key not in self._arms:
            self._arms[key] = "treatment" if rng.random() < self.config.treatment_share else "control"
            self.schedule(
                session.cursor,
                PromotionExposed(
                    event_id=random_event_id(rng),
                    occurred_at=self.clock(session.cursor),
                    channel=session.store.channel,
                    customer_id=customer.customer_id,
                    promotion_id=promotion.promotion_id,
                    arm=self._arms[key],
                    sku=promotion.target if promotion.scope == "sku" else None,
                ),
            )
        treated = self._arms[key] == "treatment"
        if promotion.scope == "sku":
            product = self._by_sku[promotion.target]
        else:
            product = self._pick_product(day, _CATEGORY_INDEX[promotion.category])
        if treated:
            session.click(ClickAction.PROMO_IMPRESSION, product.sku, promotion.promotion_id)
        conversion = self.truth.base_rate(customer) + (self.truth.effect(customer, promotion) if treated else 0.0)
        buys = rng.random() < conversion
        if treated and (buys or rng.random() < PROMO_CLICK_SHARE):
            session.click(ClickAction.PROMO_CLICK, product.sku, promotion.promotion_id)
        session.click(ClickAction.VIEW, product.sku)
        if buys and session.buy(product, promotion.discount_pct if treated else 0):
            session.click(ClickAction.ADD_TO_CART, product.sku)
            if treated:
                session.promotion_id = promotion.promotion_id

    def _place_order(self, session: _Session) -> None:
        """Render the sale in its channel's native format and normalize it through the channel adapter."""
        rng, store = self.rng, session.store
        t = (session.cursor // MS_PER_SECOND + 1 + rng.randint(5, 120)) * MS_PER_SECOND  # tills print whole seconds
        sale = Sale(
            order_ref=f"{store.kind[0].upper()}{rng.getrandbits(56):014X}",
            customer_ref=session.customer.raw_id,
            store_id=store.store_id,
            occurred_at=self.clock(t),
            utc_offset_minutes=store.utc_offset_minutes,
            lines=tuple(session.lines.values()),
            promotion_id=session.promotion_id,
        )
        adapter = self._adapters[store.kind]
        for order in adapter.parse(adapter.render(sale)):
            self.schedule(t, order)
            if rng.random() < self.config.return_rate:
                line = rng.choice(order.lines)
                quantity = rng.randint(1, line.quantity)
                later = t + rng.randint(RETURN_AFTER_DAYS[0] * MS_PER_DAY, RETURN_AFTER_DAYS[1] * MS_PER_DAY)
                self.schedule(
                    later,
                    partial(self._return, order, line.sku, quantity, line.revenue_cents * quantity // line.quantity),
                )

    def _deliver(self, store: Store, product: Product) -> Restocked:
        key = (store.store_id, product.sku)
        self._restocking.discard(key)
        self._stock[key] += self._par[store.store_id]
        return Restocked(
            event_id=random_event_id(self.rng),
            occurred_at=self.clock(self._now),
            channel=store.channel,
            store_id=store.store_id,
            sku=product.sku,
            quantity=self._par[store.store_id],
            unit_cost_cents=product.cost_cents,
        )

    def _return(self, order: OrderPlaced, sku: str, quantity: int, refund_cents: int) -> ReturnReceived:
        self._stock[(order.store_id, sku)] += quantity
        return ReturnReceived(
            event_id=random_event_id(self.rng),
            occurred_at=self.clock(self._now),
            channel=order.channel,
            order_id=order.order_id,
            customer_id=order.customer_id,
            store_id=order.store_id,
            sku=sku,
            quantity=quantity,
            refund_cents=refund_cents,
        )


def simulate(seed: int, start: datetime, pseudonym_key: str, config: ShopConfig | None = None) -> Iterator[Event]:
    """The shop's endless event stream for ``seed`` starting at ``start`` (see ``ShopSimulator``)."""
    return ShopSimulator(seed, start, pseudonym_key, config).events()
