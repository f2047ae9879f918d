#!/usr/bin/python3
"""Writes tests/report/fixture_legs/: a hand-made `betahedge run` output directory for a hedge of
two legs (BTC-perpetual, ETH-perpetual) under one cross-margin account, in the summary.json / CSV
schema of issue 13 (see python/betahedge/report.py's docstring).

    /usr/bin/python3 tests/report/make_fixture_legs.py SOURCE_DIR

The numbers are not simulated; they are closed forms on one model, so that they agree with each
other the way an engine's output does:
  - 30-day simple returns of BTC, ETH, SOL are jointly normal with covariance
    sum over days t = 1..30 of sum_k P(regime k on day t) D_k R_k D_k (model.json's regimes,
    initial probabilities and transition matrix; zero mean: drift martingale);
  - the book (ETH 400, SOL 6000) is hedged by short perpetuals, ratio r_i of the book's value V
    each; a leg's P&L = -r_i V R_i + funding_i - costs_i, funding_i = r_i V x 3 x sum of the
    expected 8-hour rate per day (paid by longs to shorts), costs_i = (fee + slippage) r_i V
    (the opening trade);
  - VaR_a = -mu + z_a sigma, ES_a = -mu + sigma phi(z_a) / (1 - a); Euler contributions
    -mu_j + z cov(X_j, X) / sigma (VaR) or phi(z)/(1-a) cov(X_j, X) / sigma (ES);
  - the minimum-variance vector Sigma_hh^-1 Sigma_hw; the minimum-ES vectors and hedge_surface.csv
    on the 21 x 21 grid of ratios 0, 0.075, ..., 1.5 (a convex bowl: sigma is a norm of an affine
    map, the mean linear);
  - the cross account is called when collateral + hedge P&L first falls below the maintenance
    margin of the notional: Brownian first passage, P = 2 (1 - Phi(b / s)), b = collateral -
    costs - maintenance x notional, s the hedge P&L's stdev; the collateral for a call probability
    p is costs + maintenance x notional + s Phi^-1(1 - p/2); the margin-constrained vector the
    least-variance point of a 0.005 grid with P <= 0.01; standard errors sqrt(p (1 - p) / paths).
model.json, regimes.csv and bands.csv (and summary.json's run, portfolio and bands) are the
one-leg fixture's.
"""
import csv
import json
import math
import os
import shutil
import sys

import numpy as np

PATHS = 200000
HORIZON = 30
LEVELS = ["0.95", "0.99"]
LEGS = ["BTC-perpetual", "ETH-perpetual"]
LEG_ASSET = [0, 1]                      # index of each leg's underlying in model.json's assets
RATIOS = np.array([0.3, 0.8])           # the book's static hedge
FEE_BPS, SLIPPAGE_BPS = 2.0, 5.0
FUNDING = [{"calm": 0.0001, "stressed": -0.0003}, {"calm": 0.00012, "stressed": -0.0002}]
COLLATERAL = 1500000.0
MAINTENANCE = 0.05
MAX_CALL = 0.01
GRID = [round(0.075 * i, 6) for i in range(21)]


def phi(x):
    return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def Phi(x):
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def Phi_inv(p):
    lo, hi = -10.0, 10.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if Phi(mid) < p else (lo, mid)
    return (lo + hi) / 2


def z_of(a):
    return Phi_inv(float(a))


def es_factor(a):
    return phi(z_of(a)) / (1 - float(a))


