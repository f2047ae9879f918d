#!/usr/bin/python3
"""Cross-check of a Gaussian model.json against hmmlearn (an independent implementation).

    /usr/bin/python3 scripts/hmmlearn_crosscheck.py PRICES.csv model.json [--seeds 10]

1. The log-likelihood of the returns at betahedge's parameters, computed by hmmlearn's
   forward algorithm (start probabilities: calibration.regime_initial_distribution).
2. hmmlearn's own EM fit (full covariances, min_covar 1e-12 since daily return variances are
   ~1e-4, k-means init, several seeds), best log-likelihood. Run calibrate with
   --initial estimated to compare like with like (hmmlearn estimates the start probabilities).
Not used by the tests (they must not depend on Python); kept to reproduce docs/calibration.md.
"""
import argparse
import csv
import json

import numpy as np
from hmmlearn.hmm import GaussianHMM


def returns(path, assets, start, end):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    key = "date" if "date" in rows[0] else None
    if key is None:
        raise SystemExit("this cross-check reads files with a date column")
    rows = [r for r in rows if start <= r["date"] <= end]
    prices = np.array([[float(r[a]) for a in assets] for r in rows])
    return np.diff(np.log(prices), axis=0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("prices")
    parser.add_argument("model")
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    with open(args.model) as f:
        m = json.load(f)
    cal = m["calibration"]
    x = returns(args.prices, m["assets"], cal["start"], cal["end"])
    k = len(m["regimes"])
    means = np.array([r["mean"] for r in m["regimes"]])
    covars = np.array([np.diag(r["vol"]) @ np.array(r["corr"]) @ np.diag(r["vol"]) for r in m["regimes"]])
    hmm = GaussianHMM(n_components=k, covariance_type="full")
    hmm.startprob_ = np.array(cal["regime_initial_distribution"])
    hmm.transmat_ = np.array(m["transition"])
    hmm.means_ = means
    hmm.covars_ = covars
    print(f"returns {x.shape}, betahedge loglik {cal['loglik']:.6f}, hmmlearn score at betahedge's parameters "
          f"{hmm.score(x):.6f}")
    best = -np.inf
    for seed in range(args.seeds):
        fit = GaussianHMM(n_components=k, covariance_type="full", min_covar=1e-12, n_iter=2000, tol=1e-8,
                          random_state=seed)
        fit.fit(x)
        score = fit.score(x)
        best = max(best, score)
        print(f"hmmlearn seed {seed}: loglik {score:.6f} converged {fit.monitor_.converged}")
    print(f"hmmlearn best of {args.seeds}: {best:.6f}")


if __name__ == "__main__":
    main()
