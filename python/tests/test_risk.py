"""simulate, stress, optimize and bands: the CLI's files for the same inputs and seed, and the
base scenario's per-path outcomes checked against the summary's statistics."""
import json
import math

import numpy as np
import pandas as pd
import pytest

import betahedge
from conftest import DEMO_BOOK, DEMO_MODEL, DEMO_PRICES, assert_same_outputs, run_cli

OUTCOME_COLUMNS = ["pnl_unhedged", "pnl_hedged", "collateral_shortfall", "min_equity", "first_call_step",
                   "liquidated", "costs", "rebalances", "beta_deviation"]


@pytest.fixture(scope="module")
def simulated():
    return betahedge.simulate(DEMO_BOOK, paths=20000, seed=7)


def test_simulate_equals_the_cli(cli, tmp_path, simulated):
    run_cli(cli, "simulate", "--config", DEMO_BOOK, "--paths", 20000, "--seed", 7, "--out", tmp_path / "s", "--quiet")
    assert_same_outputs(simulated.files, tmp_path / "s")
    assert simulated.summary == json.loads(simulated.files["summary.json"])
    assert simulated.summary["run"]["paths"] == 20000 and simulated.summary["run"]["seed"] == 7
    assert simulated.model.to_json() == DEMO_MODEL.read_text()  # the book's model:


def test_optimize_with_replays_from_a_dataframe_equals_the_cli(cli, tmp_path):
    # The demo book's stresses include two history replays, read from the prices.
    prices = pd.read_csv(DEMO_PRICES, index_col="date", parse_dates=True)
    ours = betahedge.optimize(DEMO_BOOK, model=DEMO_MODEL, prices=prices, paths=5000, horizon_days=10, threads=1)
    run_cli(cli, "optimize", "--config", DEMO_BOOK, "--model", DEMO_MODEL, "--prices", DEMO_PRICES,
            "--paths", 5000, "--horizon-days", 10, "--threads", 1, "--out", tmp_path / "o", "--quiet")
    assert_same_outputs(ours.files, tmp_path / "o")
    curve = ours.tables["hedge_ratio_curve"]
    assert set(curve["scenario"]) == {s["name"] for s in ours.summary["scenarios"] if s.get("kind") != "replay"}


def test_a_book_dict_and_its_file_give_the_same_results(small_book_dict, small_book_file):
    from_dict = betahedge.bands(small_book_dict, paths=5000)
    from_file = betahedge.bands(betahedge.Book(small_book_file), paths=5000)
    assert from_dict.files.keys() == from_file.files.keys()
    for name in from_dict.files:
        if name != "summary.json":
            assert from_dict.files[name] == from_file.files[name]
    strip = lambda s: {k: v for k, v in s.items() if k != "run"}
    assert strip(from_dict.summary) == strip(from_file.summary)
    assert "bands" in from_dict.tables


def test_model_keyword_replaces_the_books_model(small_book_dict):
    del small_book_dict["model"]
    model = betahedge.Model.from_json(DEMO_MODEL)
    with_object = betahedge.stress(small_book_dict, model=model, paths=2000)
    small_book_dict["model"] = "no/such/model.json"  # not read when model= is given
    with_path = betahedge.stress(small_book_dict, model=DEMO_MODEL, paths=2000)
    assert with_object.files["stress.csv"] == with_path.files["stress.csv"]
    assert with_object.model is model
    assert with_path.model.to_json() == model.to_json()


def test_outcomes_are_views_of_one_float64_array(simulated):
    outcomes = simulated.outcomes
    assert outcomes is simulated.outcomes  # computed once
    assert list(outcomes) == OUTCOME_COLUMNS == outcomes.columns
    assert outcomes.array.shape == (len(OUTCOME_COLUMNS), 20000)
    for name in OUTCOME_COLUMNS:
        column = outcomes[name]
        assert column.shape == (20000,) and column.dtype == np.float64
        assert np.shares_memory(column, outcomes.array)
        assert not column.flags.writeable
    assert np.all(np.isfinite(outcomes["pnl_hedged"]))


