"""Bad inputs raise the typed exceptions, naming the field or keyword, as the CLI's exit codes."""
import json

import pandas as pd
import pytest

import betahedge
from conftest import DEMO_BOOK, DEMO_MODEL, DEMO_PRICES


def raises_input_error(field, call, *args, **kwargs):
    with pytest.raises(betahedge.InputError) as error:
        call(*args, **kwargs)
    assert error.value.field == field, str(error.value)
    assert isinstance(error.value, ValueError) and isinstance(error.value, betahedge.Error)
    return str(error.value)


def test_a_bad_book_key_names_it(small_book_dict):
    small_book_dict["hedge"]["ratoi"] = 1.0
    message = raises_input_error("hedge.ratoi", betahedge.simulate, small_book_dict, paths=100)
    assert "<dict>" in message


def test_a_bad_book_value_in_a_file_names_field_and_line(tmp_path):
    text = DEMO_BOOK.read_text().replace("target_beta: 0.5", "target_beta: lots")
    (tmp_path / "model.json").write_text(DEMO_MODEL.read_text())
    (tmp_path / "book.yaml").write_text(text)
    message = raises_input_error("hedge.target_beta", betahedge.simulate, tmp_path / "book.yaml", paths=100)
    assert f"book.yaml:{text.splitlines().index('  target_beta: lots') + 1}:" in message


@pytest.mark.parametrize("keyword, value", [("paths", 0), ("paths", 1), ("paths", 2**40 + 1), ("paths", 2.5),
                                            ("paths", True), ("seed", -1), ("threads", 1025),
                                            ("horizon_days", 0), ("batch_size", -1), ("backend", "gpu")])
def test_run_options_are_checked(keyword, value):
    raises_input_error(keyword, betahedge.simulate, DEMO_BOOK, **{keyword: value})


@pytest.mark.parametrize("keyword, value", [("regimes", 9), ("regimes", 0), ("regimes", "3"), ("dist", "t"),
                                            ("starts", 0), ("seed", 2**63 + 1), ("fill", "backward"),
                                            ("start", "2024-13-01"), ("assets", "ETH")])
def test_calibrate_keywords_are_checked(keyword, value):
    raises_input_error(keyword, betahedge.calibrate, DEMO_PRICES, "BTC", **{keyword: value})


def test_backtest_keywords_are_checked():
    raises_input_error("regimes", betahedge.backtest, DEMO_PRICES, DEMO_BOOK, regimes=9)
    raises_input_error("window_days", betahedge.backtest, DEMO_PRICES, DEMO_BOOK, window_days=0)
    raises_input_error("from_", betahedge.backtest, DEMO_PRICES, DEMO_BOOK, from_="June")


def test_a_window_longer_than_the_history_names_window_days():
    message = raises_input_error("window_days", betahedge.backtest, DEMO_PRICES, DEMO_BOOK, window_days=5000,
                                 paths=100)
    assert "5000" in message


def test_a_test_date_outside_the_history_names_to():
    raises_input_error("to", betahedge.backtest, DEMO_PRICES, DEMO_BOOK, to="2030-01-01", paths=100)


def test_a_missing_model_file_names_model(small_book_dict, tmp_path):
    raises_input_error("model", betahedge.simulate, small_book_dict, model=tmp_path / "missing.json")
    small_book_dict["model"] = str(tmp_path / "missing.json")  # the book's own model:, read by the engine
    message = raises_input_error("model", betahedge.simulate, small_book_dict)
    assert "missing.json" in message
    raises_input_error("model", betahedge.Model.from_json, tmp_path / "missing.json")


def test_a_bad_model_names_its_field(tmp_path, small_book_dict):
    doc = json.loads(DEMO_MODEL.read_text())
    doc["regimes"][0]["vol"][0] = -0.01
    (tmp_path / "model.json").write_text(json.dumps(doc))
    with pytest.raises(betahedge.InputError) as error:
        betahedge.simulate(small_book_dict, model=tmp_path / "model.json", paths=100)
    assert error.value.field.startswith("regimes[0]") and error.value.field.endswith("vol[0]")


def test_missing_files_and_wrong_types_name_the_keyword(tmp_path):
    raises_input_error("config", betahedge.Book, tmp_path / "missing.yaml")
    raises_input_error("config", betahedge.simulate, 42)
    raises_input_error("prices", betahedge.calibrate, tmp_path / "missing.csv", "BTC")
    raises_input_error("prices", betahedge.calibrate, [1, 2, 3], "BTC")
    raises_input_error("progress", betahedge.simulate, DEMO_BOOK, progress="print")
    raises_input_error("prices", betahedge.simulate, DEMO_BOOK, prices=DEMO_PRICES)  # simulate replays nothing


def test_bad_prices_in_a_dataframe_name_the_column():
    frame = pd.read_csv(DEMO_PRICES, index_col="date", parse_dates=True)
    frame.iloc[10, frame.columns.get_loc("ETH")] = -1.0
    message = raises_input_error("ETH", betahedge.calibrate, frame, "BTC")
    assert message.startswith("DataFrame:12:")  # row 10 is line 12: the header is line 1
    raises_input_error("prices", betahedge.calibrate, frame.reset_index(), "BTC")  # not indexed by date


def test_a_numerical_failure_raises_numerical_error(small_book_dict, tmp_path):
    # A drift of 100% a day with 100% daily vol for 400 days overflows the P&L's variance.
    doc = json.loads(DEMO_MODEL.read_text())
    for regime in doc["regimes"]:
        regime["mean"] = [1.0] * len(regime["mean"])
        regime["vol"] = [1.0] * len(regime["vol"])
    small_book_dict["simulation"]["drift"] = "model"
    small_book_dict["margin"]["collateral"] = 300000
    with pytest.raises(betahedge.NumericalError) as error:
        betahedge.simulate(small_book_dict, model=betahedge.Model(json.dumps(doc)), paths=100, horizon_days=400)
    assert isinstance(error.value, ArithmeticError) and "not a finite number" in str(error.value)


def test_cuda_without_a_usable_gpu_raises_device_error():
    # Built without CUDA, or with it and no usable device: DeviceError. With a GPU: it runs there.
    try:
        result = betahedge.simulate(DEMO_BOOK, paths=100, backend="cuda")
    except betahedge.DeviceError as error:
        assert isinstance(error, RuntimeError) and "cuda" in str(error)
    else:
        assert "cuda" in betahedge.backends() and result.summary["run"]["backend"] == "cuda"