class Book:
    def __init__(self, model, corr_blend, holdings):
        self.assets = model["assets"]
        names = [r["name"] for r in model["regimes"]]
        self.regime_names = names
        self.corr = []
        for r in model["regimes"]:
            c = np.array(r["corr"])
            self.corr.append((1 - corr_blend) * c + corr_blend * np.ones_like(c))
        self.vol = [np.array(r["vol"]) for r in model["regimes"]]
        spot = model["spot"]
        self.units = np.array([holdings.get(a, 0.0) for a in self.assets])
        self.values = self.units * np.array([spot[a] for a in self.assets])
        self.V = float(self.values.sum())
        self.w = self.values / self.V
        P = np.array(model["transition"])
        p = np.array(model["initial_probabilities"])
        self.occupancy = {}   # days -> expected days spent in each regime over the first `days`
        occ = np.zeros(len(names))
        for t in range(1, HORIZON + 1):
            p = p @ P
            occ = occ + p
            self.occupancy[t] = occ.copy()

    def cov(self, days):
        occ = self.occupancy[days]
        return sum(occ[k] * np.outer(self.vol[k], self.vol[k]) * self.corr[k] for k in range(len(occ)))

    def leg_means(self, r, days):
        """Per leg: (mean funding, costs) in currency for ratios r."""
        occ = self.occupancy[days]
        out = []
        for i in range(len(r)):
            rate = sum(occ[k] * FUNDING[i][n] for k, n in enumerate(self.regime_names))
            notional = r[i] * self.V
            out.append((notional * 3 * rate, notional * (FEE_BPS + SLIPPAGE_BPS) * 1e-4))
        return out

    def component_moments(self, r, days):
        """Components ETH, SOL, then the legs: mean vector and covariance of their P&L (currency)."""
        S = self.cov(days)
        held = [j for j, a in enumerate(self.assets) if self.units[j] != 0]
        loadings = []
        means = []
        for j in held:
            row = np.zeros(len(self.assets))
            row[j] = self.values[j]
            loadings.append(row)
            means.append(0.0)
        for i, (f, c) in enumerate(self.leg_means(r, days)):
            row = np.zeros(len(self.assets))
            row[LEG_ASSET[i]] = -r[i] * self.V
            loadings.append(row)
            means.append(f - c)
        L = np.array(loadings)
        return [self.assets[j] for j in held] + LEGS, np.array(means), L @ S @ L.T

    def hedged(self, r, days):
        names, mu, C = self.component_moments(r, days)
        return float(mu.sum()), math.sqrt(float(C.sum()))

    def unhedged(self, days):
        S = self.cov(days)
        return 0.0, math.sqrt(float(self.values @ S @ self.values))

    def hedge_sd(self, r, days):
        S = self.cov(days)
        h = np.zeros(len(self.assets))
        for i in range(len(r)):
            h[LEG_ASSET[i]] = r[i] * self.V
        return math.sqrt(float(h @ S @ h))

    def call_probability(self, r, collateral, days):
        costs = sum(c for _, c in self.leg_means(r, days))
        b = collateral - costs - MAINTENANCE * self.V * float(np.sum(r))
        s = self.hedge_sd(r, days)
        if b <= 0:
            return 1.0
        return 0.0 if s == 0 else 2 * (1 - Phi(b / s))

    def mean_first_call_day(self, r, collateral):
        """E[first passage time | before the horizon] of the Brownian hedge P&L to the call level."""
        costs = sum(c for _, c in self.leg_means(r, HORIZON))
        b = collateral - costs - MAINTENANCE * self.V * float(np.sum(r))
        var_day = self.hedge_sd(r, HORIZON) ** 2 / HORIZON
        t = np.linspace(1e-6, HORIZON, 200001)
        dens = b / np.sqrt(2 * np.pi * var_day * t ** 3) * np.exp(-b * b / (2 * var_day * t))
        def integral(y):  # the trapezoid rule (np.trapz is deprecated in NumPy 2)
            return float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(t)))
        return integral(t * dens) / integral(dens)

    def collateral_for(self, r, p):
        costs = sum(c for _, c in self.leg_means(r, HORIZON))
        return costs + MAINTENANCE * self.V * float(np.sum(r)) + self.hedge_sd(r, HORIZON) * Phi_inv(1 - p / 2)


def risk_block(mu, sd):
    block = {"mean": mu, "mean_se": sd / math.sqrt(PATHS), "stdev": sd, "var": {}, "es": {}, "var_se": {},
             "es_se": {}}
    for a in LEVELS:
        z = z_of(a)
        block["var"][a] = -mu + z * sd
        block["es"][a] = -mu + es_factor(a) * sd
        block["var_se"][a] = sd * math.sqrt(float(a) * (1 - float(a)) / PATHS) / phi(z)
        block["es_se"][a] = 1.2 * block["var_se"][a]   # illustrative: the report prints no ES standard error
    return block


