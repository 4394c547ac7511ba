"""``shelfcast uplift score|evaluate`` on small generated CSVs: output contract and input errors."""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from services.cli.uplift import register

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="shelfcast")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code = args.handler(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def experiment_frame(n: int, seed: int) -> pd.DataFrame:
    """Promotion test where only the north region responds (+0.3 conversion), with text and bool columns."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "south", "east"], size=n)
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{seed}-{i}" for i in range(n)],
            "region": region,
            "channel": rng.choice(["online", "store"], size=n),
            "member": rng.random(n) < 0.4,
            "x1": rng.normal(size=n),
        }
    )
    treated = rng.random(n) < 0.5
    p = 0.15 + 0.1 * (frame["x1"] > 0) + treated * np.where(region == "north", 0.3, 0.0)
    frame["T"] = treated.astype(int)
    frame["Y"] = (rng.random(n) < p).astype(int)
    return frame


@pytest.fixture
def csv_files(tmp_path: Path) -> dict[str, Path]:
    train = experiment_frame(3000, seed=1)
    test = experiment_frame(1500, seed=2)
    score = test.drop(columns=["T", "Y"]).iloc[:400].copy()
    score.loc[score.index[0], "region"] = "antarctica"
    paths = {name: tmp_path / f"{name}.csv" for name in ("train", "test", "score", "score_reversed")}
    train.to_csv(paths["train"], index=False)
    test.to_csv(paths["test"], index=False)
    score.to_csv(paths["score"], index=False)
    score.iloc[::-1].to_csv(paths["score_reversed"], index=False)
    return paths


def score_argv(paths: dict[str, Path], out: Path, *extra: str, score: str = "score") -> list[str]:
    return [
        "uplift",
        "score",
        "--train",
        str(paths["train"]),
        "--score",
        str(paths[score]),
        "--treatment-col",
        "T",
        "--outcome-col",
        "Y",
        "--drop-cols",
        "customer_id",
        "--out",
        str(out),
        *extra,
    ]


def test_score_writes_one_uplift_column_in_score_row_order(
    csv_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, out_reversed = tmp_path / "out.csv", tmp_path / "out_reversed.csv"
    assert run_cli(score_argv(csv_files, out, "--learner", "t"), capsys)[0] == 0
    assert run_cli(score_argv(csv_files, out_reversed, "--learner", "t", score="score_reversed"), capsys)[0] == 0
    result = pd.read_csv(out)
    assert list(result.columns) == ["uplift"]
    assert len(result) == len(pd.read_csv(csv_files["score"]))
    assert result["uplift"].notna().all()
    np.testing.assert_allclose(
        pd.read_csv(out_reversed)["uplift"].to_numpy(), result["uplift"].to_numpy()[::-1], rtol=1e-6
    )


def test_score_learns_the_effect_of_a_categorical_column(
    csv_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.csv"
    code, stdout, _ = run_cli(score_argv(csv_files, out), capsys)
    assert code == 0
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["learner"] in summary["selection_qini"] and summary["rows"] == 400
    uplift = pd.read_csv(out)["uplift"].to_numpy()
    region = pd.read_csv(csv_files["score"])["region"].to_numpy()
    assert uplift[region == "north"].mean() > uplift[(region == "south") | (region == "east")].mean() + 0.15
    assert np.isfinite(uplift[region == "antarctica"]).all()


def test_score_accepts_true_false_treatment(
    csv_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = pd.read_csv(csv_files["train"])
    train["T"] = train["T"].map({1: "true", 0: "false"})
    train.to_csv(csv_files["train"], index=False)
    assert run_cli(score_argv(csv_files, tmp_path / "out.csv", "--learner", "ct"), capsys)[0] == 0


def test_drop_cols_are_not_required_in_the_score_file(
    csv_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    score = pd.read_csv(csv_files["score"]).drop(columns=["customer_id"])
    score.to_csv(csv_files["score"], index=False)
    code, _, err = run_cli(score_argv(csv_files, tmp_path / "out.csv", "--learner", "t"), capsys)
    assert code == 0, err
    assert len(pd.read_csv(tmp_path / "out.csv")) == len(score)


def test_evaluate_prints_metrics_per_learner_and_random_baseline_as_last_line_json(
    csv_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, stdout, _ = run_cli(
        [
            "uplift",
            "evaluate",
            "--train",
            str(csv_files["train"]),
            "--test",
            str(csv_files["test"]),
            "--treatment-col",
            "T",
            "--outcome-col",
            "Y",
            "--drop-cols",
            "customer_id",
        ],
        capsys,
    )
    assert code == 0
    report = json.loads(stdout.strip().splitlines()[-1])
    assert set(report["learners"]) == {"s", "t", "x", "ct", "random"}
    for metrics in report["learners"].values():
        assert {"qini", "auuc", "uplift_at_k"} <= set(metrics)
    assert report["learners"][report["best"]]["qini"] > report["learners"]["random"]["qini"]


def _break_train(path: Path, column: str, values: object) -> None:
    frame = pd.read_csv(path)
    frame[column] = values
    frame.to_csv(path, index=False)


@pytest.mark.parametrize(
    ("breakage", "argv_change", "message"),
    [
        (None, ("--treatment-col", "treated"), "treatment column 'treated' not found"),
        (None, ("--outcome-col", "bought"), "outcome column 'bought' not found"),
        (("T", [0, 1, 2] * 1000), None, "treatment column 'T' must be binary"),
        (("T", 1), None, "treatment column 'T' has no control rows (0)"),
        (("Y", "yes"), None, "outcome column 'Y' must be numeric"),
        (None, ("--drop-cols", "customer_id,nickname"), "--drop-cols column 'nickname' not found"),
    ],
    ids=[
        "missing-treatment-col",
        "missing-outcome-col",
        "non-binary-treatment",
        "empty-control-arm",
        "text-outcome",
        "unknown-drop-col",
    ],
)
def test_bad_input_exits_2_with_one_line_naming_the_column(
    csv_files: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    breakage: tuple[str, object] | None,
    argv_change: tuple[str, str] | None,
    message: str,
) -> None:
    if breakage:
        _break_train(csv_files["train"], *breakage)
    argv = score_argv(csv_files, tmp_path / "out.csv", "--learner", "t")
    if argv_change:
        argv[argv.index(argv_change[0]) + 1] = argv_change[1]
    code, stdout, stderr = run_cli(argv, capsys)
    assert code == 2
    assert stdout == ""
    assert len(stderr.strip().splitlines()) == 1
    assert message in stderr
    assert not (tmp_path / "out.csv").exists()


def test_missing_feature_in_score_file_names_the_column(
    csv_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pd.read_csv(csv_files["score"]).drop(columns=["channel"]).to_csv(csv_files["score"], index=False)
    code, _, stderr = run_cli(score_argv(csv_files, tmp_path / "out.csv", "--learner", "t"), capsys)
    assert code == 2
    assert "feature column 'channel' not found" in stderr and str(csv_files["score"]) in stderr


def test_command_line_error_has_no_traceback(csv_files: dict[str, Path], tmp_path: Path) -> None:
    _break_train(csv_files["train"], "T", 0)
    result = subprocess.run(
        [sys.executable, "-m", "services.cli.uplift", *score_argv(csv_files, tmp_path / "out.csv")],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        timeout=120,
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"shelfcast uplift score: error: treatment column 'T' has no treated rows (0) in '{csv_files['train']}'"
    )
