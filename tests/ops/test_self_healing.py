"""``shelfcast up`` heals: the consumer killed with SIGKILL while events flow comes back, and every event is
stored once; a service that cannot start stops the whole stack with one line and exit code 1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from services.common import read_models
from services.common.bus import EventProducer
from services.common.settings import Settings
from services.devstack.process import free_port
from tests.factories import order, product, restock, shop_store
from tests.waiting import wait_for

SKUS = ("A1", "B2", "C3")
INITIAL_STOCK = 10_000


def _up(settings: Settings, tmp_path: Path, services: str, **extra: str) -> tuple[subprocess.Popen, Path, int]:
    """``shelfcast up --attach`` on the session's servers with this test's topics, database and group."""
    metrics_port = free_port()
    env = (
        os.environ
        | {
            "SHELFCAST_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "SHELFCAST_MONGO_URI": settings.mongo_uri,
            "SHELFCAST_MONGO_DB": settings.mongo_db,
            "SHELFCAST_TOPIC_PREFIX": settings.topic_prefix,
            "SHELFCAST_CONSUMER_GROUP": settings.consumer_group,
            "SHELFCAST_CONSUMER_BATCH_SIZE": "200",
            "SHELFCAST_CONSUMER_METRICS_PORT": "0",
            "SHELFCAST_SUPERVISOR_METRICS_PORT": str(metrics_port),
            "SHELFCAST_SUPERVISOR_BACKOFF_S": "0.2",
            "SHELFCAST_DATA_DIR": str(tmp_path / "data"),
            "SHELFCAST_LOG_LEVEL": "WARNING",
        }
        | extra
    )
    output = tmp_path / "up.log"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "up", "--attach", "--rate", "0", "--services", services],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    return process, output, metrics_port


class _Stream:
    """Orders published from a thread, ~100/s, every tenth sent twice, until ``finish()``: events flow before,
    during and after the kill."""

    def __init__(self, producer: EventProducer) -> None:
        self.producer = producer
        self.sent = 0
        self.sold = dict.fromkeys(SKUS, 0)
        self._finish = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def start(self) -> None:
        self._thread.start()

    def finish(self) -> None:
        self._finish.set()
        if self._thread.is_alive():
            self._thread.join(60)

    def _run(self) -> None:
        while not self._finish.wait(0.1):
            for _ in range(10):
                sku, quantity = SKUS[self.sent % 3], 1 + self.sent % 2
                event = order(sku, quantity, customer=f"cu_{self.sent % 97}", minutes=10 + self.sent)
                self.producer.publish(event)
                if self.sent % 10 == 0:
                    self.producer.publish(event)  # the same event delivered twice
                self.sold[sku] += quantity
                self.sent += 1
            self.producer.flush()


def _consumer_status(db) -> dict | None:
    return db[read_models.SERVICE_STATUS].find_one({"service": "consumer"})


def _stored(db) -> int:
    return db[read_models.ORDERS].count_documents({})


def test_consumer_killed_under_up_while_events_flow_is_restarted_and_every_event_is_stored_once(
    settings, db, producer, tmp_path
):
    up, output, metrics_port = _up(settings, tmp_path, "consumer")
    stream = _Stream(producer)
    try:
        producer.publish(shop_store())
        for sku in SKUS:
            producer.publish(product(sku))
            producer.publish(restock(sku, INITIAL_STOCK))
        producer.flush()
        wait_for(lambda: db[read_models.STOCK].count_documents({}) == len(SKUS), "the catalog stored under up")
        first = _consumer_status(db)
        assert first["state"] == "up" and first["restarts"] == 0
        stream.start()
        wait_for(lambda: _stored(db) >= 300, "orders flowing")
        os.kill(first["pid"], signal.SIGKILL)
        wait_for(
            lambda: (_consumer_status(db) or {}).get("restarts") == 1 and _consumer_status(db)["state"] == "up",
            "the consumer restarted",
            state=lambda: (_consumer_status(db), output.read_text()[-2000:]),
        )
        stored_at_restart = _stored(db)
        wait_for(lambda: _stored(db) > stored_at_restart + 200, "the restarted consumer storing new orders")
        stream.finish()
        wait_for(
            lambda: _stored(db) == stream.sent,
            f"all {stream.sent} orders stored",
            timeout_s=180,
            state=lambda: (_stored(db), output.read_text()[-2000:]),
        )
        metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
    finally:
        try:
            stream.finish()
        finally:
            up.send_signal(signal.SIGTERM)
            code = up.wait(60)
    log = output.read_text()
    assert code == 0, log[-3000:]
    assert "consumer exited with signal SIGKILL; restarting in 0.2 s" in log
    assert 'shelfcast_service_restarts_total{service="consumer"} 1.0' in metrics
    assert _consumer_status(db)["state"] == "stopped"
    assert _consumer_status(db)["pid"] != first["pid"]
    for sku in SKUS:
        stock = db[read_models.STOCK].find_one({"_id": read_models.stock_id(sku, "s1")})
        assert (stock["sold_units"], stock["on_hand"]) == (stream.sold[sku], INITIAL_STOCK - stream.sold[sku]), sku
    assert db[read_models.STOCK_LEDGER].count_documents({"kind": "sale"}) == stream.sent


def test_a_service_that_cannot_start_stops_the_whole_stack_with_one_line_and_exit_code_1(settings, tmp_path):
    up, output, _ = _up(
        settings,
        tmp_path,
        "dashboard",
        SHELFCAST_DASHBOARD_WORKERS="-1",  # refused by the dashboard alone: it exits at every start
        SHELFCAST_SUPERVISOR_BACKOFF_S="0.05",
        SHELFCAST_SUPERVISOR_CRASH_LOOP_EXITS="3",
    )
    try:
        code = up.wait(180)
    finally:
        if up.poll() is None:
            up.kill()
    log = output.read_text()
    assert code == 1, log[-3000:]
    verdicts = [line for line in log.splitlines() if "crash loop" in line]
    assert verdicts == [
        "shelfcast: dashboard exited 3 times in 60 s (last: code 1); a crash loop: stopping the stack "
        "(its own output above says why)"
    ]
    assert "SHELFCAST_DASHBOARD_WORKERS" in log


def test_up_refuses_bad_supervisor_settings_and_unknown_services_with_exit_code_2(settings, tmp_path):
    env = os.environ | {"SHELFCAST_SUPERVISOR_BACKOFF_S": "-1"}
    command = [sys.executable, "-m", "services.cli.main", "up", "--attach"]
    bad_setting = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert bad_setting.returncode == 2
    assert bad_setting.stderr.strip().splitlines() == [
        "shelfcast: invalid setting SHELFCAST_SUPERVISOR_BACKOFF_S='-1': Input should be greater than 0"
    ]
    unknown = subprocess.run([*command, "--services", "consumer,mailer"], capture_output=True, text=True, timeout=60)
    assert unknown.returncode == 2
    assert "unknown service mailer; known: consumer, forecast, promotions, dashboard" in unknown.stderr
