#!/usr/bin/python3
"""Independent OLS betas for tests/host/calibration/betas_test.cpp, computed with numpy.

Reads the shared price files (never copied into the repository), takes log returns on the
window where every listed asset has a price, and fits y = alpha + beta x by
numpy.linalg.lstsq. Prints the numbers the test embeds:
    /usr/bin/python3 scripts/ols_reference.py [../shared/data]
"""
import csv
import sys
from pathlib import Path

import numpy as np

CASES = [
    # file, benchmark, assets
    ("crypto_daily_close_yahoo_2014_2025.csv", "BTC", ["ETH", "SOL"]),
    ("sp500_index_plus_stocks_subset_2015_2020_pob.csv", "SP500_INDEX", ["AAPL", "XOM"]),
]


def load(path, columns):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    prices = np.array([[float(r[c]) if r[c] != "" else np.nan for c in columns] for r in rows])
    dates = [r["date"] for r in rows]
    first = max(int(np.argmax(~np.isnan(prices[:, j]))) for j in range(len(columns)))
    assert not np.isnan(prices[first:]).any(), "empty cell inside the common window"
    return dates[first:], prices[first:]


def ols(y, x):
    design = np.column_stack([np.ones_like(x), x])
    coef, rss, _, _ = np.linalg.lstsq(design, y, rcond=None)
    n = len(y)
    resid = y - design @ coef
    s2 = resid @ resid / (n - 2)
    cov = s2 * np.linalg.inv(design.T @ design)
    r2 = 1.0 - (resid @ resid) / ((y - y.mean()) @ (y - y.mean()))
    return coef[0], coef[1], np.sqrt(cov[1, 1]), r2


def main():
    data_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
    for name, bench, assets in CASES:
        dates, prices = load(data_dir / name, [bench] + assets)
        r = np.diff(np.log(prices), axis=0)
        print(f"// {name}: {dates[0]} .. {dates[-1]}, {len(r)} returns, benchmark {bench}")
        for j, asset in enumerate(assets, start=1):
            alpha, beta, se, r2 = ols(r[:, j], r[:, 0])
            print(f'{{"{name}", "{bench}", "{asset}", {len(r)}, {alpha:.17g}, {beta:.17g}, {se:.17g}, {r2:.17g}}},')


if __name__ == "__main__":
    main()
