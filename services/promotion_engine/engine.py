"""The engine's parts wired together for one process, and the background upkeep they need.

``Engine.start`` connects to MongoDB and Kafka, loads the order-history snapshot, starts the click
stream tail and loads the active model; a maintenance thread then reloads the snapshot every
``history_refresh_s``, follows the active-model pointer (a model trained by another process is
picked up within ``MODEL_POLL_S``) and purges old frequency counters. With ``write_behind_s`` > 0
an upkeep thread, every that many seconds, writes the budget charges and frequency counts served
from memory and reloads the promotions, stock and catalog caches before they expire, so requests
neither wait on MongoDB nor find a cache to reload; ``close`` writes what is left. With
``score_ttl_s`` > 0 a scorer thread keeps the uplift scores of every known customer computed ahead
of requests (``score_cache``). The HTTP layer and the CLI use the same object.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from pymongo.database import Database
from pymongo.errors import PyMongoError

from services.common.bus import EventProducer
from services.common.settings import Settings
from services.common.store import connect, ensure_indexes
from services.promotion_engine import metrics
from services.promotion_engine.catalog import Catalog, StockView
from services.promotion_engine.click_stream import ClickStreamTail
from services.promotion_engine.config import PromotionConfig
from services.promotion_engine.exceptions import NotFound
from services.promotion_engine.exposure_log import ExposureLog, day_floor
from services.promotion_engine.features import ClickWindow, MongoRecentClicks, OrderHistory, RecentClicks
from services.promotion_engine.promotions import PromotionStore
from services.promotion_engine.recommender import Recommender
from services.promotion_engine.registry import ModelRegistry
from services.promotion_engine.score_cache import ScoreCache
from services.promotion_engine.training import Trainer, qini_of

log = logging.getLogger(__name__)

MODEL_POLL_S = 5.0
SCORE_AHEAD_POLL_S = 1.0
SCORE_AHEAD_SCAN_S = 30.0
EXPOSURE_LINGER_MS = 50
CLICK_TAIL_READY_S = 30.0
PURGE_EVERY_S = 3600.0


@dataclass
class Engine:
    settings: Settings
    config: PromotionConfig
    db: Database
    producer: EventProducer
    catalog: Catalog
    stock: StockView
    promotions: PromotionStore
    history: OrderHistory
    clicks: RecentClicks
    click_tail: ClickStreamTail | None
    exposures: ExposureLog
    registry: ModelRegistry
    recommender: Recommender
    trainer: Trainer
    owns_producer: bool = True
    _stop: threading.Event = field(default_factory=threading.Event)
    _maintenance: threading.Thread | None = None
    _upkeep: threading.Thread | None = None
    _scorer: threading.Thread | None = None

    @classmethod
    def start(cls, settings: Settings, config: PromotionConfig, producer: EventProducer | None = None) -> "Engine":
        db = connect(settings.mongo_uri, settings.mongo_db)
        ensure_indexes(db)
        owns_producer = producer is None
        # exposures are sent asynchronously anyway: a longer linger batches them and wakes the sender thread less often
        producer = producer or EventProducer(settings.kafka_bootstrap, settings.topics, client_id="shelfcast-promotion-engine", linger_ms=EXPOSURE_LINGER_MS)
        catalog = Catalog(db, config.catalog_ttl_s)
        write_behind = config.write_behind_s > 0
        promotions = PromotionStore(db, catalog, config.promotions_ttl_s, write_behind=write_behind)
        stock = StockView(db, config.stock_ttl_s)
        history = OrderHistory(db, catalog, config.history_days)
        history.refresh()
        click_tail = None
        if config.click_source == "stream":
            window = ClickWindow(config.recent_clicks_minutes)
            click_tail = ClickStreamTail(settings.kafka_bootstrap, settings.topics.for_event_type("click"), window, db).start()
            if not click_tail.ready.wait(CLICK_TAIL_READY_S):
                log.warning("the click stream tail is not ready after %.0fs; serving without recent clicks until it is", CLICK_TAIL_READY_S)
            clicks: RecentClicks = window
        else:
            clicks = MongoRecentClicks(db, config.recent_clicks_minutes)
        exposures = ExposureLog(db, producer, write_behind=write_behind)
        if write_behind:
            exposures.load_today(datetime.now(timezone.utc))
        registry = ModelRegistry(db, settings.data_dir / "models" / "promotions")
        registry.refresh()
        engine = cls(settings, config, db, producer, catalog, stock, promotions, history, clicks, click_tail, exposures, registry,
                     Recommender(config, promotions, catalog, stock, history, clicks, exposures, registry,
                                 ScoreCache(config.score_ttl_s) if config.score_ttl_s > 0 else None),
                     Trainer(db, catalog, registry, config), owns_producer)
        engine._set_qini_gauge()
        engine._maintenance = threading.Thread(target=engine._maintain, name="promotion-engine-maintenance", daemon=True)
        engine._maintenance.start()
        if config.score_ttl_s > 0:
            engine._scorer = threading.Thread(target=engine._score_ahead, name="promotion-engine-scorer", daemon=True)
            engine._scorer.start()
        if write_behind:
            engine._upkeep = threading.Thread(target=engine._keep_up, name="promotion-engine-write-behind", daemon=True)
            engine._upkeep.start()
        return engine

    def flush(self) -> None:
        """Write the budget charges and frequency counts served from memory (write-behind)."""
        self.promotions.flush_charges()
        self.exposures.flush_counters()

    def _score_ahead(self) -> None:
        """Keep every known customer's scores fresh. A full pass over the customers (cheap per customer, but
        thousands of them hold the GIL the request loop needs) runs when the model, the promotions or the
        history snapshot changed, and otherwise every ``SCORE_AHEAD_SCAN_S``."""
        seen: tuple = ()
        seen_universe = None
        last_scan = float("-inf")
        while not self._stop.wait(SCORE_AHEAD_POLL_S):
            try:
                model, universe = self.registry.active, self.recommender.universe()
                current = (model.version if model else None, self.history.loaded_at)
                if current != seen or universe is not seen_universe or time.monotonic() - last_scan >= SCORE_AHEAD_SCAN_S:
                    self.recommender.precompute(self.history.customer_ids(), stop=self._stop)
                    seen, seen_universe, last_scan = current, universe, time.monotonic()
            except PyMongoError as exc:
                log.warning("scoring ahead: MongoDB unavailable (%s); retrying", exc)

    def _keep_up(self) -> None:
        while not self._stop.wait(self.config.write_behind_s):
            try:
                self.flush()
                self.promotions.refresh_if_due()
                self.stock.refresh_if_due()
                self.catalog.refresh_if_due()
            except PyMongoError as exc:
                log.warning("write-behind: MongoDB unavailable (%s); keeping the writes and retrying", exc)

    def _set_qini_gauge(self) -> None:
        try:
            metrics.MODEL_QINI.set(qini_of(self.registry.active_document()))
        except NotFound:
            metrics.MODEL_QINI.set(float("nan"))

    def _maintain(self) -> None:
        last_history = last_purge = time.monotonic()
        while not self._stop.wait(MODEL_POLL_S):
            try:
                before = self.registry.active
                if self.registry.refresh() is not before:
                    self._set_qini_gauge()
                now = time.monotonic()
                if self.config.history_refresh_s and now - last_history >= self.config.history_refresh_s:
                    self.history.refresh()
                    last_history = now
                if now - last_purge >= PURGE_EVERY_S:
                    self.exposures.purge_before(day_floor(datetime.now(timezone.utc), 1))
                    last_purge = now
            except PyMongoError as exc:
                log.warning("engine maintenance: MongoDB unavailable (%s); retrying", exc)

    def close(self) -> None:
        self._stop.set()
        if self._maintenance is not None:
            self._maintenance.join(10)
        if self._upkeep is not None:
            self._upkeep.join(10)
        if self._scorer is not None:
            self._scorer.join(10)
        try:
            self.flush()
        except PyMongoError as exc:
            log.error("write-behind: budget charges and frequency counts of this process could not be written at shutdown: %s", exc)
        if self.click_tail is not None:
            self.click_tail.stop()
        self.trainer.join(60)
        try:
            self.producer.flush(10)
        finally:
            if self.owns_producer:
                self.producer.close()
        self.db.client.close()