def horizon_block(book, days):
    mu_u, sd_u = book.unhedged(days)
    mu_h, sd_h = book.hedged(RATIOS, days)
    p = book.call_probability(RATIOS, COLLATERAL, days)
    he = 1 - sd_h ** 2 / sd_u ** 2
    return {"unhedged": risk_block(mu_u, sd_u), "hedged": risk_block(mu_h, sd_h), "hedge_effectiveness": he,
            "hedge_effectiveness_se": (1 - he) * math.sqrt(2.0 / PATHS),
            "margin": {"call_probability": p, "call_probability_se": math.sqrt(p * (1 - p) / PATHS),
                       "liquidation_probability": p}}


def surface(book):
    rows = []
    for r0 in GRID:
        for r1 in GRID:
            mu, sd = book.hedged(np.array([r0, r1]), HORIZON)
            rows.append((r0, r1, {a: -mu + es_factor(a) * sd for a in LEVELS}))
    return rows


def optimal_vector(book, grid_rows):
    S = book.cov(HORIZON)
    h = LEG_ASSET
    Shh = S[np.ix_(h, h)]
    Shw = S[h, :] @ book.w
    r_star = np.linalg.solve(Shh, Shw)
    resid = float(book.w @ S @ book.w - Shw @ r_star)   # residual variance of the regression, return units
    se = np.sqrt(resid * np.diag(np.linalg.inv(Shh)) / PATHS)
    min_es, es_at = {}, {}
    for a in LEVELS:
        r0, r1, es = min(grid_rows, key=lambda row: row[2][a])
        min_es[a] = [r0, r1]
        es_at[a] = es[a]
    fine = np.round(np.arange(0, 1.5 + 1e-9, 0.005), 6)
    best = None
    for r0 in fine:
        for r1 in fine:
            r = np.array([r0, r1])
            if book.call_probability(r, COLLATERAL, HORIZON) > MAX_CALL:
                continue
            sd = book.hedged(r, HORIZON)[1]
            if best is None or sd < best[0]:
                best = (sd, [float(r0), float(r1)])
    return {"legs": LEGS, "min_variance": [float(x) for x in r_star], "min_variance_se": [float(x) for x in se],
            "min_es": min_es, "margin_constrained": best[1] if best else None,
            "stdev_at_min_variance": book.hedged(r_star, HORIZON)[1], "es_at_min_es": es_at}


def contributions(book, level):
    names, mu, C = book.component_moments(RATIOS, HORIZON)
    sd = math.sqrt(float(C.sum()))
    cov_with_total = C.sum(axis=1)
    z, k = z_of(level), es_factor(level)
    es = {n: float(-mu[j] + k * cov_with_total[j] / sd) for j, n in enumerate(names)}
    var = {n: float(-mu[j] + z * cov_with_total[j] / sd) for j, n in enumerate(names)}
    standalone = {n: float(-mu[j] + k * math.sqrt(C[j, j])) for j, n in enumerate(names)}
    held = {a: float(book.values[book.assets.index(a)]) for a in names if a in book.assets}
    held.update({n: -float(RATIOS[i] * book.V) for i, n in enumerate(LEGS)})
    marginal = {n: es[n] / held[n] for n in names}
    return {"level": level, "es": es, "var": var, "standalone_es": standalone, "marginal_es": marginal}


