"""The running dashboard in headless Chromium: pages load cleanly, filters drive charts, and a sale
entered in the form travels Kafka → consumer → MongoDB → KPIs. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from werkzeug.serving import make_server

from services.common import read_models
from services.common.settings import Settings
from services.common.store import connect, ensure_indexes
from services.data_consumer.main import run_consumer
from services.devstack.process import free_port
from tests.dashboard.conftest import insert_rollups, order_doc, rollup, seed_catalog

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian chromium not installed (apt-get install chromium chromium-driver)"
    ),
]
PAGES = {
    "overview": ("/", "#kpi-revenue"),
    "sales": ("/sales", "#sales-trend .main-svg"),
    "inventory": ("/inventory", "#kpi-stock-ok"),
    "promotions": ("/promotions", "#promo-banner .banner"),
    "forecasts": ("/forecasts", "#fc-chart .main-svg"),
    "baskets": ("/baskets", "#basket-chart .main-svg"),
    "reports": ("/reports", "#report-scheduled"),
    "sales-entry": ("/entry", "#entry-submit"),
}
WAIT_S = 60.0


def wait_until(
    condition: Callable[[], object], what: str, timeout_s: float = WAIT_S, state: Callable[[], object] = lambda: ""
) -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            value = condition()
        except Exception:  # the DOM is being re-rendered: try again
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what} {state()}")


@pytest.fixture(scope="module")
def base_url(dashboard_app, app_settings: Settings) -> Iterator[str]:
    """Seeded database, the real consumer in a thread, and the app on werkzeug in another."""
    db = connect(app_settings.mongo_uri, app_settings.mongo_db)
    ensure_indexes(db)
    seed_catalog(db)
    today = datetime.now(timezone.utc).date()
    insert_rollups(
        db,
        [
            rollup(today, "A1", "s1", "online", units=10, revenue=10_000, cost=6000),
            rollup(today - timedelta(days=3), "B2", "s2", "store", units=2, revenue=5000, cost=2000),
            rollup(today - timedelta(days=40), "A1", "s1", "online", units=4, revenue=4000, cost=2400),
        ],
    )
    db[read_models.ORDERS].insert_many(
        [
            order_doc(today, ["A1", "B2"], revenue=10_000),
            order_doc(today - timedelta(days=3), ["A1", "B2"], channel="store", store_id="s2"),
        ]
    )
    db[read_models.STOCK].insert_many(
        [  # A1|s1 is left to the consumer: the sale creates it
            {
                "_id": f"{sku}|{store_id}",
                "sku": sku,
                "store_id": store_id,
                "on_hand": on_hand,
                "reorder_threshold": 3,
                "status": status,
                "sold_units": 5,
                "received_units": 5 + on_hand,
                "returned_units": 0,
                "backordered_units": 0,
                "updated_at": None,
                "version": 1,
                "applied": {},
            }
            for sku, store_id, on_hand, status in (
                ("A1", "s2", 12, "ok"),
                ("B2", "s1", 2, "low"),
                ("B2", "s2", 0, "out"),
            )
        ]
    )
    now = datetime.now(timezone.utc)
    db[read_models.ALERTS].insert_many(
        [
            {
                "_id": f"seed-{kind}",
                "kind": kind,
                "sku": "B2",
                "store_id": store_id,
                "on_hand": on_hand,
                "threshold": 3,
                "message": f"B2 at {store_id}: {kind.replace('_', ' ')}",
                "created_at": now - timedelta(hours=1),
            }
            for kind, store_id, on_hand in (("low_stock", "s1", 2), ("out_of_stock", "s2", 0))
        ]
    )
    stop = threading.Event()
    consumer = threading.Thread(target=run_consumer, args=(app_settings, stop), daemon=True)
    consumer.start()
    server = make_server("127.0.0.1", free_port(), dashboard_app.server, threaded=True)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    stop.set()
    consumer.join(30)


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
        "--window-size=1366,900",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield browser
    browser.quit()


def open_page(driver: WebDriver, url: str, marker: str) -> None:
    driver.get(url)
    wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, marker), f"{marker} on {url}")
    wait_until(
        lambda: not driver.find_elements(By.CSS_SELECTOR, "._dash-loading, .dash-spinner, [data-dash-is-loading=true]"),
        f"{url} to finish loading",
    )
    time.sleep(1.0)  # one more refresh tick, so late callback errors reach the console


def severe(driver: WebDriver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def screenshot(driver: WebDriver, path: Path, width: int) -> None:
    """The whole page, not just the first screen."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(max(height, 600), 5000))
    time.sleep(0.5)
    driver.save_screenshot(str(path))


