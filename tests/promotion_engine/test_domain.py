"""The engine's pure pieces, without servers: assignment, statistics, click intent, scoring, key parsing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from services.common.api_auth import ApiKeys, Scope
from services.promotion_engine import scoring
from services.promotion_engine.assignment import arm_for, control_position
from services.promotion_engine.experiments import difference_of_proportions
from services.promotion_engine.features import ClickRecord, ClickWindow, summarize_clicks

T = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)


def test_control_assignment_is_stable_and_matches_its_share():
    assert control_position("cu_1", "s") == control_position("cu_1", "s") != control_position("cu_1", "other-salt")
    for share in (0.0, 0.1, 0.5, 1.0):
        arms = [arm_for(f"cu_{i}", "s", share) for i in range(5000)]
        assert abs(arms.count("control") / 5000 - share) < 0.02


def test_difference_of_proportions_is_the_wald_interval():
    lift, lo, hi = difference_of_proportions(40, 100, 25, 100)
    se = (0.4 * 0.6 / 100 + 0.25 * 0.75 / 100) ** 0.5  # = 0.06538
    assert lift == pytest.approx(0.15) and (lo, hi) == pytest.approx((0.15 - 1.959964 * se, 0.15 + 1.959964 * se))
    assert difference_of_proportions(1, 10, 0, 0) is None


def test_cart_left_without_checkout_is_abandoned_and_checkout_clears_it():
    clicks = [
        ClickRecord(T, "view", "A"),
        ClickRecord(T + timedelta(seconds=1), "add_to_cart", "A"),
        ClickRecord(T + timedelta(seconds=2), "add_to_cart", "B"),
        ClickRecord(T + timedelta(seconds=3), "remove_from_cart", "B"),
    ]
    activity = summarize_clicks(reversed(clicks))  # order of arrival does not matter, time does
    assert activity.in_cart == {"A"} and activity.viewed == {"A"} and activity.clicks == 4
    assert summarize_clicks([*clicks, ClickRecord(T + timedelta(seconds=4), "checkout", None)]).in_cart == frozenset()


def test_click_window_drops_duplicates_and_old_clicks():
    window = ClickWindow(minutes=30)
    assert window.add("cu", ClickRecord(T, "add_to_cart", "A", "e1"), now=T)
    assert not window.add("cu", ClickRecord(T, "add_to_cart", "A", "e1"), now=T)
    assert not window.add("cu", ClickRecord(T - timedelta(hours=1), "view", "B", "e2"), now=T)
    assert window.activity("cu", T).in_cart == {"A"}
    assert window.activity("cu", T + timedelta(minutes=31)).clicks == 0
    assert window.prune(T + timedelta(minutes=31)) == 1 and len(window) == 0


def test_click_window_names_the_customers_whose_activity_changed_once_each():
    """What the scorer re-scores each poll: a click in, or a click out of the window (not before), erased customers
    not."""
    window = ClickWindow(minutes=30)
    window.add("cu_a", ClickRecord(T, "view", "A", "e1"), now=T)
    window.add("cu_b", ClickRecord(T + timedelta(minutes=10), "view", "B", "e2"), now=T + timedelta(minutes=10))
    window.add("cu_gone", ClickRecord(T, "view", "C", "e3"), now=T)
    window.forget("cu_gone", now=T + timedelta(minutes=10))
    assert window.changed(T + timedelta(minutes=10)) == {"cu_a", "cu_b"}
    assert window.changed(T + timedelta(minutes=20)) == set()
    assert (
        window.changed(T + timedelta(minutes=30)) == set()
    )  # cu_a's click is still in the window at exactly 30 minutes
    assert window.activity("cu_a", T + timedelta(minutes=30, seconds=1)).clicks == 0
    assert window.changed(T + timedelta(minutes=30, seconds=1)) == {"cu_a"}
    assert window.changed(T + timedelta(minutes=41)) == {"cu_b"}
    window.add("cu_gone", ClickRecord(T + timedelta(minutes=42), "view", "C", "e4"), now=T + timedelta(minutes=42))
    assert window.changed(T + timedelta(minutes=42)) == {"cu_gone"}  # erased, then clicked again: scored like anyone


def test_click_window_changes_nobody_asks_for_do_not_pile_up():
    """Without a scorer nothing calls ``changed``: pruning forgets changes older than the window twice over."""
    window = ClickWindow(minutes=30)
    for i in range(100):
        window.add(f"cu_{i}", ClickRecord(T, "view", "A", f"e{i}"), now=T)
    window.add("cu_new", ClickRecord(T + timedelta(minutes=61), "view", "B", "e-new"), now=T + timedelta(minutes=61))
    window.prune(T + timedelta(minutes=61))
    assert window.changed(T + timedelta(minutes=61)) == {"cu_new"}


def test_incremental_margin_charges_the_discount_given_to_those_who_would_buy_anyway():
    econ = scoring.economics(
        np.array([0.5, 0.02]),
        np.array([0.01, 0.05]),
        np.array([1000.0, 1000.0]),
        np.array([500.0, 500.0]),
        np.array([200.0, 200.0]),
    )
    # loyal buyer: 0.01 * (1000 - 200 - 500) - 0.5 * 200 = 3 - 100 = -97; persuadable: 0.05 * 300 - 0.02 * 200 = 11
    assert econ.incremental_margin_cents == pytest.approx([-97.0, 11.0])
    assert econ.cost_cents == pytest.approx([0.51 * 200, 0.07 * 200])
    assert scoring.rank_score(econ.incremental_margin_cents, np.array([True, True]), 0.25) == pytest.approx(
        [-97.0, 13.75]
    )


def test_cart_boost_keeps_conversion_a_probability():
    boosted = scoring.apply_cart_boost(np.array([0.1, 0.8]), np.array([1.0, 1.0]), np.array([0.1, 0.5]))
    assert boosted == pytest.approx([0.17, 0.4])


def test_api_keys_parse_scopes_in_order():
    keys = ApiKeys.parse(" a:read, b:WRITE ,c:admin,")
    assert keys.scope_of("b") is Scope.WRITE and keys.scope_of("nope") is None
    assert Scope.READ < Scope.WRITE < Scope.ADMIN
    assert not ApiKeys.parse("").enabled
    with pytest.raises(ValueError):
        ApiKeys.parse("just-a-key")


def test_bench_reports_throughput_latency_and_errors_against_a_live_server():
    """bench_recommendations against a tiny stand-in server: the shape and the error count, not speed."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from services.benchmarks.promotion_shop import bench_recommendations

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            status = 200 if "cu_ok" in self.path and self.headers.get("X-API-Key") == "k" else 500
            self.send_response(status)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = bench_recommendations(
            f"http://127.0.0.1:{server.server_port}",
            "k",
            requests=40,
            concurrency=4,
            customers=["cu_ok", "cu_bad"],
            warmup=0,
        )
    finally:
        server.shutdown()
    assert result["errors"] == 20 and result["requests"] == 40 and result["warmup"] == 0
    assert result["rps"] > 0 and 0 < result["p50_ms"] <= result["p99_ms"]
