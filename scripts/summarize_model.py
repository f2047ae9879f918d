#!/usr/bin/python3
"""Markdown summary of a calibrated model.json, as quoted in docs/calibration.md.

    /usr/bin/python3 scripts/summarize_model.py model.json

Prints, per regime, annualised vols (sqrt(252) for crypto calendar days is not assumed: the
daily figure and the x sqrt(days_per_year) figure are both shown, days_per_year given by
--days-per-year, default 365), the mean off-diagonal correlation, the expected duration
1 / (1 - p_kk) in steps, the log-likelihood and the BIC table of the model selection.
"""
import argparse
import json
import math


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--days-per-year", type=float, default=365.0)
    args = parser.parse_args()
    with open(args.model) as f:
        m = json.load(f)
    assets = m["assets"]
    n = len(assets)
    cal = m["calibration"]
    print(f"{cal['start']} .. {cal['end']}, {cal['nobs']} returns, {len(m['regimes'])} regimes ({m['distribution']}),"
          f" log-likelihood {cal['loglik']:.2f}, BIC {cal['bic']:.2f}, converged {cal['converged']}"
          f" in {cal['iterations']} iterations\n")
    print("| regime | " + " | ".join(f"vol {a} (daily / annual)" for a in assets) +
          " | mean corr | expected duration (days) | stationary share | dof |")
    print("|---" * (n + 5) + "|")
    pi = cal.get("regime_initial_distribution")
    for k, r in enumerate(m["regimes"]):
        vols = " | ".join(f"{v * 100:.2f}% / {v * math.sqrt(args.days_per_year) * 100:.0f}%" for v in r["vol"])
        off = [r["corr"][i][j] for i in range(n) for j in range(i)]
        mean_corr = sum(off) / len(off) if off else float("nan")
        p_stay = m["transition"][k][k]
        duration = 1.0 / (1.0 - p_stay) if p_stay < 1 else float("inf")
        share = f"{pi[k]:.2f}" if pi else ""
        dof = "" if r["dof"] is None else f"{r['dof']:.1f}"
        print(f"| {r['name']} | {vols} | {mean_corr:.2f} | {duration:.1f} | {share} | {dof} |")
    print()
    print("correlations per regime:")
    for r in m["regimes"]:
        pairs = ", ".join(f"{assets[i]}-{assets[j]} {r['corr'][i][j]:.2f}" for i in range(n) for j in range(i))
        print(f"- {r['name']}: {pairs}")
    print()
    print("| K | parameters | log-likelihood | BIC | converged |")
    print("|---|---|---|---|---|")
    for row in cal["model_selection"]:
        print(f"| {row['regimes']} | {row['num_parameters']} | {row['loglik']:.2f} | {row['bic']:.2f} | {row['converged']} |")
    print()
    print("initial_probabilities (filtered, last date):",
          ", ".join(f"{r['name']} {p:.3f}" for r, p in zip(m["regimes"], m["initial_probabilities"])))
    for sym, b in m["betas"].items():
        reg = ", ".join(f"{x:.3f}" for x in b["regime"])
        print(f"- beta {sym}: ols {b['ols']:.3f} (se {b['ols_se']:.3f}, R2 {b['ols_r2']:.3f}), rolling {b['rolling']:.3f},"
              f" ewma {b['ewma']:.3f}, kalman {b['kalman']:.3f}, regime [{reg}], weighted {b['regime_weighted']:.3f}")


if __name__ == "__main__":
    main()
