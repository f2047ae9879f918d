# %% [markdown]
# # betahedge quickstart
#
# Calibrate a two-regime model on daily closes, simulate a book of ETH and SOL hedged with a
# short BTC perpetual, plot the hedged and unhedged P&L distributions from the per-path
# outcomes, and the hedge-ratio curve from the optimiser.
#
# As a script, from the repository root: `python examples/quickstart.py [OUT_DIR]`
# (default `out/quickstart`); it writes `pnl_distribution.png` and `hedge_ratio_curve.png`
# there. `examples/quickstart.ipynb` holds the same cells (`examples/make_notebook.py`
# writes it from this file).

# %%
import sys
from pathlib import Path

import matplotlib

if "ipykernel" not in sys.modules:
    matplotlib.use("Agg")  # a script writes PNGs; a notebook also shows them inline
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import betahedge

# The repository root: this folder or the first one above it holding data/demo_prices.csv.
ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "data" / "demo_prices.csv").exists())
OUT_DIR = Path(sys.argv[1]) if len(sys.argv) > 1 and "ipykernel" not in sys.modules else ROOT / "out" / "quickstart"
OUT_DIR.mkdir(parents=True, exist_ok=True)
PATHS = 100_000  # modest: a few seconds on two CPU cores

# %% [markdown]
# ## Prices and calibration
# Real daily closes when the shared data folder is beside the repository (Yahoo, 2014-2025),
# else the shipped synthetic demo history. `calibrate` takes a CSV path or, as here, a
# DataFrame indexed by date (NaN = no close that day).

# %%
real = ROOT.parent / "shared" / "data" / "crypto_daily_close_yahoo_2014_2025.csv"
prices_file = real if real.exists() else ROOT / "data" / "demo_prices.csv"
prices = pd.read_csv(prices_file, index_col="date", parse_dates=True)[["BTC", "ETH", "SOL"]]
start = "2021-01-01" if prices_file == real else None
model = betahedge.calibrate(prices, "BTC", regimes=2, start=start, progress=print)
print(model)
print(model.regimes)
print(model.betas[["ols", "ols_se", "ewma", "kalman"]])

# %% [markdown]
# ## A hedged book
# Long 400 ETH and 6,000 SOL, short a BTC perpetual for 100% of the portfolio's value
# (static), with the least collateral that keeps the margin-call probability at 1%
# (`collateral: auto`); 30 daily steps. A dict is a book.yaml (SPEC 4).

# %%
book = betahedge.Book({
    "portfolio": {"holdings": {"ETH": 400, "SOL": 6000}},
    "hedge": {"instrument": "perpetual", "benchmark": "BTC", "mode": "static", "ratio": 1.0,
              "fee_bps": 2, "slippage_bps": 5, "funding_rate_8h": [0.0001, -0.0003]},
    "margin": {"collateral": "auto", "initial_rate": 0.10, "maintenance_rate": 0.05, "on_call": "liquidate"},
    "simulation": {"paths": PATHS, "horizon_days": 30, "seed": 42},
    "risk": {"levels": [0.95, 0.99], "hedge_ratio_grid": {"from": 0.0, "to": 1.5, "step": 0.05},
             "max_call_probability": 0.01},
    "stress": [{"name": "corr-to-one", "correlation_blend": 0.9}, {"name": "vol-x2", "vol_multiplier": 2.0}],
})
sim = betahedge.simulate(book, model=model)
base = sim.summary["scenarios"][0]
print(f"portfolio value {sim.summary['portfolio']['value']:,.0f}, beta {sim.summary['portfolio']['beta']:.2f}")
for side in ("unhedged", "hedged"):
    print(f"{side:>9}: 99% VaR {base[side]['var']['0.99']:>12,.0f}   99% ES {base[side]['es']['0.99']:>12,.0f}")
print(f"hedge effectiveness {base['hedge_effectiveness']:.3f}, collateral {base['margin']['collateral']:,.0f}, "
      f"margin-call probability {base['margin']['call_probability']:.4f}")
for warning in sim.warnings:
    print("warning:", warning)

# %% [markdown]
# ## The P&L distribution, path by path
# `sim.outcomes` holds the base scenario's per-path outcomes: numpy views (no copies) of one
# array, computed on first access from the same paths as the summary.

# %%
pnl_unhedged = sim.outcomes["pnl_unhedged"]
pnl_hedged = sim.outcomes["pnl_hedged"]
fig, ax = plt.subplots(figsize=(8, 4.5))
edges = np.linspace(*np.percentile(np.concatenate([pnl_unhedged, pnl_hedged]), [0.05, 99.95]), 120)
ax.hist(pnl_unhedged, bins=edges, alpha=0.55, label="unhedged", color="tab:red")
ax.hist(pnl_hedged, bins=edges, alpha=0.55, label="hedged", color="tab:blue")
for side, color in (("unhedged", "tab:red"), ("hedged", "tab:blue")):
    ax.axvline(-base[side]["var"]["0.99"], color=color, ls="--", lw=1, label=f"-VaR 99% {side}")
ax.set_xlabel("30-day P&L (USD)")
ax.set_ylabel("paths")
ax.set_title(f"P&L distribution, {sim.outcomes.paths:,} paths")
ax.legend()
fig.tight_layout()
fig.savefig(OUT_DIR / "pnl_distribution.png", dpi=120)

# %% [markdown]
# ## The hedge-ratio curve
# `optimize` evaluates every ratio of `risk.hedge_ratio_grid` on the same paths;
# `tables["hedge_ratio_curve"]` is hedge_ratio_curve.csv as a DataFrame.

# %%
opt = betahedge.optimize(book, model=model)
curve = opt.tables["hedge_ratio_curve"]
curve = curve[curve["scenario"] == "base"]
optimum = opt.summary["scenarios"][0]["optimal_hedge_ratio"]
fig, ax = plt.subplots(figsize=(8, 4.5))
ax.plot(curve["ratio"], curve["stdev"], label="stdev of hedged P&L")
ax.plot(curve["ratio"], curve["es_0.99"], label="99% ES of hedged P&L")
ax.axvline(optimum["min_variance"], color="tab:blue", ls=":", label=f"min variance {optimum['min_variance']:.2f}")
ax.axvline(optimum["min_es"]["0.99"], color="tab:orange", ls=":", label=f"min ES 99% {optimum['min_es']['0.99']:.2f}")
ax.set_xlabel("hedge ratio (short notional / portfolio value)")
ax.set_ylabel("USD")
ax.set_title("Hedge-ratio curve, base scenario")
ax.legend()
fig.tight_layout()
fig.savefig(OUT_DIR / "hedge_ratio_curve.png", dpi=120)
print(f"wrote {OUT_DIR / 'pnl_distribution.png'} and {OUT_DIR / 'hedge_ratio_curve.png'}")
