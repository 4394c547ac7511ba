"""``evaluate_policies`` / ``shelfcast uplift policy``: policy values on the simulator's true effects.

Small seeded runs: the structure and the identities every run must satisfy (the oracle is the
ceiling of any top-k policy, random and everyone share the mean effect), reproducibility, and the
CLI's contract — not whether the engine wins on so few customers.
"""

from __future__ import annotations

import json

import pytest

from services.benchmarks.policy import evaluate_policies
from tests.promotion_engine.uplift.test_cli_uplift import run_cli

SMALL = {"customers": 300, "seed": 3, "history_days": 14, "pairs_per_customer": 2}


@pytest.fixture(scope="module")
def small_run() -> dict:
    return evaluate_policies(**SMALL)


def test_oracle_bounds_every_top_k_policy_and_baselines_agree_with_their_definitions(small_run):
    r = small_run
    assert r["pairs_train"] + r["pairs_test"] == 300 * 2 and r["targeted"] == int(r["pairs_test"] * 0.3)
    for objective in ("conversions", "margin_cents"):
        values = r[objective]
        assert values["oracle"]["total"] >= values["engine"]["total"]
        assert values["oracle"]["total"] >= values["random"]["total"]
        assert values["random"]["per_targeted"] == pytest.approx(values["everyone"]["per_targeted"], abs=1e-4)
    assert r["conversions"]["everyone"]["per_targeted"] == pytest.approx(r["true_mean_uplift"], abs=1e-4)
    assert r["learner"] in r["selection_qini"]


def test_same_seed_gives_the_same_figures(small_run):
    again = evaluate_policies(**SMALL)
    assert {k: v for k, v in again.items() if k != "seconds"} == {k: v for k, v in small_run.items() if k != "seconds"}


def test_cli_prints_the_json_summary_last_and_refuses_bad_input_in_one_line(capsys):
    code, out, _ = run_cli(
        ["uplift", "policy", "--customers", "200", "--days", "7", "--pairs", "1", "--seed", "1", "--json"], capsys
    )
    summary = json.loads(out.strip().splitlines()[-1])
    assert (
        code == 0
        and summary["customers"] == 200
        and set(summary["conversions"]) == {"engine", "everyone", "random", "oracle"}
    )
    code, out, err = run_cli(["uplift", "policy", "--customers", "20"], capsys)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "customers" in err
