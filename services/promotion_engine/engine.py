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

Several engine processes (uvicorn workers) each hold their own caches; the maintenance thread
also applies erasures another process handled (``privacy_audit``) to this one's memory, within
``MODEL_POLL_S``. In a serving process (``freeze_heap``, set by ``app.app_from_environment``;
not in tests or tools that share their process) the heap is settled after each large load
(start, snapshot reload, scoring pass): ``gc.freeze`` moves what was just built out of the cyclic
collector's reach, because full collections over the engine's few hundred thousand long-lived objects took 110-180 ms
each
and ran every few seconds under load, stalling every request in flight. Frozen objects are still
freed by reference counting when dropped; only reference cycles among them stay until exit.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from pymongo.database import Database
from pymongo.errors import PyMongoError

from services.common import read_models
from services.common.bus import EventProducer
from services.common.data_subjects import pull_journal_entries, subject_hash
from services.common.errors import NotFoundError
from services.common.settings import Settings
from services.common.store import connect, ensure_indexes
from services.promotion_engine import metrics
from services.promotion_engine.catalog import Catalog, StockView
from services.promotion_engine.click_stream import ClickStreamTail
from services.promotion_engine.config import PromotionConfig
from services.promotion_engine.exposure_log import ExposureLog, day_floor
from services.promotion_engine.features import ClickWindow, MongoRecentClicks, OrderHistory, RecentClicks
from services.promotion_engine.promotions import PromotionStore
from services.promotion_engine.recommender import Recommender
from services.promotion_engine.registry import UpliftModels
from services.promotion_engine.score_cache import ScoreCache
from services.promotion_engine.training import Trainer, qini_of

log = logging.getLogger(__name__)

