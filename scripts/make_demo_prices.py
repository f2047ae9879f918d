#!/usr/bin/python3
"""Writes data/demo_prices.csv: a synthetic daily BTC/ETH/SOL history (1,100 days) drawn from
configs/demo/model.json's two-regime model, rescaled to end at the model's spot prices. It is
shipped sample input for the demo run, not market data (real data stays in ../shared/data)."""
import json
import pathlib

import numpy as np

root = pathlib.Path(__file__).resolve().parent.parent
model = json.loads((root / "configs/demo/model.json").read_text())
rng = np.random.default_rng(20261121)
days = 1100
assets = model["assets"]
p = np.array(model["transition"])
chol = [np.linalg.cholesky(np.array(r["corr"])) for r in model["regimes"]]
regime = 0
log_price = np.zeros((days + 1, len(assets)))
for t in range(1, days + 1):
    regime = rng.choice(len(p), p=p[regime])
    r = model["regimes"][regime]
    shock = chol[regime] @ rng.standard_normal(len(assets))
    log_price[t] = log_price[t - 1] + np.array(r["mean"]) + np.array(r["vol"]) * shock
spot = np.array([model["spot"][a] for a in assets])
prices = spot * np.exp(log_price - log_price[-1])
dates = np.datetime64("2022-02-11") + np.arange(days + 1)
lines = ["date," + ",".join(assets)]
for d, row in zip(dates, prices):
    lines.append(str(d) + "," + ",".join(f"{x:.6g}" for x in row))
(root / "data/demo_prices.csv").write_text("\n".join(lines) + "\n")
print(f"wrote data/demo_prices.csv: {days + 1} rows")
