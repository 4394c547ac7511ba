"""env/alerts.yml: valid for Prometheus, every alert unit-tested with ``promtool test rules``, every alert with the
notes an operator needs, and every metric it reads one that a service exposes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.ops.metric_names import unknown_metrics

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "env" / "alerts.yml"
UNIT_TESTS = Path(__file__).with_name("alerts_test.yml")
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool not installed (Debian package 'prometheus'; .ci/run installs it): alert rules not unit-tested",
)


def _rules() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


@needs_promtool
def test_alert_rules_pass_their_promtool_unit_tests() -> None:
    result = subprocess.run([PROMTOOL, "test", "rules", str(UNIT_TESTS)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@needs_promtool
def test_prometheus_config_and_its_rules_are_valid() -> None:
    result = subprocess.run(
        [PROMTOOL, "check", "config", str(ROOT / "env" / "prometheus.yml")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(_rules())} rules found" in result.stdout


def test_every_alert_is_unit_tested_firing() -> None:
    fired = {
        case["alertname"]
        for test in yaml.safe_load(UNIT_TESTS.read_text())["tests"]
        for case in test["alert_rule_test"]
        if case["exp_alerts"]
    }
    assert fired == {rule["alert"] for rule in _rules()}


def test_every_alert_has_a_severity_a_summary_and_a_runbook() -> None:
    incomplete = [
        rule["alert"]
        for rule in _rules()
        if rule["labels"].get("severity") not in ("info", "warning", "critical")
        or not rule["annotations"].get("summary")
        or len(rule["annotations"].get("runbook", "")) < 80
    ]
    assert incomplete == []


def test_alerts_read_only_metrics_that_the_services_expose() -> None:
    assert unknown_metrics([rule["expr"] for rule in _rules()]) == set()