def select_option(driver: WebDriver, dropdown_id: str, label: str) -> None:
    driver.find_element(By.ID, dropdown_id).click()
    option = wait_until(
        lambda: [o for o in driver.find_elements(By.CSS_SELECTOR, ".dash-dropdown-option") if o.text.startswith(label)],
        f"option {label}",
    )
    option[0].click()  # type: ignore[index]
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)


def trace_names(driver: WebDriver, graph_id: str) -> list[str]:
    return driver.execute_script(f"return document.querySelector('#{graph_id} .js-plotly-plot').data.map(t => t.name)")


def test_every_page_loads_without_console_errors(base_url: str, driver: WebDriver, artifacts_dir: Path) -> None:
    shots = artifacts_dir / "screenshots"
    shots.mkdir(exist_ok=True)
    errors = {}
    for name, (path, marker) in PAGES.items():
        driver.set_window_size(1366, 900)
        open_page(driver, base_url + path, marker)
        errors[name] = severe(driver)
        screenshot(driver, shots / f"{name}.png", 1366)
    for name in ("overview", "sales"):
        driver.set_window_size(390, 844)
        open_page(driver, base_url + PAGES[name][0], PAGES[name][1])
        screenshot(driver, shots / f"phone-{name}.png", 390)
        errors[f"phone-{name}"] = severe(driver)
    driver.set_window_size(1366, 900)
    assert errors == {name: [] for name in errors}


def test_channel_filter_changes_the_sales_trend(base_url: str, driver: WebDriver) -> None:
    open_page(driver, base_url + "/sales", "#sales-trend .main-svg")
    driver.execute_script("window.sessionStorage.clear()")
    open_page(driver, base_url + "/sales", "#sales-trend .main-svg")
    assert sorted(trace_names(driver, "sales-trend")) == ["online", "store", "total"]
    select_option(driver, "f-channels", "online")
    wait_until(
        lambda: sorted(trace_names(driver, "sales-trend")) == ["online", "total"],
        "the trend to show only the online channel",
    )
    assert severe(driver) == []


def test_sale_entered_in_the_form_reaches_the_kpis(base_url: str, driver: WebDriver, app_settings: Settings) -> None:
    db = connect(app_settings.mongo_uri, app_settings.mongo_db)
    open_page(driver, base_url + "/entry", "#entry-submit")
    driver.execute_script("window.sessionStorage.clear()")
    open_page(driver, base_url + "/entry", "#entry-submit")
    driver.find_element(By.ID, "entry-submit").click()
    wait_until(
        lambda: driver.find_element(By.ID, "entry-sku-error").text == "Choose a product.", "the product field's message"
    )
    select_option(driver, "entry-sku", "A1")
    select_option(driver, "entry-store", "s1")
    quantity = driver.find_element(By.CSS_SELECTOR, "#entry-quantity")
    quantity.send_keys(Keys.CONTROL, "a")
    quantity.send_keys("3")
    driver.find_element(By.ID, "entry-submit").click()
    event_id = wait_until(lambda: driver.find_element(By.ID, "entry-event-id").text, "the published event id")
    assert uuid.UUID(str(event_id)) and driver.find_element(By.ID, "entry-sku-error").text == ""
    driver.find_element(By.LINK_TEXT, "Overview").click()
    # seeded $100.00 today and $50.00 three days ago, + 3 × $10.00 at the catalog price once the consumer has stored the
    # sale
    wait_until(
        lambda: driver.find_element(By.CSS_SELECTOR, "#kpi-revenue .kpi-value").text == "$180.00",
        "the sale in the revenue KPI",
        state=lambda: (
            driver.find_element(By.ID, "overview-kpis").text,
            list(db[read_models.ORDERS].find({}, {"_id": 1, "day": 1})),
            list(db[read_models.DAILY_SALES].find({}, {"_id": 1, "revenue_cents": 1})),
        ),
    )
    wait_until(
        lambda: driver.find_element(By.CSS_SELECTOR, "#kpi-orders .kpi-value").text == "3", "the sale in the orders KPI"
    )  # re-rendered each tick
    assert severe(driver) == []