MODEL_POLL_S = 5.0
SCORE_AHEAD_POLL_S = 1.0
SCORE_AHEAD_SCAN_S = 30.0
EXPOSURE_LINGER_MS = 1000
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
    registry: UpliftModels
    recommender: Recommender
    trainer: Trainer
    owns_producer: bool = True
    freeze_heap: bool = False  # gc.freeze after large loads (module docstring): only where the engine owns its process
    _stop: threading.Event = field(default_factory=threading.Event)
    _maintenance: threading.Thread | None = None
    _upkeep: threading.Thread | None = None
    _scorer: threading.Thread | None = None
    _erasures_since: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    _erasures_applied: set = field(default_factory=set)  # audit ids at ``_erasures_since`` already applied

    @classmethod
    def start(
        cls,
        settings: Settings,
        config: PromotionConfig,
        producer: EventProducer | None = None,
        freeze_heap: bool = False,
    ) -> Engine:
        db = connect(settings.mongo_uri, settings.mongo_db)
        ensure_indexes(db)
        owns_producer = producer is None
        # exposures are sent asynchronously anyway: a 1 s linger (200 ms before) halved the broker's CPU a request
        # (~60 -> ~33 µs, interleaved probe runs) on the cores the event loop shares; a SIGKILL loses <= 1 s of them
        producer = producer or EventProducer(
            settings.kafka_bootstrap,
            settings.topics,
            client_id="shelfcast-promotion-engine",
            linger_ms=EXPOSURE_LINGER_MS,
        )
        catalog = Catalog(db, config.catalog_ttl_s)
        write_behind = config.write_behind_s > 0
        promotions = PromotionStore(db, catalog, config.promotions_ttl_s, write_behind=write_behind)
        stock = StockView(db, config.stock_ttl_s)
        history = OrderHistory(db, catalog, config.history_days)
        history.refresh()
        click_tail = None
        if config.click_source == "stream":
            window = ClickWindow(config.recent_clicks_minutes)
            click_tail = ClickStreamTail(
                settings.kafka_bootstrap, settings.topics.for_event_type("click"), window, db
            ).start()
            if not click_tail.ready.wait(CLICK_TAIL_READY_S):
                log.warning(
                    "the click stream tail is not ready after %.0fs; serving without recent clicks until it is",
                    CLICK_TAIL_READY_S,
                )
            clicks: RecentClicks = window
        else:
            clicks = MongoRecentClicks(db, config.recent_clicks_minutes)
        exposures = ExposureLog(db, producer, write_behind=write_behind)
        if write_behind:
            exposures.load_today(datetime.now(timezone.utc))
        registry = UpliftModels(db, settings.data_dir / "models" / "promotions")
        registry.refresh()
        engine = cls(
            settings,
            config,
            db,
            producer,
            catalog,
            stock,
            promotions,
            history,
            clicks,
            click_tail,
            exposures,
            registry,
            Recommender(
                config,
                promotions,
                catalog,
                stock,
                history,
                clicks,
                exposures,
                registry,
                ScoreCache(config.score_ttl_s) if config.score_ttl_s > 0 else None,
            ),
            Trainer(db, catalog, registry, config),
            owns_producer,
            freeze_heap=freeze_heap,
        )
        engine._set_model_gauges()
        engine._erasures_since -= timedelta(
            minutes=config.recent_clicks_minutes
        )  # the click tail re-read that much of the topic
        engine._forget_erased_elsewhere()
        engine._settle_heap()
        engine._maintenance = threading.Thread(
            target=engine._maintain, name="promotion-engine-maintenance", daemon=True
        )
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
        """Keep every known customer's scores fresh: those of the order-history snapshot and those with recent
        clicks (many of whom have no orders yet). A full pass over the customers (cheap per customer, but
        thousands of them hold the GIL the request loop needs) runs when the model, the promotions or the
        history snapshot changed, and otherwise every ``SCORE_AHEAD_SCAN_S``; in between, every poll
        re-scores the customers whose recent clicks changed (one came in or left the window): clicks leave the
        window all the time (~7 a second in the bench shop), and each was a score-cache miss on the request path."""
        seen: tuple = ()
        seen_universe = None
        last_scan = float("-inf")
        while not self._stop.wait(SCORE_AHEAD_POLL_S):
            try:
                model, universe = self.registry.active, self.recommender.universe()
                current = (model.version if model else None, self.history.loaded_at)
                changed = self.clicks.changed(datetime.now(timezone.utc))
                if (
                    current != seen
                    or universe is not seen_universe
                    or time.monotonic() - last_scan >= SCORE_AHEAD_SCAN_S
                ):
                    known = self.history.customer_ids()
                    if self.recommender.precompute(
                        known + sorted(set(self.clicks.customer_ids()) - set(known)), stop=self._stop
                    ):
                        self._settle_heap()
                    seen, seen_universe, last_scan = current, universe, time.monotonic()
                elif changed:  # a click in or out of the window: re-scored now, not on the customer's next request
                    self.recommender.precompute(sorted(changed), stop=self._stop)
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

    def _set_model_gauges(self) -> None:
        try:
            active = self.registry.active_document()
        except NotFoundError:
            metrics.MODEL_QINI.set(float("nan"))
            metrics.MODEL_TRAINED_AT.set(float("nan"))
            return
        metrics.MODEL_QINI.set(qini_of(active))
        metrics.MODEL_TRAINED_AT.set((active.get("trained_at") or active["created_at"]).timestamp())

    def _maintain(self) -> None:
        last_history = last_purge = time.monotonic()
        while not self._stop.wait(MODEL_POLL_S):
            try:
                before = self.registry.active
                if self.registry.refresh() is not before:
                    self._set_model_gauges()
                now = time.monotonic()
                if self.config.history_refresh_s and now - last_history >= self.config.history_refresh_s:
                    self.history.refresh()
                    self._settle_heap()
                    last_history = now
                self._forget_erased_elsewhere()
                if now - last_purge >= PURGE_EVERY_S:
                    self.exposures.purge_before(day_floor(datetime.now(timezone.utc), 1))
                    last_purge = now
            except PyMongoError as exc:
                log.warning("engine maintenance: MongoDB unavailable (%s); retrying", exc)

    def _settle_heap(self) -> None:
        """``gc.freeze`` what is alive now (module docstring); process-wide, so only where this engine owns the
        process."""
        if self.freeze_heap:
            gc.freeze()

    def forget(self, customer_id: str) -> dict[str, int]:
        """Drop what this process holds in memory about an erased customer; what was dropped, by kind."""
        scores = self.recommender.scores
        return {
            "order_summary": int(self.history.forget(customer_id)),
            "recent_clicks": self.clicks.forget(customer_id),
            "cached_scores": int(scores.forget(customer_id)) if scores is not None else 0,
            "serve_counters": self.exposures.forget(customer_id),
        }

    def _forget_erased_elsewhere(self) -> None:
        """Apply erasures audited since the last look (by any process) to this process's memory. The audit holds
        only the id's hash, so the ids held here are hashed and compared; counters this process wrote after
        the erasure are deleted again."""
        found = list(
            self.db[read_models.PRIVACY_AUDIT].find(
                {"action": "erase", "at": {"$gte": self._erasures_since}}, {"subject_sha256": 1, "at": 1}
            )
        )
        erased = [doc for doc in found if doc["_id"] not in self._erasures_applied]
        if not erased:
            return
        latest = max(doc["at"] for doc in found)
        self._erasures_since = latest.replace(tzinfo=timezone.utc)
        self._erasures_applied = {
            doc["_id"] for doc in found if doc["at"] == latest
        }  # the next look starts at that instant again
        wanted = {doc["subject_sha256"] for doc in erased}
        scores = self.recommender.scores
        held = {
            *self.history.customer_ids(),
            *self.clicks.customer_ids(),
            *self.exposures.customer_ids(),
            *(scores.customer_ids() if scores else ()),
        }
        for customer_id in held:
            if subject_hash(customer_id) in wanted:
                with self.exposures.writes_held():
                    self.forget(customer_id)
                    self.db[read_models.PROMOTION_FREQUENCY].delete_many({"customer_id": customer_id})
                    pull_journal_entries(self.db, customer_id)
                log.info("erasure applied to this process's memory (subject %s…)", subject_hash(customer_id)[:12])

    def close(self) -> None:
        self._stop.set()
        if self._maintenance is not None:
            self._maintenance.join(10)
        if self._upkeep is not None:
            self._upkeep.join(10)
        if self._scorer is not None:
            self._scorer.join(10)
        try:
            self.promotions.flush_charges()
            self.exposures.fold_all()
        except PyMongoError as exc:
            log.error(
                "write-behind: this process's budget charges and frequency counts could not be written at shutdown: %s",
                exc,
            )
        if self.click_tail is not None:
            self.click_tail.stop()
        self.trainer.join(60)
        try:
            self.producer.flush(10)
        finally:
            if self.owns_producer:
                self.producer.close()
        self.db.client.close()
