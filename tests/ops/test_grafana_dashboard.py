"""The provisioned Grafana dashboard: well-formed, wired to the provisioned Prometheus, every query on metrics that
the services expose, and the panels operators asked for."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.ops.metric_names import unknown_metrics, used_metrics

GRAFANA = Path(__file__).resolve().parents[2] / "env" / "grafana"
DASHBOARD = json.loads((GRAFANA / "dashboards" / "shelfcast.json").read_text())
PANELS = DASHBOARD["panels"]


def _expressions(panels: list[dict]) -> list[str]:
    return [target["expr"] for panel in panels for target in panel["targets"]]


def test_dashboard_is_a_provisionable_dashboard_with_unique_panels_on_a_grid() -> None:
    assert DASHBOARD["uid"] and DASHBOARD["title"] and DASHBOARD["schemaVersion"] >= 36
    assert len({p["id"] for p in PANELS}) == len(PANELS)
    cells = set()
    for panel in PANELS:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        area = {
            (x, y) for x in range(grid["x"], grid["x"] + grid["w"]) for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & area, f"{panel['title']} overlaps another panel"
        cells |= area
        assert panel["targets"] and all(t["expr"] and t["refId"] for t in panel["targets"]), panel["title"]


def test_every_panel_queries_the_provisioned_prometheus() -> None:
    datasource = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    uid = datasource["datasources"][0]["uid"]
    assert {p["datasource"]["uid"] for p in PANELS} == {uid}
    assert {t["datasource"]["uid"] for p in PANELS for t in p["targets"]} == {uid}


def test_the_dashboard_provider_reads_the_folder_compose_mounts() -> None:
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "shelfcast.yml").read_text())["providers"][0]
    compose = yaml.safe_load((GRAFANA.parents[1] / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./env/grafana/dashboards:{provider['options']['path']}:ro" in mounts


def test_every_query_reads_metrics_that_the_services_expose() -> None:
    assert unknown_metrics(_expressions(PANELS)) == set()


def test_panels_cover_ingest_lag_latency_promotions_and_model_age() -> None:
    read = set().union(*(used_metrics(e) for e in _expressions(PANELS)))
    assert {
        "shelfcast_consumer_events_stored_total",  # ingest rate
        "shelfcast_consumer_partition_lag",  # lag
        "shelfcast_http_request_duration_seconds",  # API latency
        "shelfcast_promotions_served_total",  # promotions served
        "shelfcast_promotions_budget_refused_total",  # and refused
        "shelfcast_promotions_frequency_refused_total",
        "shelfcast_forecast_model_trained_at_seconds",  # model age
        "shelfcast_promotions_model_trained_at_seconds",
    } <= read
