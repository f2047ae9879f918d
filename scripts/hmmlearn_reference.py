#!/usr/bin/python3
"""Reference numbers for RegimeModel.ForwardBackwardMatchesHmmlearn (regime_model_test.cpp).

hmmlearn's forward-backward at fixed, hand-chosen parameters on the BTC/ETH/SOL log returns of
../shared/data (2020-04-10 .. 2025-02-11): the log-likelihood and a few smoothed and filtered
probabilities. The test embeds the printed values.
    /usr/bin/python3 scripts/hmmlearn_reference.py [../shared/data]
"""
import csv
import sys
from pathlib import Path

import numpy as np
from hmmlearn.hmm import GaussianHMM

MEANS = [[0.001, 0.001, 0.002], [-0.002, -0.003, -0.004]]
VOLS = [[0.02, 0.025, 0.04], [0.045, 0.06, 0.09]]
CORRS = [[[1, 0.8, 0.7], [0.8, 1, 0.75], [0.7, 0.75, 1]], [[1, 0.75, 0.5], [0.75, 1, 0.55], [0.5, 0.55, 1]]]
TRANSITION = [[0.9, 0.1], [0.15, 0.85]]
START = [0.6, 0.4]


def main():
    data_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "data"
    with open(data_dir / "crypto_daily_close_yahoo_2014_2025.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["date"] >= "2020-04-10"]
    prices = np.array([[float(r[a]) for a in ("BTC", "ETH", "SOL")] for r in rows])
    x = np.diff(np.log(prices), axis=0)
    hmm = GaussianHMM(n_components=2, covariance_type="full")
    hmm.startprob_ = np.array(START)
    hmm.transmat_ = np.array(TRANSITION)
    hmm.means_ = np.array(MEANS)
    hmm.covars_ = np.array([np.diag(v) @ np.array(c) @ np.diag(v) for v, c in zip(VOLS, CORRS)])
    loglik, smoothed = hmm.score_samples(x)
    print(f"returns {x.shape[0]}, loglik {loglik:.17g}")
    for t in (0, 500, 1000, x.shape[0] - 1):
        print(f"smoothed[{t}] = {smoothed[t, 0]:.17g}, {smoothed[t, 1]:.17g}")
    # Filtered P(s_T | x_1..x_T) equals smoothed at the last date; earlier ones from prefixes.
    for t in (0, 500, 1000):
        _, prefix = hmm.score_samples(x[: t + 1])
        print(f"filtered[{t}] = {prefix[-1, 0]:.17g}, {prefix[-1, 1]:.17g}")


if __name__ == "__main__":
    main()
