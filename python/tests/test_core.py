"""The engine behind the package (betahedge._core): books without model: where the model comes
from elsewhere, the CLI's seed range, the GIL released while the engine runs and Ctrl-C
stopping it, a P&L that overflows, and model.json checked as the CLI checks it."""
import _thread
import json
import subprocess
import threading
import time

import pandas as pd
import pytest
import yaml

import betahedge
from betahedge import _core
from conftest import DEMO_BOOK, DEMO_MODEL, DEMO_PRICES, run_cli, without_timing


def book_without_model(**simulation) -> str:
    book = yaml.safe_load(DEMO_BOOK.read_text())
    del book["model"]
    book["stress"] = [s for s in book["stress"] if "replay" not in s]
    book["simulation"].update(simulation)
    return yaml.safe_dump(book, sort_keys=False)


# --- 1. model: is optional where the model comes from elsewhere ---------------------------------

def test_the_engine_reads_a_book_without_model_when_given_the_model():
    book = book_without_model(paths=2000, backend="cpu")
    model = DEMO_MODEL.read_text()
    out = _core.risk_job("simulate", book, "/books/book.yaml", model, "/models/given.json", None, "", {}, None)
    assert json.loads(out["files"]["summary.json"])["run"]["paths"] == 2000
    outcomes = _core.outcomes(book, "/books/book.yaml", model, "/models/given.json", {}, None)
    assert outcomes["values"].shape == (9, 2000)
    # Without a model passed, the book must name one, as on the command line.
    with pytest.raises(_core.InputError, match="model: is missing"):
        _core.risk_job("simulate", book, "/books/book.yaml", None, "", None, "", {}, None)


def test_messages_about_the_model_name_the_model_passed():
    book = book_without_model(paths=2000, backend="cpu").replace("beta_estimate: model", "beta_estimate: kalman")
    with pytest.raises(_core.InputError, match="the model \\(/models/given.json\\) has no 'kalman' beta"):
        _core.risk_job("simulate", book, "/books/book.yaml", DEMO_MODEL.read_text(), "/models/given.json", None, "",
                       {}, None)


def test_a_backtest_reads_a_book_without_model():
    out = _core.backtest(DEMO_PRICES.read_text(), str(DEMO_PRICES), book_without_model(backend="cpu"), "/b.yaml",
                         {"paths": 2000, "refit_every": 4, "from": "2024-06-01", "to": "2024-06-10"}, {}, None)
    assert json.loads(out["files"]["backtest.json"])["observations"] == 10


# --- 2. seed: the CLI's range, 0..2^63 --------------------------------------------------------

def test_the_largest_seed_runs_as_on_the_command_line(cli, tmp_path):
    result = betahedge.simulate(DEMO_BOOK, paths=2000, seed=2**63, backend="cpu")
    assert result.summary["run"]["seed"] == 2**63
    run_cli(cli, "simulate", "--quiet", "--config", DEMO_BOOK, "--paths", 2000, "--seed", 2**63, "--backend", "cpu",
            "--out", tmp_path / "cli")
    theirs = json.loads((tmp_path / "cli" / "summary.json").read_text())
    assert without_timing(result.summary) == without_timing(theirs)


def test_the_largest_seed_reaches_the_engine():
    # The engine took the override as a signed 64-bit int: 2^63 was "seed: has the wrong type".
    out = _core.risk_job("simulate", DEMO_BOOK.read_text(), str(DEMO_BOOK), None, "", None, "",
                         {"seed": 2**63, "paths": 2000, "backend": "cpu"}, None)
    assert json.loads(out["files"]["summary.json"])["run"]["seed"] == 2**63


@pytest.mark.parametrize("seed", [-1, 2**63 + 1, 2**64, 2**80])
def test_a_seed_outside_the_range_is_an_input_error_naming_seed(seed):
    with pytest.raises(betahedge.InputError) as error:
        betahedge.simulate(DEMO_BOOK, paths=2000, seed=seed)
    assert error.value.field == "seed"
    with pytest.raises(_core.InputError, match="^seed: "):
        _core.risk_job("simulate", DEMO_BOOK.read_text(), str(DEMO_BOOK), None, "", None, "",
                       {"seed": seed, "paths": 2000}, None)


# --- 3. the GIL and Ctrl-C ---------------------------------------------------------------------

def test_python_threads_run_while_the_engine_simulates():
    # A thread counts and notes the longest it waited between two counts; the engine's base
    # scenario pass (seconds here) runs meanwhile. With the GIL held through the pass the thread
    # would wait for all of it.
    state = {"count": 0, "longest_wait": 0.0, "stop": False, "lines": {}}

    def count():
        last = time.perf_counter()
        while not state["stop"]:
            state["count"] += 1
            now = time.perf_counter()
            state["longest_wait"] = max(state["longest_wait"], now - last)
            last = now

    def progress(line):
        state["lines"][line.split("] ", 1)[1].split()[0]] = (time.perf_counter(), state["count"])

    thread = threading.Thread(target=count)
    thread.start()
    try:
        betahedge.simulate(DEMO_BOOK, paths=1_000_000, threads=1, backend="cpu", progress=progress)
    finally:
        state["stop"] = True
        thread.join()
    (start, counted_before), (end, counted_after) = state["lines"]["scenario"], state["lines"]["done;"]
    assert end - start > 0.5, "the pass was too short to tell"
    assert state["longest_wait"] < (end - start) / 3, (state["longest_wait"], end - start)
    assert counted_after - counted_before > 1000