def scenario(name, book):
    at = {str(days): horizon_block(book, days) for days in (1, HORIZON)}
    top = at[str(HORIZON)]
    grid_rows = surface(book)
    vec = optimal_vector(book, grid_rows)
    contrib = contributions(book, LEVELS[-1])
    legs = []
    names, mu, C = book.component_moments(RATIOS, HORIZON)
    for i, (f, c) in enumerate(book.leg_means(RATIOS, HORIZON)):
        j = names.index(LEGS[i])
        legs.append({"name": LEGS[i], "mean_pnl": f - c, "stdev_pnl": math.sqrt(C[j, j]), "mean_costs": c,
                     "mean_funding": f, "pnl_es_contribution": contrib["es"][LEGS[i]]})
    p = top["margin"]["call_probability"]
    cfp = {q: book.collateral_for(RATIOS, float(q)) for q in ("0.01", "0.05")}
    margin = {"collateral": COLLATERAL, "collateral_rule": "fixed", "call_probability": p,
              "call_probability_se": top["margin"]["call_probability_se"], "liquidation_probability": p,
              "mean_first_call_day": book.mean_first_call_day(RATIOS, COLLATERAL),
              "collateral_for_call_probability": cfp,
              "accounts": [{"name": "cross", "legs": LEGS, "collateral": COLLATERAL, "call_probability": p,
                            "call_probability_se": top["margin"]["call_probability_se"],
                            "collateral_for_call_probability": cfp}]}
    beta_start = 1.1862733418 - RATIOS[0] * 1.0 - RATIOS[1] * 1.1034   # the legs' betas to BTC: 1 and ETH's
    costs = sum(c for _, c in book.leg_means(RATIOS, HORIZON))
    s = {"name": name, "kind": "monte_carlo",
         "unhedged": top["unhedged"], "hedged": top["hedged"],
         "hedge_effectiveness": top["hedge_effectiveness"], "hedge_effectiveness_se": top["hedge_effectiveness_se"],
         "es_reduction": {a: 1 - top["hedged"]["es"][a] / top["unhedged"]["es"][a] for a in LEVELS},
         "margin": margin,
         "beta": {"target": 0.0, "start": beta_start, "mean_abs_deviation": abs(beta_start), "mean_rebalances": 0.0,
                  "mean_costs": costs},
         "legs": legs, "optimal_hedge_vector": vec, "contributions": contrib, "horizons": at,
         "applied": {"corr": [c.tolist() for c in book.corr], "vol": [v.tolist() for v in book.vol],
                     "repair_distance": 0.0, "shock": {}, "funding_multiplier": 1.0, "forced_regime": None}}
    return s, grid_rows


def main(source_dir):
    one_leg = os.path.join(source_dir, "tests", "report", "fixture")
    out = os.path.join(source_dir, "tests", "report", "fixture_legs")
    os.makedirs(out, exist_ok=True)
    for name in ("model.json", "regimes.csv", "bands.csv"):
        shutil.copyfile(os.path.join(one_leg, name), os.path.join(out, name))
    with open(os.path.join(one_leg, "model.json")) as f:
        model = json.load(f)
    with open(os.path.join(one_leg, "summary.json")) as f:
        old = json.load(f)
    holdings = {h["asset"]: h["units"] for h in old["portfolio"]["holdings"]}
    base, base_grid = scenario("base", Book(model, 0.0, holdings))
    stress, stress_grid = scenario("corr-to-one", Book(model, 0.9, holdings))
    hedge = {"mode": "static", "beta_estimate": "ewma",
             "margin": {"mode": "cross", "initial_rate": 0.1, "maintenance_rate": MAINTENANCE, "on_call": "liquidate"},
             "legs": [{"name": LEGS[i], "instrument": "perpetual", "benchmark": model["assets"][LEG_ASSET[i]],
                       "ratio": float(RATIOS[i]), "fee_bps": FEE_BPS, "slippage_bps": SLIPPAGE_BPS,
                       "funding_rate_8h": FUNDING[i], "account": "cross"} for i in range(len(LEGS))]}
    summary = {"format": "betahedge.summary/1", "run": old["run"], "portfolio": old["portfolio"], "legs": LEGS,
               "hedge": hedge, "scenarios": [base, stress],
               "warnings": [],
               "bands": old["bands"]}
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    with open(os.path.join(out, "hedge_surface.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["scenario", "ratio_0", "ratio_1"] + [f"es_{a}" for a in LEVELS])
        for name, rows in (("base", base_grid), ("corr-to-one", stress_grid)):
            for r0, r1, es in rows:
                w.writerow([name, repr(r0), repr(r1)] + [repr(es[a]) for a in LEVELS])
    # The base scenario's P&L densities (normal) on 100 bins over +-4 unhedged standard deviations.
    mu_u, sd_u = base["unhedged"]["mean"], base["unhedged"]["stdev"]
    mu_h, sd_h = base["hedged"]["mean"], base["hedged"]["stdev"]
    edges = np.linspace(-4 * sd_u, 4 * sd_u, 101)
    with open(os.path.join(out, "pnl_distribution.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["bin_lo", "bin_hi", "unhedged_density", "hedged_density"])
        for lo, hi in zip(edges[:-1], edges[1:]):
            x = (lo + hi) / 2
            w.writerow([repr(float(lo)), repr(float(hi)), repr(phi((x - mu_u) / sd_u) / sd_u),
                        repr(phi((x - mu_h) / sd_h) / sd_h)])


if __name__ == "__main__":
    main(os.path.abspath(sys.argv[1]))
