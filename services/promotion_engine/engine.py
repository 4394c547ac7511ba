"""The engine's parts wired together for one process, and the background upkeep they need.

``Engine.start`` connects to MongoDB and Kafka, loads the order-history snapshot, starts the click
stream tail and loads the active model; a maintenance thread then reloads the snapshot every
``history_refresh_s``, follows the active-model pointer (a model trained by another process is
picked up within ``MODEL_POLL_S``) and purges old frequency counters. The HTTP layer and the CLI
use the same object.
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
from services.promotion_engine.training import Trainer, qini_of

log = logging.getLogger(__name__)

MODEL_POLL_S = 5.0
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

    @classmethod
    def start(cls, settings: Settings, config: PromotionConfig, producer: EventProducer | None = None) -> "Engine":
        db = connect(settings.mongo_uri, settings.mongo_db)
        ensure_indexes(db)
        owns_producer = producer is None
        producer = producer or EventProducer(settings.kafka_bootstrap, settings.topics, client_id="shelfcast-promotion-engine")
        catalog = Catalog(db, config.catalog_ttl_s)
        promotions = PromotionStore(db, catalog, config.promotions_ttl_s)
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
        exposures = ExposureLog(db, producer)
        registry = ModelRegistry(db, settings.data_dir / "models" / "promotions")
        registry.refresh()
        engine = cls(settings, config, db, producer, catalog, stock, promotions, history, clicks, click_tail, exposures, registry,
                     Recommender(config, promotions, catalog, stock, history, clicks, exposures, registry),
                     Trainer(db, catalog, registry, config), owns_producer)
        engine._set_qini_gauge()
        engine._maintenance = threading.Thread(target=engine._maintain, name="promotion-engine-maintenance", daemon=True)
        engine._maintenance.start()
        return engine

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
        if self.click_tail is not None:
            self.click_tail.stop()
        self.trainer.join(60)
        try:
            self.producer.flush(10)
        finally:
            if self.owns_producer:
                self.producer.close()
        self.db.client.close()

