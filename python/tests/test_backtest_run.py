"""backtest and run: the CLI's files for the same inputs and seed."""
import importlib.util
import json

import pandas as pd
import pytest
import yaml

import betahedge
from conftest import DEMO_BOOK, DEMO_PRICES, assert_same_outputs, run_cli, without_timing

WINDOW = {"from_": "2024-06-01", "to": "2024-06-10"}


def test_backtest_equals_the_cli(cli, tmp_path):
    ours = betahedge.backtest(DEMO_PRICES, DEMO_BOOK, paths=2000, seed=5, refit_every=4, **WINDOW)
    done = run_cli(cli, "backtest", "--prices", DEMO_PRICES, "--config", DEMO_BOOK, "--paths", 2000, "--seed", 5,
                   "--refit-every", 4, "--from", WINDOW["from_"], "--to", WINDOW["to"], "--no-report",
                   "--out", tmp_path / "b", "--quiet")
    assert_same_outputs(ours.files, tmp_path / "b")
    assert ours.lines == done.stdout.splitlines()
    assert len(ours.tables["backtest"]) == ours.summary["observations"] == 10
    # From a DataFrame: the same backtest; backtest.json's run block names the prices.
    prices = pd.read_csv(DEMO_PRICES, index_col="date", parse_dates=True)
    from_frame = betahedge.backtest(prices, DEMO_BOOK, paths=2000, seed=5, refit_every=4, **WINDOW)
    assert from_frame.files["backtest.csv"] == ours.files["backtest.csv"]
    assert from_frame.summary["run"].pop("prices") == "<prices DataFrame>"
    assert ours.summary["run"].pop("prices") == str(DEMO_PRICES)
    assert without_timing(from_frame.summary) == without_timing(ours.summary)


def test_backtest_fills_a_gap_with_fill_forward(cli, tmp_path):
    """A gap in the prices names the keyword that fills it; with it, the CLI's --fill forward files."""
    prices = pd.read_csv(DEMO_PRICES, index_col="date", parse_dates=True)
    prices.iloc[8, prices.columns.get_loc("SOL")] = float("nan")
    with pytest.raises(betahedge.InputError, match=r'empty cell on .* \(use fill="forward" to repeat'):
        betahedge.backtest(prices, DEMO_BOOK, paths=2000, seed=5, **WINDOW)
    with pytest.raises(betahedge.InputError, match="fill: only 'forward'"):
        betahedge.backtest(prices, DEMO_BOOK, paths=2000, seed=5, fill="backward", **WINDOW)
    said = []
    ours = betahedge.backtest(prices, DEMO_BOOK, paths=2000, seed=5, fill="forward", progress=said.append, **WINDOW)
    assert any(line.endswith('fill="forward" filled 1 empty cell') for line in said), said
    gapped = tmp_path / "gapped.csv"
    prices.to_csv(gapped, date_format="%Y-%m-%d")
    run_cli(cli, "backtest", "--prices", gapped, "--config", DEMO_BOOK, "--paths", 2000, "--seed", 5,
            "--fill", "forward", "--from", WINDOW["from_"], "--to", WINDOW["to"], "--no-report",
            "--out", tmp_path / "b", "--quiet")
    assert ours.files["backtest.csv"] == (tmp_path / "b" / "backtest.csv").read_text()


def test_backtest_errors_name_its_keywords():
    """backtest()'s error messages name its keywords, not the CLI's flags; .field is the keyword."""
    with pytest.raises(betahedge.InputError, match=r"^window_days: 5000 returns before a test date") as error:
        betahedge.backtest(DEMO_PRICES, DEMO_BOOK, paths=2000, window_days=5000)
    assert error.value.field == "window_days"
    with pytest.raises(betahedge.InputError, match=r"^from_: 2020-01-01 ") as error:
        betahedge.backtest(DEMO_PRICES, DEMO_BOOK, paths=2000, window_days=365, from_="2020-01-01")
    assert error.value.field == "from_"


def test_run_equals_the_cli(cli, tmp_path):
    # The overnight job on the demo: calibrate, base and stresses, optimiser, bands, and a
    # five-date backtest; the run.yaml as a dict for Python, as a file for the CLI.
    run = {
        "book": str(DEMO_BOOK),
        "calibrate": {"prices": str(DEMO_PRICES), "benchmark": "BTC", "regimes": 2, "starts": 3},
        "backtest": {"window_days": 365, "refit_every": 20, "from": "2024-06-01", "to": "2024-06-05",
                     "paths": 2000},
        "report": False,
    }
    ours = betahedge.run(run, paths=2000, seed=3)
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(run))
    run_cli(cli, "run", "--config", tmp_path / "run.yaml", "--paths", 2000, "--seed", 3, "--out", tmp_path / "r",
            "--quiet")
    assert_same_outputs(ours.files, tmp_path / "r")
    assert ours.model.to_json() == ours.files["model.json"]
    assert len(ours.model.regime_probabilities) == ours.model.to_dict()["calibration"]["nobs"]
    assert ours.backtest["observations"] == 5
    assert ours.report is False  # run.yaml's report: false; write() renders no report.html
    ours.write(tmp_path / "w")
    assert sorted(p.name for p in (tmp_path / "w").iterdir()) == sorted(ours.files)


def test_report_needs_the_renderer(tmp_path):
    result = betahedge.backtest(DEMO_PRICES, DEMO_BOOK, paths=2000, **WINDOW)
    if importlib.util.find_spec("betahedge.report") is None:
        with pytest.raises(betahedge.InputError) as error:
            result.write(tmp_path / "b", report=True)
        assert error.value.field == "report"
        assert not (tmp_path / "b").exists()  # nothing written
    else:
        result.write(tmp_path / "b", report=True)
        assert "<html" in (tmp_path / "b" / "report.html").read_text()
