#!/usr/bin/python3
"""The simulation `betahedge bench` times, written as vectorised NumPy (over paths, a Python
loop over steps): the synthetic model of host/engine/synthetic_model.cpp (asset i vol
(0.03 + 0.005 i)(1 + s), equicorrelation 0.6 calm / 0.85 stressed, calm -> stressed 3%/day,
back 10%), one unit of every asset, a dynamic perpetual hedge on A0 (target beta 0, band 0.05,
7 bps costs, funding 1 bp per 8 h) with a margin account (collateral 10 per asset, maintenance
5%, liquidate on a call). SPEC 8 asks the CPU backend to beat this by 5x on the same machine,
and the CUDA backend to beat the same code on CuPy (`--xp cupy`) by 10x on the same GPU: the
simulation is written once against the array module `xp`, as a quant would port it to a GPU.

usage: numpy_reference.py [--xp numpy|cupy] [--paths N] [--assets N] [--days N] [--repeats N] [--chunk N]
Prints the best time and path-steps per second, and the mean hedged P&L as a sanity check."""
import argparse
import time

import numpy as np


def model(n, regimes=2):
    """Means, Cholesky factors scaled by the vols, and vols per regime (NumPy, on the host)."""
    stress = np.linspace(0.0, 1.0, regimes) if regimes > 1 else np.zeros(1)
    vol = np.array([(0.03 + 0.005 * np.arange(n)) * (1 + s) for s in stress])
    mean = np.array([np.full(n, 0.0005 - 0.002 * s) for s in stress])
    chol = []
    for s in stress:
        rho = 0.6 + 0.25 * s
        corr = np.full((n, n), rho) + (1 - rho) * np.eye(n)
        chol.append(np.linalg.cholesky(corr) * vol[len(chol)][:, None])
    return mean, np.array(chol), vol


def simulate(xp, paths, n, days, rng):
    mean, factor, vol = model(n)
    # model betas to A0 under the initial (calm) regime's covariance
    cov = factor[0] @ factor[0].T
    beta = xp.asarray(cov[:, 0] / cov[0, 0])
    mean, factor = xp.asarray(mean), xp.asarray(factor)
    spot = xp.full(n, 100.0)
    holdings = xp.ones(n)
    v0 = float(holdings @ spot)
    s0 = float(spot[0])  # a Python float: CuPy takes no device scalar as a fill value
    cost_rate, funding, collateral, maintenance, band, target = 7e-4, 1e-4, 10.0 * n, 0.05, 0.05, 0.0
    regime = xp.zeros(paths, dtype=xp.int64)
    log_price = xp.zeros((paths, n))
    beta_p = (holdings * spot * beta).sum() / v0
    units = (target - beta_p) * v0 / s0 * xp.ones(paths)
    pnl = -cost_rate * xp.abs(units) * s0
    price = xp.full(paths, s0)
    active = xp.ones(paths, dtype=bool)
    for _ in range(days):
        u = rng.random(paths)
        regime = xp.where(regime == 0, (u < 0.03).astype(xp.int64), xp.where(u < 0.10, 0, 1))
        z = rng.standard_normal((paths, n))
        # one BLAS product per regime, then pick each path's row: cheaper than per-path factors
        stressed = (regime == 1)[:, None]
        shock = xp.where(stressed, z @ factor[1].T, z @ factor[0].T)
        log_price += xp.where(stressed, mean[1], mean[0]) + shock
        s = s0 * xp.exp(log_price[:, 0])
        pnl += units * (s - price) - units * s * funding * 3
        price = s
        equity = collateral + pnl
        call = active & (equity < maintenance * xp.abs(units) * s)
        pnl -= xp.where(call, cost_rate * xp.abs(units) * s, 0.0)
        units = xp.where(call, 0.0, units)
        active &= ~call
        position = holdings * spot * xp.exp(log_price)
        value = position.sum(axis=1)
        beta_now = (position * beta).sum(axis=1) / value
        total = beta_now + units * s / value
        trade = active & (xp.abs(total - target) > band)
        new_units = (target - beta_now) * value / s
        pnl -= xp.where(trade, cost_rate * xp.abs(new_units - units) * s, 0.0)
        units = xp.where(trade, new_units, units)
    value = (holdings * spot * xp.exp(log_price)).sum(axis=1)
    return value - v0 + pnl


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--xp", choices=["numpy", "cupy"], default="numpy", help="array module: NumPy (CPU) or CuPy (GPU)")
    ap.add_argument("--paths", type=int, default=1_000_000)
    ap.add_argument("--assets", type=int, default=8)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--chunk", type=int, default=0,
                    help="paths per vectorised pass (0: 200,000 on NumPy, for bounded memory; 10^7 on CuPy)")
    a = ap.parse_args()
    if a.xp == "cupy":
        import cupy as xp
        synchronize = xp.cuda.Device().synchronize
        device = xp.cuda.runtime.getDeviceProperties(0)["name"].decode()
    else:
        xp = np
        synchronize = lambda: None
        device = "cpu"
    chunk = a.chunk or (10_000_000 if a.xp == "cupy" else 200_000)
    rng = xp.random.default_rng(42)
    best = float("inf")
    for _ in range(a.repeats):
        synchronize()
        start = time.perf_counter()
        pnl = xp.concatenate([simulate(xp, min(chunk, a.paths - i), a.assets, a.days, rng)
                              for i in range(0, a.paths, chunk)])
        synchronize()
        best = min(best, time.perf_counter() - start)
    print(f"{a.xp} {xp.__version__} ({device}): paths {a.paths} steps {a.days} assets {a.assets}: best of {a.repeats} "
          f"{best:.3f} s  path_steps_per_s {a.paths * a.days / best:.4g}  mean hedged P&L {float(pnl.mean()):.4f}")


if __name__ == "__main__":
    main()