def expected_shortfall(loss: np.ndarray, level: float) -> float:
    """Acerbi and Tasche (2002) ES of the empirical distribution: the mean of the worst
    n(1-a) losses, the boundary order statistic weighted by its fraction."""
    worst_first = np.sort(loss)[::-1]
    n = len(loss)
    tail = n * (1 - level)
    whole = math.floor(tail)
    return (worst_first[:whole].sum() + (tail - whole) * worst_first[whole]) / tail


def test_outcomes_reproduce_the_summary(simulated):
    # The outcomes are the summary's paths: its means to rounding (summation order: 1e-9 of a
    # standard deviation), VaR as the exact order statistic L(ceil(a n)), ES by the
    # Acerbi-Tasche formula and the hedge effectiveness to 1e-9 relative.
    base = simulated.summary["scenarios"][0]
    n = simulated.outcomes.paths
    for side in ("unhedged", "hedged"):
        pnl = simulated.outcomes[f"pnl_{side}"]
        figures = base[side]
        assert abs(pnl.mean() - figures["mean"]) <= 1e-9 * figures["stdev"]
        loss = -pnl
        for level_key, var in figures["var"].items():
            level = float(level_key)
            assert var == np.sort(loss)[math.ceil(level * n) - 1]
            assert figures["es"][level_key] == pytest.approx(expected_shortfall(loss, level), rel=1e-9)
    effectiveness = 1 - simulated.outcomes["pnl_hedged"].var() / simulated.outcomes["pnl_unhedged"].var()
    assert base["hedge_effectiveness"] == pytest.approx(effectiveness, rel=1e-9)
    # The collateral the paths ran with is the one the summary reports (collateral: auto); the
    # call and liquidation probabilities are the fractions of paths with a call, a liquidation.
    outcomes = simulated.outcomes
    assert outcomes.collateral == base["margin"]["collateral"]
    assert base["margin"]["call_probability"] == pytest.approx(np.mean(outcomes["first_call_step"] >= 1), rel=1e-12)
    assert base["margin"]["liquidation_probability"] == pytest.approx(outcomes["liquidated"].mean(), rel=1e-12)
    assert base["beta"]["mean_rebalances"] == pytest.approx(outcomes["rebalances"].mean(), rel=1e-9)
    assert base["beta"]["mean_costs"] == pytest.approx(outcomes["costs"].mean(), rel=1e-9)
    assert base["beta"]["mean_abs_deviation"] == pytest.approx(outcomes["beta_deviation"].mean(), rel=1e-9)


def test_outcomes_follow_the_overrides():
    few = betahedge.simulate(DEMO_BOOK, paths=4096, seed=11, horizon_days=5, batch_size=4096, threads=1)
    assert few.outcomes["pnl_hedged"].shape == (4096,)
    assert few.summary["run"]["horizon_days"] == 5
    again = betahedge.simulate(DEMO_BOOK, paths=4096, seed=11, horizon_days=5)
    assert np.array_equal(again.outcomes.array, few.outcomes.array, equal_nan=True)
    other_seed = betahedge.simulate(DEMO_BOOK, paths=4096, seed=12, horizon_days=5)
    assert not np.array_equal(other_seed.outcomes["pnl_hedged"], few.outcomes["pnl_hedged"])


def test_progress_and_write(tmp_path, small_book_dict):
    lines = []
    result = betahedge.simulate(small_book_dict, paths=2000, progress=lines.append)
    assert lines and all(isinstance(line, str) for line in lines)
    written = result.write(tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(result.files)
    assert (tmp_path / "out" / "summary.json").read_text() == result.files["summary.json"]
    with pytest.raises(betahedge.InputError) as error:
        result.write(written)  # not empty
    assert error.value.field == "out_dir"
    result.write(written, overwrite=True)
