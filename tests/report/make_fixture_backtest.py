#!/usr/bin/python3
"""Writes tests/report/fixture_backtest/ and tests/report/fixture_backtest_horizon/: what
`betahedge backtest` writes (backtest.json, backtest.csv, manifest.json; no report) for the demo
book on data/demo_prices.csv, small enough to keep in the tree.

    /usr/bin/python3 tests/report/make_fixture_backtest.py SOURCE_DIR BETAHEDGE

BETAHEDGE is a built CLI (e.g. build-cpu/host/cli/betahedge). It runs in SOURCE_DIR with relative
paths, so backtest.json names the prices file as data/demo_prices.csv on any machine.
  fixture_backtest          60 test dates from 2023-09-01, one-day horizon, 2,000 paths a date:
                            60 observations; at 99% the hedged series is yellow (2 exceptions where
                            0.6 are expected) and its Z2 is beyond the published 0.01% critical
                            value; the few-observations warnings.
  fixture_backtest_horizon  60 test dates from 2023-06-01, three-day horizon: 20 non-overlapping
                            observations (every third date sampled); exceptions on sampled dates
                            and on dates the tests skip.
The figures are the engine's own: the report test checks that the report prints them, and that
backtest.csv and backtest.json agree (exceptions, observations, realised hedge effectiveness).
"""
import os
import shutil
import subprocess
import sys
import tempfile

FIXTURES = {
    "fixture_backtest": ["--from", "2023-09-01", "--to", "2023-10-30", "--horizon-days", "1"],
    "fixture_backtest_horizon": ["--from", "2023-06-01", "--to", "2023-07-30", "--horizon-days", "3"],
}
COMMON = ["--prices", "data/demo_prices.csv", "--config", "configs/demo/book.yaml", "--window-days", "365",
          "--paths", "2000", "--seed", "42", "--backend", "cpu", "--no-report", "--quiet"]
FILES = ["backtest.json", "backtest.csv", "manifest.json"]


def main(source_dir, binary):
    for name, options in FIXTURES.items():
        with tempfile.TemporaryDirectory(prefix="betahedge-fixture-") as work:
            out = os.path.join(work, "out")
            r = subprocess.run([binary, "backtest"] + COMMON + options + ["--out", out], cwd=source_dir,
                               capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(f"betahedge backtest for {name} exited {r.returncode}: {r.stderr.strip()}")
            written = sorted(os.listdir(out))
            if written != sorted(FILES):
                sys.exit(f"betahedge backtest for {name} wrote {written}, expected {sorted(FILES)}")
            target = os.path.join(source_dir, "tests", "report", name)
            shutil.rmtree(target, ignore_errors=True)
            os.makedirs(target)
            for f in FILES:
                shutil.copyfile(os.path.join(out, f), os.path.join(target, f))
        print(f"wrote {target}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: make_fixture_backtest.py SOURCE_DIR BETAHEDGE")
    main(os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]))
