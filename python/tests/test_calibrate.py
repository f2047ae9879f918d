"""betahedge.calibrate and Model: the CLI's model.json bit for bit, from a CSV path or a
DataFrame, and the model's parts as DataFrames equal to the JSON they come from."""
import json

import numpy as np
import pandas as pd
import pytest

import betahedge
from conftest import DEMO_PRICES, run_cli


def without_source(model) -> dict:
    """The model's document without calibration.source, the name of the prices it was fitted
    to: a file's path, or "DataFrame"."""
    document = model.to_dict()
    del document["calibration"]["source"]
    return document


@pytest.fixture(scope="module")
def model():
    return betahedge.calibrate(str(DEMO_PRICES), "BTC", regimes=2)


def test_dataframe_and_csv_give_the_same_model(model):
    # Every number and every other byte the same; model.json records where the prices came from.
    by_dates = pd.read_csv(DEMO_PRICES, index_col="date", parse_dates=True)
    by_strings = pd.read_csv(DEMO_PRICES, index_col="date")
    for frame in (by_dates, by_strings):
        from_frame = betahedge.calibrate(frame, "BTC", regimes=2)
        assert without_source(from_frame) == without_source(model)
        assert from_frame.to_dict()["calibration"]["source"] == "DataFrame"
        assert model.to_dict()["calibration"]["source"] == str(DEMO_PRICES)
        assert from_frame.to_json().replace('"DataFrame"', json.dumps(str(DEMO_PRICES))) == model.to_json()
        assert from_frame.regimes_csv == model.regimes_csv


def test_empty_cells_and_nan_give_the_same_model(tmp_path):
    # SOL listed late: its first 200 closes are empty cells in the file, NaN in the DataFrame.
    lines = DEMO_PRICES.read_text().splitlines()
    blanked = [lines[0]] + [",".join(line.split(",")[:3] + [""]) if i < 200 else line
                            for i, line in enumerate(lines[1:])]
    path = tmp_path / "late_sol.csv"
    path.write_text("\n".join(blanked) + "\n")
    frame = pd.read_csv(path, index_col="date", parse_dates=True)
    assert frame["SOL"].isna().sum() == 200
    from_file = betahedge.calibrate(path, "BTC", regimes=1)
    from_frame = betahedge.calibrate(frame, "BTC", regimes=1)
    assert from_frame.to_json().replace('"DataFrame"', json.dumps(str(path))) == from_file.to_json()
    # The common window starts at SOL's first close, and the calibration says so.
    first_sol = frame["SOL"].first_valid_index().strftime("%Y-%m-%d")
    assert from_frame.to_dict()["calibration"]["start"] >= first_sol
    assert any("SOL" in note for note in from_frame.notes)


def test_model_equals_the_cli_model_json(cli, tmp_path, model):
    run_cli(cli, "calibrate", "--prices", DEMO_PRICES, "--benchmark", "BTC", "--regimes", "2",
            "--out", tmp_path / "model.json", "--quiet")
    assert model.to_json() == (tmp_path / "model.json").read_text()
    assert model.regimes_csv == (tmp_path / "regimes.csv").read_text()


def test_options_reach_the_fit(cli, tmp_path):
    ours = betahedge.calibrate(DEMO_PRICES, "BTC", regimes="auto", dist="student-t", assets=["ETH"],
                               start="2023-01-01", end=pd.Timestamp("2024-12-31"), seed=7, starts=3)
    run_cli(cli, "calibrate", "--prices", DEMO_PRICES, "--benchmark", "BTC", "--regimes", "auto",
            "--dist", "student-t", "--assets", "ETH", "--start", "2023-01-01", "--end", "2024-12-31",
            "--seed", "7", "--starts", "3", "--out", tmp_path / "model.json", "--quiet")
    assert ours.to_json() == (tmp_path / "model.json").read_text()
    assert sorted(ours.assets) == ["BTC", "ETH"]
    assert ours.to_dict()["distribution"] == "student-t"


def test_model_tables_hold_the_json_values(model):
    doc = json.loads(model.to_json())
    names = [r["name"] for r in doc["regimes"]]
    assert model.assets == doc["assets"] and model.benchmark == "BTC"
    assert list(model.regimes.index) == [(n, a) for n in names for a in doc["assets"]]
    for r in doc["regimes"]:
        assert list(model.regimes.loc[r["name"], "vol"]) == r["vol"]
        assert list(model.regimes.loc[r["name"], "mean"]) == r["mean"]
        corr = model.correlations(r["name"])
        assert list(corr.index) == doc["assets"] and list(corr.columns) == doc["assets"]
        assert corr.to_numpy().tolist() == r["corr"]
    assert model.correlations(1).equals(model.correlations(names[1]))
    assert model.transition.to_numpy().tolist() == doc["transition"]
    assert list(model.transition.index) == names and list(model.transition.columns) == names
    betas = model.betas
    assert list(betas.columns[:6]) == ["ols", "ols_se", "ewma", "kalman", *(f"regime_{n}" for n in names)]
    assert list(betas.index) == list(doc["betas"])
    for asset, b in doc["betas"].items():
        assert [betas.loc[asset, k] for k in ("ols", "ols_se", "ewma", "kalman")] == \
               [b["ols"], b["ols_se"], b["ewma"], b["kalman"]]
        assert [betas.loc[asset, f"regime_{n}"] for n in names] == b["regime"]


def test_regime_probabilities_are_regimes_csv(model):
    probabilities = model.regime_probabilities
    doc = model.to_dict()
    assert isinstance(probabilities.index, pd.DatetimeIndex)
    assert len(probabilities) == doc["calibration"]["nobs"]
    assert probabilities.index[-1].strftime("%Y-%m-%d") == doc["calibration"]["end"]
    names = model.regime_names
    filtered = probabilities[[f"filtered_{n}" for n in names]].to_numpy()
    smoothed = probabilities[[f"smoothed_{n}" for n in names]].to_numpy()
    # regimes.csv writes 10 significant digits: each row sums to one within 1e-9.
    assert np.abs(filtered.sum(axis=1) - 1).max() < 1e-9
    assert np.abs(smoothed.sum(axis=1) - 1).max() < 1e-9
    # The last filtered distribution is the model's initial_probabilities (to the CSV's digits).
    assert np.allclose(filtered[-1], doc["initial_probabilities"], rtol=0, atol=1e-9)


def test_model_from_json_round_trips(model, tmp_path):
    model.write(tmp_path / "model.json")
    for loaded in (betahedge.Model.from_json(model.to_json()), betahedge.Model.from_json(tmp_path / "model.json"),
                   betahedge.Model.from_json(str(tmp_path / "model.json"))):
        assert loaded.to_json() == model.to_json()
        assert loaded.to_dict() == model.to_dict()
        assert loaded.regime_probabilities is None
        assert loaded.notes == [] and loaded.warnings == []
    assert (tmp_path / "regimes.csv").read_text() == model.regimes_csv


def test_progress_lines_reach_the_callback():
    lines = []
    betahedge.calibrate(DEMO_PRICES, "BTC", regimes=1, progress=lines.append)
    assert lines and all(isinstance(line, str) and line for line in lines)