class Stop(Exception):
    pass


def test_an_exception_in_the_progress_callback_stops_the_run():
    lines = []

    def progress(line):
        lines.append(line)
        if "collateral: auto," in line:
            raise Stop(line)

    with pytest.raises(Stop):
        betahedge.simulate(DEMO_BOOK, paths=20_000, backend="cpu", progress=progress)
    assert "collateral: auto," in lines[-1]  # no scenario ran after it


def test_ctrl_c_stops_a_long_simulation_at_the_next_batch():
    # 20 million paths take over half a minute here; Ctrl-C (interrupt_main: SIGINT as the
    # terminal sends it) 0.2 s into the first pass stops it within a batch of 4096 paths.
    started = {}

    def progress(line):
        if "simulating the base scenario for its collateral" in line:
            started["t"] = time.monotonic()
            threading.Timer(0.2, _thread.interrupt_main).start()

    with pytest.raises(KeyboardInterrupt):
        betahedge.simulate(DEMO_BOOK, paths=20_000_000, threads=1, batch_size=4096, backend="cpu", progress=progress)
    assert time.monotonic() - started["t"] < 3.0


def test_ctrl_c_stops_a_backtest_within_a_date():
    # A walk forward of 700+ dates at 10^6 paths a date takes many minutes; Ctrl-C 0.2 s after its
    # first line stops it between two batches of the first date's pass.
    started = {}

    def progress(line):
        if "test dates" in line and "t" not in started:
            started["t"] = time.monotonic()
            threading.Timer(0.2, _thread.interrupt_main).start()

    with pytest.raises(KeyboardInterrupt):
        betahedge.backtest(DEMO_PRICES, DEMO_BOOK, window_days=365, paths=1_000_000, threads=1, batch_size=4096,
                           backend="cpu", progress=progress)
    assert time.monotonic() - started["t"] < 3.0


# --- 4. a P&L that overflows -------------------------------------------------------------------

def test_a_pnl_that_overflows_to_nan_is_a_numerical_error_saying_so():
    # Daily log returns of mean 1 and vol 1 for 1000 days: prices overflow, the P&L is NaN. The
    # engine said "internal: TailSample: order statistic ... not kept" (a RuntimeError here).
    doc = json.loads(DEMO_MODEL.read_text())
    for regime in doc["regimes"]:
        regime["mean"] = [1.0] * len(regime["mean"])
        regime["vol"] = [1.0] * len(regime["vol"])
    book = {"portfolio": {"holdings": {"ETH": 400, "SOL": 6000}},
            "simulation": {"paths": 2000, "horizon_days": 1000, "drift": "model", "backend": "cpu"}}
    with pytest.raises(betahedge.NumericalError) as error:
        betahedge.simulate(book, model=betahedge.Model(json.dumps(doc)))
    message = str(error.value)
    assert message.startswith("scenario base: ") and "is NaN on 2000 of 2000 paths" in message
    assert "overflowed" in message and "\n" not in message


# --- 5. model.json checked as the CLI checks it ------------------------------------------------

def test_model_from_json_raises_the_clis_error(tmp_path, cli):
    doc = json.loads(DEMO_MODEL.read_text())
    doc["regimes"][0]["vol"][1] = -0.01
    path = tmp_path / "model.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(betahedge.InputError) as error:
        betahedge.Model.from_json(path)
    assert error.value.field == "regimes[0] (calm).vol[1]"
    done = subprocess.run([cli, "simulate", "--quiet", "--config", str(DEMO_BOOK), "--model", str(path), "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stderr == f"error: {error.value}\n"


@pytest.mark.parametrize("change, field", [
    (lambda d: d["transition"][0].__setitem__(0, 1.5), "transition"),
    (lambda d: d.pop("spot"), "spot"),
    (lambda d: d["regimes"][1]["corr"][0].__setitem__(1, 2.0), "regimes[1] (stressed).corr"),
])
def test_model_from_json_checks_every_field(change, field):
    doc = json.loads(DEMO_MODEL.read_text())
    change(doc)
    with pytest.raises(betahedge.InputError) as error:
        betahedge.Model.from_json(json.dumps(doc))
    assert error.value.field is not None and error.value.field.startswith(field), str(error.value)
    assert str(error.value).startswith("<model JSON text>: ")


def test_check_model_accepts_the_shipped_model():
    assert _core.check_model(DEMO_MODEL.read_text(), str(DEMO_MODEL)) is None
    assert betahedge.Model.from_json(DEMO_MODEL).to_json() == DEMO_MODEL.read_text()


# --- 6. a DataFrame's name in model.json ---------------------------------------------------------

def test_a_dataframes_name_is_the_calibrations_source():
    frame = pd.read_csv(DEMO_PRICES, index_col="date", parse_dates=True)
    assert betahedge.calibrate(frame, "BTC", regimes=1, starts=1).to_dict()["calibration"]["source"] == "DataFrame"
    named = betahedge.calibrate(frame, "BTC", regimes=1, starts=1, name="prices from the desk's DB")
    assert named.to_dict()["calibration"]["source"] == "prices from the desk's DB"
    for bad in ("", "two\nlines", 7):
        with pytest.raises(betahedge.InputError) as error:
            betahedge.calibrate(frame, "BTC", name=bad)
        assert error.value.field == "name"
