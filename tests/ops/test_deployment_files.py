"""The Dockerfile, docker-compose.yml and its settings files, checked with what runs without a Docker engine: the
compose-spec JSON schema, BuildKit's Dockerfile parser, and the rules the deployment relies on, read from the files
themselves (docs/operations.md says what only a Docker host can show)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import dockerfile
import pytest
import yaml

from services.common.topics import Topics

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
COMPOSE = yaml.safe_load(COMPOSE_FILE.read_text())
SERVICES = COMPOSE["services"]
SHELFCAST = ("consumer", "forecast", "promotions", "dashboard", "generator")  # the containers of our image
PROBED = {"consumer": 9102, "forecast": 8001, "promotions": 8002, "dashboard": 8050}  # the port each one serves


def _env_file(name: str) -> dict[str, str]:
    lines = (ROOT / "env" / name).read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))


def test_compose_file_is_valid_against_the_compose_spec_schema() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_shelfcast_container_runs_the_one_image_built_here() -> None:
    images = {(SERVICES[s]["image"], SERVICES[s]["build"]["context"]) for s in SHELFCAST}
    assert images == {("shelfcast:0.1.0", ".")}
    assert all(SERVICES[s]["command"] for s in SHELFCAST)


@pytest.mark.parametrize("service", sorted(PROBED))
def test_each_service_is_probed_on_its_own_port_restarted_and_bounded_in_memory(service: str) -> None:
    spec = SERVICES[service]
    url = urlsplit(spec["environment"]["SHELFCAST_HEALTH_URL"])
    assert (url.hostname, url.port) == ("127.0.0.1", PROBED[service])
    assert url.path == ("/metrics" if service == "consumer" else "/health")
    assert "SHELFCAST_HEALTH_URL" in " ".join(spec["healthcheck"]["test"])
    assert spec["restart"] == "unless-stopped"
    assert spec["deploy"]["resources"]["limits"]["memory"]
    assert spec["depends_on"]["mongo"] == {"condition": "service_healthy"}
    assert spec["depends_on"]["topics"] == {"condition": "service_completed_successfully"}


def test_the_dashboard_starts_once_both_apis_are_healthy() -> None:
    depends = SERVICES["dashboard"]["depends_on"]
    assert depends["forecast"] == depends["promotions"] == {"condition": "service_healthy"}


def test_long_running_containers_restart_have_memory_limits_and_pinned_images() -> None:
    for name, spec in SERVICES.items():
        if name == "topics":
            assert spec["restart"] == "no"  # one-shot
            continue
        assert spec["restart"] == "unless-stopped", name
        assert spec["deploy"]["resources"]["limits"]["memory"], name
        _, _, tag = spec["image"].partition(":")
        assert re.search(r"\d", tag) and tag != "latest", f"{name}: {spec['image']} is not pinned to a version"
    infrastructure = ("kafka", "kafka-2", "kafka-3", "mongo", "prometheus")
    assert all("healthcheck" in SERVICES[name] for name in infrastructure)


def test_every_interpolated_variable_has_a_default_so_plain_docker_compose_up_works() -> None:
    variables = re.findall(r"(?<!\$)\$\{([^}]*)\}", COMPOSE_FILE.read_text())
    assert variables and all(":-" in v for v in variables), variables


def test_the_topics_job_creates_exactly_the_platforms_topics() -> None:
    script = "\n".join(SERVICES["topics"]["command"])
    bases = re.search(r"for base in ([a-z\- ]+); do", script).group(1).split()
    assert tuple(f"shelfcast.{b}" for b in bases) == Topics("shelfcast").all
    assert '--replication-factor "$$REPLICATION"' in script and 'min.insync.replicas="$$MIN_ISR"' in script


def test_the_cluster_topology_is_three_kraft_voters_replication_3_and_min_isr_2() -> None:
    cluster = _env_file("cluster.env")
    assert cluster["COMPOSE_PROFILES"] == "cluster"
    assert (cluster["KAFKA_CLUSTER_REPLICATION"], cluster["KAFKA_CLUSTER_MIN_ISR"]) == ("3", "2")
    voters = cluster["KAFKA_CLUSTER_VOTERS"]
    brokers = ("kafka", "kafka-2", "kafka-3")
    assert voters == ",".join(f"{i}@{b}:9093" for i, b in enumerate(brokers, 1))
    assert cluster["KAFKA_CLUSTER_BOOTSTRAP"] == ",".join(f"{b}:9092" for b in brokers)
    for node, broker in enumerate(brokers, 1):
        env = SERVICES[broker]["environment"]
        assert env["KAFKA_NODE_ID"] == node
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{broker}:9092"
        if broker != "kafka":
            assert SERVICES[broker]["profiles"] == ["cluster"]
            assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == voters
    assert SERVICES["kafka"]["environment"]["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "${KAFKA_CLUSTER_VOTERS:-1@kafka:9093}"


def test_mongo_is_a_replica_set_whose_application_user_is_the_one_the_services_log_in_as() -> None:
    services, mongo = _env_file("compose.env"), _env_file("mongo.env")
    uri = urlsplit(services["SHELFCAST_MONGO_URI"])
    assert (uri.username, uri.password) == (mongo["SHELFCAST_MONGO_APP_USER"], mongo["SHELFCAST_MONGO_APP_PASSWORD"])
    assert "replicaSet=rs0" in uri.query and "authSource=admin" in uri.query
    assert services["SHELFCAST_MONGO_DB"] == mongo["SHELFCAST_MONGO_DB"]
    startup = "\n".join(SERVICES["mongo"]["entrypoint"])
    assert "--replSet rs0" in startup and "--keyFile" in startup
    assert "rs.initiate({_id: 'rs0'" in SERVICES["mongo"]["healthcheck"]["test"][1]
    assert mongo["MONGO_INITDB_ROOT_PASSWORD"] != mongo["SHELFCAST_MONGO_APP_PASSWORD"]


def test_prometheus_and_grafana_get_the_files_this_repository_provides() -> None:
    for spec in (SERVICES["prometheus"], SERVICES["grafana"]):
        for volume in spec["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), volume


def _stages() -> list[list]:
    stages: list[list] = []
    for command in dockerfile.parse_file(str(ROOT / "Dockerfile")):
        if command.cmd == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(command)
    return stages


def test_the_image_is_multi_stage_with_dependencies_in_a_layer_before_the_code() -> None:
    build, runtime = _stages()
    steps = [(c.cmd, " ".join(c.value)) for c in build]
    dependencies = next(i for i, (cmd, v) in enumerate(steps) if cmd == "RUN" and "-r requirements.txt" in v)
    code = next(i for i, (cmd, v) in enumerate(steps) if cmd == "COPY" and v.startswith("services"))
    copied_before = [v for cmd, v in steps[:dependencies] if cmd == "COPY"]
    assert copied_before == ["pyproject.toml ./"] and dependencies < code
    assert [c.flags for c in runtime if c.cmd == "COPY"] == [("--from=build",)]


def test_the_image_runs_as_a_non_root_user_and_has_a_health_check() -> None:
    runtime = _stages()[-1]
    users = [c.value[0] for c in runtime if c.cmd == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert any(c.cmd == "HEALTHCHECK" and "SHELFCAST_HEALTH_URL" in c.original for c in runtime)
    base = re.search(r"ARG PYTHON_IMAGE=(\S+)", (ROOT / "Dockerfile").read_text()).group(1)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base)


def test_the_build_context_holds_only_the_package_and_never_env_secrets() -> None:
    rules = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    assert rules[0] == "*"
    assert {r for r in rules if r.startswith("!")} == {"!pyproject.toml", "!services"}
