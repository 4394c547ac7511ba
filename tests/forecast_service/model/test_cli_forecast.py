import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from services.cli.forecast import register

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def history_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two years of weekly-seasonal Poisson demand for 2 stores × 2 items, as a CSV."""
    rng = np.random.default_rng(3)
    dates = pd.date_range("2015-01-01", "2016-12-31", freq="D")
    weekly = np.array([0.8, 0.9, 0.9, 1.0, 1.1, 1.4, 1.2])[dates.day_of_week]
    frames = [
        pd.DataFrame(
            {
                "date": dates.strftime("%Y-%m-%d"),
                "store": store,
                "item": item,
                "sales": rng.poisson(15 * store + 5 * item * weekly),
            }
        )
        for store in (1, 2)
        for item in (7, 12)
    ]
    path = tmp_path_factory.mktemp("cli") / "history.csv"
    pd.concat(frames).to_csv(path, index=False)
    return path


def run_cli(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="shelfcast")
    register(parser.add_subparsers(dest="command", required=True))
    parsed = parser.parse_args(args)
    return parsed.handler(parsed)


def run_subprocess(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli.forecast", *args],
        cwd=REPO_ROOT,
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def history_args(path: Path, target: str = "sales") -> list[str]:
    return ["--history", str(path), "--date-col", "date", "--id-cols", "store,item", "--target", target]


def test_predict_writes_date_ids_prediction_for_every_day_and_series_in_order(
    history_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "forecast.csv"
    args = ["forecast", "predict", *history_args(history_csv), "--start", "2017-01-01", "--days", "14"]
    assert run_cli([*args, "--out", str(out)]) == 0
    forecast = pd.read_csv(out)
    assert list(forecast.columns) == ["date", "store", "item", "prediction", "p10", "p90"]
    assert len(forecast) == 14 * 4
    assert forecast["date"].iloc[0] == "2017-01-01" and forecast["date"].iloc[-1] == "2017-01-14"
    assert forecast[["store", "item"]].head(4).values.tolist() == [[1, 7], [1, 12], [2, 7], [2, 12]]
    assert forecast.equals(forecast.sort_values(["date", "store", "item"]))
    assert forecast["prediction"].notna().all()


def test_backtest_prints_metrics_json_with_seasonal_naive_as_the_last_stdout_line(
    history_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["forecast", "backtest", *history_args(history_csv), "--cutoff", "2016-12-01", "--days", "28"]
    assert run_cli([*args, "--folds", "2"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["cutoffs"] == ["2016-11-03", "2016-12-01"]
    assert len(report["folds"]) == 2
    for name in ("model", "seasonal_naive_week", "seasonal_naive_year"):
        assert set(report["aggregate"][name]) == {"smape", "wape", "mase", "coverage_p10_p90"}
    assert report["aggregate"]["model"]["coverage_p10_p90"] is not None
    assert report["aggregate"]["seasonal_naive_week"]["coverage_p10_p90"] is None


def test_missing_column_exits_2_with_one_line_naming_it_and_no_traceback(history_csv: Path, tmp_path: Path) -> None:
    args = ["forecast", "predict", *history_args(history_csv, target="qty")]
    result = run_subprocess([*args, "--start", "2017-01-01", "--days", "7", "--out", str(tmp_path / "f.csv")])
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: column 'qty' not in {history_csv}; columns are: date, store, item, sales"
    ]
    assert "Traceback" not in result.stderr


def test_bad_date_exits_2_naming_the_line_and_value(tmp_path: Path) -> None:
    path = tmp_path / "bad_dates.csv"
    path.write_text("date,store,item,sales\n2016-01-01,1,1,3\n2016-13-45,1,1,4\n")
    args = ["forecast", "backtest", *history_args(path), "--cutoff", "2016-01-02"]
    result = run_subprocess(args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "column 'date' line 3" in lines[0] and "'2016-13-45'" in lines[0]


def test_non_numeric_target_exits_2_naming_the_value(tmp_path: Path) -> None:
    path = tmp_path / "bad_sales.csv"
    path.write_text("date,store,item,sales\n2016-01-01,1,1,3\n2016-01-02,1,1,many\n")
    out = str(tmp_path / "f.csv")
    args = ["forecast", "predict", *history_args(path), "--start", "2016-01-03", "--days", "7"]
    assert run_cli([*args, "--out", out]) == 2


def test_too_short_history_exits_2_with_the_needed_span(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "short.csv"
    path.write_text("date,store,item,sales\n2016-01-01,1,1,3\n2016-01-02,1,1,4\n")
    out = str(tmp_path / "f.csv")
    args = ["forecast", "predict", *history_args(path), "--start", "2016-01-03", "--days", "7"]
    assert run_cli([*args, "--out", out]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: history covers 2 days") and "at least 35" in error


def test_start_inside_history_exits_2_before_fitting(history_csv: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "f.csv")
    args = ["forecast", "predict", *history_args(history_csv), "--start", "2016-06-01", "--days", "7"]
    assert run_cli([*args, "--out", out]) == 2
    assert not Path(out).exists()
