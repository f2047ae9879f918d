"""Shared inputs of the Python tests: the shipped demo files, small books, and the CLI to
compare against (env BETAHEDGE_CLI; the comparisons skip without it)."""
import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEMO_PRICES = ROOT / "data" / "demo_prices.csv"
DEMO_BOOK = ROOT / "configs" / "demo" / "book.yaml"
DEMO_MODEL = ROOT / "configs" / "demo" / "model.json"
# The run block's figures that depend on the clock (SPEC 6); everything else is equal.
TIMING_KEYS = ("elapsed_s", "path_steps_per_s")


@pytest.fixture(scope="session")
def cli():
    path = os.environ.get("BETAHEDGE_CLI")
    if not path:
        pytest.skip("BETAHEDGE_CLI (the betahedge binary to compare with) is not set")
    if not os.access(path, os.X_OK):
        pytest.fail(f"BETAHEDGE_CLI={path} is not an executable")
    return path


def run_cli(cli_path, *args) -> subprocess.CompletedProcess:
    """Runs the CLI; fails the test with its error line unless it exits 0."""
    done = subprocess.run([cli_path, *map(str, args)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"betahedge {' '.join(map(str, args))}: exit {done.returncode}: {done.stderr}"
    return done


def read_files(directory: Path) -> dict:
    """An output directory's files, as the API returns them: name -> text, no manifest.json."""
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(directory.iterdir())
            if p.name != "manifest.json"}


def without_timing(summary: dict) -> dict:
    copy = json.loads(json.dumps(summary))
    for key in TIMING_KEYS:
        copy["run"].pop(key, None)
    return copy


def assert_same_outputs(python_files: dict, cli_dir: Path):
    """The API's files equal the CLI's: the same names, every file byte for byte except
    summary.json and backtest.json, whose run blocks may differ in elapsed_s and
    path_steps_per_s only."""
    cli_files = read_files(cli_dir)
    assert sorted(python_files) == sorted(cli_files)
    for name, text in cli_files.items():
        if name in ("summary.json", "backtest.json"):
            ours, theirs = json.loads(python_files[name]), json.loads(text)
            assert sorted(ours["run"]) == sorted(theirs["run"])
            assert without_timing(ours) == without_timing(theirs)
        else:
            assert python_files[name] == text, f"{name} differs from the CLI's"


@pytest.fixture
def small_book_dict():
    """The demo book (dynamic BTC-perpetual hedge, collateral auto) with two parametric
    stresses and its model given by absolute path, at 20,000 paths."""
    book = yaml.safe_load(DEMO_BOOK.read_text())
    book["model"] = str(DEMO_MODEL)
    book["simulation"]["paths"] = 20000
    book["stress"] = [s for s in book["stress"] if s["name"] in ("corr-to-one", "crash")]
    return book


@pytest.fixture
def small_book_file(tmp_path, small_book_dict):
    path = tmp_path / "book.yaml"
    path.write_text(yaml.safe_dump(small_book_dict, sort_keys=False))
    return path
