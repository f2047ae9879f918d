"""What a first-time user tripped on: numpy numbers in a book dict, a benchmark or asset missing
from the prices named by its keyword, report=True where no report can be drawn, and run() with
the book as a dict."""
import json

import numpy as np
import pytest
import yaml

import betahedge
from conftest import DEMO_BOOK, DEMO_MODEL, DEMO_PRICES, without_timing


def test_numpy_numbers_in_a_book_dict_are_plain_numbers(small_book_dict):
    plain = betahedge.simulate(small_book_dict, paths=2000, seed=9)
    weights = small_book_dict["portfolio"]["holdings"]
    with_numpy = dict(small_book_dict, portfolio=dict(small_book_dict["portfolio"], holdings={
        asset: np.float64(units) for asset, units in weights.items()}))
    with_numpy["simulation"] = dict(small_book_dict["simulation"], paths=np.int64(20000))
    with_numpy["risk"] = dict(small_book_dict.get("risk", {}), levels=list(np.array([0.95, 0.99])))
    ours = betahedge.simulate(with_numpy, paths=2000, seed=9)
    assert ours.files["contributions.csv"] == plain.files["contributions.csv"]
    assert without_timing(ours.summary) == without_timing(plain.summary)


@pytest.mark.parametrize("keywords, field", [({"benchmark": "XRP"}, "benchmark"),
                                             ({"benchmark": "BTC", "assets": ["DOGE"]}, "assets")])
def test_a_symbol_missing_from_the_prices_names_its_keyword(keywords, field):
    with pytest.raises(betahedge.InputError) as error:
        betahedge.calibrate(DEMO_PRICES, **keywords)
    assert error.value.field == field
    assert "no column for" in str(error.value)


def test_report_true_on_a_risk_result_says_to_use_run(tmp_path):
    result = betahedge.simulate(DEMO_BOOK, paths=2000)
    with pytest.raises(betahedge.InputError) as error:
        result.write(tmp_path / "s", report=True)
    assert error.value.field == "report"
    assert "betahedge.run" in str(error.value)
    assert not (tmp_path / "s").exists()  # nothing written
    result.write(tmp_path / "s")
    assert (tmp_path / "s" / "summary.json").exists()


def test_run_takes_its_book_as_a_dict(tmp_path):
    book = yaml.safe_load(DEMO_BOOK.read_text())
    book["model"] = "model.json"  # relative: resolved against the current directory
    book["stress"] = [s for s in book["stress"] if s["name"] == "crash"]
    (tmp_path / "book.yaml").write_text(yaml.safe_dump(book, sort_keys=False))
    (tmp_path / "model.json").write_text(DEMO_MODEL.read_text())
    run = {"book": str(tmp_path / "book.yaml"), "report": True}
    from_file = betahedge.run(run, paths=2000, seed=4)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        from_dict = betahedge.run(dict(run, book=book), paths=2000, seed=4)
        from_book = betahedge.run(dict(run, book=betahedge.Book(book)), paths=2000, seed=4)
    for ours in (from_dict, from_book):
        assert sorted(ours.files) == sorted(from_file.files)
        assert without_timing(ours.summary) == without_timing(from_file.summary)
        assert ours.files["stress.csv"] == from_file.files["stress.csv"]
    from_dict.write(tmp_path / "out")
    assert "<html" in (tmp_path / "out" / "report.html").read_text()
    # A mistake in the dict book is named in the book, as <dict> with Book.to_yaml()'s lines.
    bad = dict(book, hedge=dict(book["hedge"], fee_bps="cheap"))
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)
        with pytest.raises(betahedge.InputError) as error:
            betahedge.run(dict(run, book=bad), paths=2000)
    assert "<dict>" in str(error.value) and "betahedge-run-" not in str(error.value)
    assert error.value.field == "hedge.fee_bps"
