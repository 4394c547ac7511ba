"""Several engine processes on one database: what they must agree on (README "Promotion engine workers").

Two in-process engines stand in for two processes where the test must choose which one answers
(the kernel picks the uvicorn worker of a connection); one real ``python -m
services.promotion_engine`` with two workers shows the launcher, the summed metrics and the shared
training status.
"""

from __future__ import annotations

import httpx

from services.common import read_models
from services.common.data_subjects import subject_hash
from services.common.read_models import PROMOTION_FREQUENCY as FREQUENCY
from services.common.settings import Settings
from services.devstack.service import ServiceProcess, service_env
from tests.promotion_engine.conftest import NOW, add_order, add_product, create_promotion, promoted, set_stock
from tests.waiting import wait_for

CAP = 2
ERASED = "cu_" + "e" * 24  # the shape erasure accepts (a pseudonym)


def _stored_serves(client, customer_id: str, promotion_id: str) -> int:
    return client.app.state.engine.exposures.served_today(customer_id, [promotion_id], NOW).get(promotion_id, 0)


def test_two_processes_keep_a_frequency_cap_within_one_extra_serve(db, start_app):
    """Each serve is flushed before the next request; the processes alternate. Without reading the stored counts
    back each process would serve the cap itself (4 serves); with it, at most cap + processes - 1."""
    add_product(db, "SKU-A")
    set_stock(db, "SKU-A", on_hand=50)
    first, second = start_app(), start_app()
    create_promotion(first, "P-A", max_per_customer_per_day=CAP)
    served = 0
    for client in [first, second] * 4:
        served += promoted(client, "cu_capped").count("P-A")
        wait_for(
            lambda served=served: _stored_serves(first, "cu_capped", "P-A") == served, "the serve to be written behind"
        )
    assert CAP <= served <= CAP + 1
    assert "P-A" not in promoted(first, "cu_capped") + promoted(second, "cu_capped")


def test_an_erasure_in_one_process_reaches_the_others_memory(db, start_app):
    add_product(db, "SKU-A")
    set_stock(db, "SKU-A", on_hand=50)
    add_order(db, ERASED, "SKU-A", NOW)
    admin, other = start_app(api_keys="adm:admin"), start_app()
    engine = other.app.state.engine
    assert engine.history.customer(ERASED) is not None
    assert engine.exposures.claim(ERASED, [("P-A", 5)], NOW) == {"P-A"}  # a serve counter in the other process's memory
    assert admin.delete(f"/admin/customers/{ERASED}", headers={"X-API-Key": "adm"}).status_code == 200
    wait_for(
        lambda: engine.history.customer(ERASED) is None and ERASED not in engine.exposures.customer_ids(),
        "the other process to apply the audited erasure",
        timeout_s=30,
    )
    assert db[FREQUENCY].count_documents({"customer_id": ERASED}) == 0
    assert (
        db[read_models.PRIVACY_AUDIT].count_documents({"subject_sha256": subject_hash(ERASED), "action": "erase"}) == 1
    )


def _pids_seen(url: str, want: int) -> set[int]:
    seen: set[int] = set()

    def both() -> bool:
        seen.add(httpx.get(f"{url}/health", timeout=10).json()["worker_pid"])  # a fresh connection each time
        return len(seen) >= want

    wait_for(both, f"{want} workers to answer /health", timeout_s=120)
    return seen


def test_two_worker_processes_share_the_port_and_sum_their_metrics(settings, tmp_path):
    env = service_env(
        settings,
        SHELFCAST_API_KEYS="",
        SHELFCAST_DATA_DIR=str(tmp_path / "data"),
        SHELFCAST_LOG_LEVEL="WARNING",
        SHELFCAST_PROMOTION_WORKERS="2",
    )
    with ServiceProcess("promotion_engine", "SHELFCAST_PROMOTION_PORT", env, ready_timeout_s=180) as url:
        assert len(_pids_seen(url, 2)) == 2
        for _ in range(30):
            assert httpx.get(f"{url}/promotions", timeout=10).status_code == 200
        metrics = httpx.get(f"{url}/metrics", timeout=10).text
        counted = sum(
            float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines()
            if line.startswith("shelfcast_http_request_duration_seconds_count{")
            and 'route="/promotions"' in line
            and 'method="GET"' in line
        )
        assert counted == 30  # whichever worker answered the scrape, both workers' requests are in it


def test_several_workers_refuse_a_port_already_taken(tmp_path):
    """The port is held the way another multi-worker engine holds it (SO_REUSEPORT): the workers alone would bind it
    too and take half its connections; the supervisor checks first and says why it stops, in one line."""
    import socket
    import subprocess
    import sys

    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = service_env(
            Settings(),
            SHELFCAST_PROMOTION_WORKERS="2",
            SHELFCAST_PROMOTION_PORT=str(port),
            SHELFCAST_BIND_HOST="127.0.0.1",
            SHELFCAST_DATA_DIR=str(tmp_path),
        )
        done = subprocess.run(
            [sys.executable, "-m", "services.promotion_engine"], env=env, capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 1
    assert f"promotion engine: cannot listen on 127.0.0.1:{port}" in done.stderr and "Traceback" not in done.stderr
