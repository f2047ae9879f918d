#pragma once
/// The per-path dynamics shared by both backends: one thread (GPU) or one loop iteration
/// (CPU) runs simulate_path for one path id, with all path state in local arrays.
///
/// Timing convention: the regime of day d (d = 1..num_days) is drawn from the transition row
/// of day d-1's regime, day 0's regime from initial_probabilities ("today"). Each of the
/// steps_per_day steps of a day uses that day's regime:
///   log S_i += drift[k][i] + sum_j shock_factor[k][j][i] * e_j,
/// where e = z (gaussian) or e = z * sqrt((dof - 2) / chi2_dof) (Student-t with unit
/// variance, one chi-square per step shared by all assets: a multivariate t).
#include <cstdint>
#include <type_traits>

#include "betahedge/bh_hd.hpp"
#include "betahedge/hedging.hpp"
#include "betahedge/lane_math.hpp"
#include "betahedge/path_types.hpp"
#include "betahedge/random_draws.hpp"

namespace betahedge {

/// Index of the first cumulative probability above u (u in (0,1)); the last index absorbs rounding.
BH_HD int sample_from_cdf(const double* cdf, int count, double u) {
  for (int k = 0; k < count - 1; ++k)
    if (u < cdf[k]) return k;
  return count - 1;
}

/// max and min of running extremes as selects: the same as fmax and fmin for a first argument
/// that is a number (a NaN second argument is ignored by both), and inlined, where a host
/// compiler calls libm's fmax and fmin (they must treat signed zeros and NaNs exactly).
BH_HD double larger(double running, double x) { return x > running ? x : running; }
BH_HD double smaller(double running, double x) { return x < running ? x : running; }

/// x[index] as a select per lane rather than an indexed load: with a run-time index a GPU
/// thread would have to keep the whole array in local memory instead of registers.
template <int kCapacity>
BH_HD double lane_at(const double (&x)[kCapacity], int index) {
  double out = 0.0;
  for (int i = 0; i < kCapacity; ++i) out = i == index ? x[i] : out;
  return out;
}

/// Observer hooks let tests watch a path (regimes, hedge betas) without touching the kernel path.
struct NoPathObserver {
  BH_HD void on_day(int /*day*/, int /*regime*/) const {}
  BH_HD void on_beta_check(int /*day*/, double /*beta_before*/, double /*beta_after*/) const {}
};

/// Advances the log prices (relative to spot) by one step in `regime`.
template <int kCapacity, class Draws>
BH_HD void market_step(const MarketView& m, int regime, Draws& draws, double (&log_price)[kCapacity]) {
  const int n = m.num_assets;
  double z[kCapacity];
  for (int j = 0; j < kCapacity; ++j)
    if (j < n) z[j] = draws.normal();
  double scale = 1.0;
  if (m.student_t) {
    const double dof = m.dof[regime];
    scale = sqrt((dof - 2.0) / draws.chi_square(dof));
  }
  // shock_i = sum_j factor_ij z_j, summed over j in ascending order. The host runs it column by
  // column as SIMD lanes over a whole row of the lane tables (zero above the diagonal and beyond
  // the assets, which adds nothing); a GPU thread row by row, one running sum in a register,
  // as an array of shocks would cost it registers (and spills at 64 assets).
  const double* drift = m.drift + regime * kCapacity;
  const double* factor = m.shock_factor + regime * n * kCapacity;
#if defined(__CUDA_ARCH__)
  for (int i = 0; i < kCapacity; ++i) {
    if (i >= n) break;
    double shock = 0.0;
    for (int j = 0; j < kCapacity; ++j) {
      if (j > i) break;
      shock += factor[j * kCapacity + i] * z[j];
    }
    log_price[i] += drift[i] + scale * shock;
  }
#else
  double shock[kCapacity];
  BH_LANES
  for (int i = 0; i < kCapacity; ++i) shock[i] = 0.0;
  for (int j = 0; j < kCapacity; ++j) {
    if (j >= n) break;
    const double zj = z[j];
    const double* column = factor + j * kCapacity;
    BH_LANES
    for (int i = 0; i < kCapacity; ++i) shock[i] += column[i] * zj;
  }
  BH_LANES
  for (int i = 0; i < kCapacity; ++i) log_price[i] += drift[i] + scale * shock[i];
#endif
}

/// Draws the regime of the next day given today's.
template <class Draws>
BH_HD int next_regime(const MarketView& m, int regime, Draws& draws) {
  if (m.num_regimes == 1) return 0;
  return sample_from_cdf(m.transition_cdf + regime * m.num_regimes, m.num_regimes, draws.uniform());
}

template <class Draws>
BH_HD int initial_regime(const MarketView& m, Draws& draws) {
  if (m.num_regimes == 1) return 0;
  return sample_from_cdf(m.initial_cdf, m.num_regimes, draws.uniform());
}

/// Value of the original holdings, sum_i holdings_i spot_i exp(log_price_i), and their
/// value-weighted beta sum_i holdings_i S_i beta_i / value.
struct PortfolioMark {
  double value;
  double beta;
};

/// x_0 + ... + x_{N-1} as a balanced tree of pairs, the same order on every backend and at any
/// SIMD width: ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7)) for N = 8.
template <int kCount>
BH_HD double lane_sum(const double* x) {
  if constexpr (kCount == 1)
    return x[0];
  else
    return lane_sum<kCount / 2>(x) + lane_sum<kCount - kCount / 2>(x + kCount / 2);
}

/// Asset i's value in the book at growth factor exp(log price); 0 for an unheld asset, which is
/// left out rather than multiplied by a growth factor that might overflow.
BH_HD double asset_position(const SimulationView& v, int i, double growth) {
  const double h = v.portfolio.holdings[i];
  return h == 0.0 ? 0.0 : h * v.market.spot[i] * growth;
}

/// The mark from its two sums: value, and the value-weighted beta (0 for an empty book).
BH_HD PortfolioMark mark_from_sums(double value, double beta_value) {
  return {value, value != 0.0 ? beta_value / value : 0.0};
}

#if !defined(__CUDA_ARCH__)
/// The host's mark: SIMD lanes over the whole capacity (the per-asset tables are zero beyond the
/// assets, so those lanes add nothing), then a fixed tree of sums, the same at any SIMD width.
/// Also gives the benchmark's growth factor exp(log price), which the lanes computed anyway.
template <int kCapacity>
inline PortfolioMark mark_portfolio(const SimulationView& v, const double (&log_price)[kCapacity],
                                    double& benchmark_growth) {
  double growth[kCapacity], position[kCapacity], weighted[kCapacity];
  BH_LANES
  for (int i = 0; i < kCapacity; ++i) {
    growth[i] = lane_exp(log_price[i]);
    position[i] = asset_position(v, i, growth[i]);
    weighted[i] = position[i] * v.portfolio.asset_beta[i];
  }
  benchmark_growth = lane_at(growth, v.hedge.benchmark);
  return mark_from_sums(lane_sum<kCapacity>(position), lane_sum<kCapacity>(weighted));
}
#endif

template <int kCapacity>
BH_HD PortfolioMark mark_portfolio(const SimulationView& v, const double (&log_price)[kCapacity]) {
#if defined(__CUDA_ARCH__)
  // A GPU thread: one asset after another, two running sums in registers, no exp for an
  // unheld asset.
  double value = 0.0, beta_value = 0.0;
  for (int i = 0; i < kCapacity; ++i) {
    if (i >= v.market.num_assets) break;
    if (v.portfolio.holdings[i] == 0.0) continue;
    const double position = asset_position(v, i, lane_exp(log_price[i]));
    value += position;
    beta_value += position * v.portfolio.asset_beta[i];
  }
  return mark_from_sums(value, beta_value);
#else
  double benchmark_growth;
  return mark_portfolio<kCapacity>(v, log_price, benchmark_growth);
#endif
}

/// One whole path. kCapacity >= num_assets bounds the local arrays so they stay in registers.
///
/// Per step: market move; hedge marked (with funding); the margin rule on the hedge account.
/// Per day: contract rolls; every rebalance_every_days the beta check (and, dynamic, a trade
/// back to target when |beta - target| > band). Two hedge accounts run side by side: the real
/// one, on which margin calls act, and a shadow that never meets a call; the shadow's largest
/// (requirement - pnl) is the least collateral that would have avoided every call on this
/// path, so collateral quantiles come from one run. The unhedged P&L keeps the original
/// holdings; top-ups sell the real portfolio pro rata (holdings_scale).
template <int kCapacity, class Generator, class Observer = NoPathObserver>
BH_HD PathOutcome simulate_path(const SimulationView& v, Generator& gen, const Observer& observer = Observer{}) {
  RandomDraws<Generator> draws(gen);
  const MarketView& m = v.market;
  const HedgeView& h = v.hedge;
  const bool hedged = h.kind != HedgeKind::none;
  const double dt_days = 1.0 / m.steps_per_day;
  double log_price[kCapacity];
  for (int i = 0; i < kCapacity; ++i) log_price[i] = 0.0;

  int regime = initial_regime(m, draws);
  const double spot_benchmark = m.spot[h.benchmark];
  HedgeState real, shadow;
  if (hedged) {
    const PortfolioMark start = mark_portfolio<kCapacity>(v, log_price);
    open_hedge(h, real, spot_benchmark, regime, start.value, start.beta);
    shadow = real;
  }
  for (int i = 0; i < kCapacity; ++i)
    if (i < m.num_assets) log_price[i] = m.initial_shock[i];

  PathOutcome out;
  double holdings_scale = 1.0;
  double min_equity = h.collateral + real.pnl;
  double shortfall = margin_requirement(h, shadow, h.maintenance_rate) - shadow.pnl;
  double deviation_sum = 0.0;
  int checks = 0, days_since_check = 0;
  double s = spot_benchmark;  // the benchmark's price after the latest step
#if !defined(__CUDA_ARCH__)
  PortfolioMark mark{0.0, 0.0};  // the host's mark after the latest step
#endif
  for (int day = 1; day <= m.num_days; ++day) {
    regime = next_regime(m, regime, draws);
    observer.on_day(day, regime);
    for (int step = 0; step < m.steps_per_day; ++step) {
      market_step<kCapacity>(m, regime, draws, log_price);
      if (!hedged) continue;
      const int global_step = (day - 1) * m.steps_per_day + step;
#if defined(__CUDA_ARCH__)
      s = spot_benchmark * lane_exp(lane_at(log_price, h.benchmark));
#else
      // The host marks the whole book every step (one SIMD pass of exps) and reads the
      // benchmark from it: one exp fewer per step, and the day's mark is its last step's.
      double benchmark_growth;
      mark = mark_portfolio<kCapacity>(v, log_price, benchmark_growth);
      s = spot_benchmark * benchmark_growth;
#endif
      mark_hedge(h, real, s, regime, dt_days, global_step, m.steps_per_day);
      mark_hedge(h, shadow, s, regime, dt_days, global_step, m.steps_per_day);
      shortfall = larger(shortfall, margin_requirement(h, shadow, h.maintenance_rate) - shadow.pnl);

      min_equity = smaller(min_equity, h.collateral + real.pnl);
      if (margin_call_due(h, real, h.collateral + real.pnl)) {
        if (out.first_call_step < 0.0) out.first_call_step = global_step + 1;
        bool liquidated = false;
        apply_margin_rule(h, real, s, holdings_scale * mark_portfolio<kCapacity>(v, log_price).value, holdings_scale,
                          liquidated);
        if (liquidated) out.liquidated = 1.0;
      }
    }
    if (!hedged) continue;
#if defined(__CUDA_ARCH__)
    const PortfolioMark now = mark_portfolio<kCapacity>(v, log_price);
#else
    const PortfolioMark now = mark;
#endif
    roll_if_due(h, real, s, regime, holdings_scale * now.value, now.beta, h.ratio);
    roll_if_due(h, shadow, s, regime, now.value, now.beta, h.ratio);
    // Every rebalance_every_days-th day (day % rebalance_every_days == 0), counted rather than
    // divided: an integer division a day was 2% of the CPU backend's time.
    if (++days_since_check < h.rebalance_every_days) continue;
    days_since_check = 0;

    // A top-up that sold the whole book leaves no beta to track (and 0/0 for its value).
    const double value = holdings_scale * now.value;
    if (value != 0.0) {
      const double before = now.beta + hedge_beta(h, real, s, regime, value);
      deviation_sum += fabs(before - h.target_beta);
      ++checks;
      // The trade as a select, not a branch: whether it happens turns on this day's marks,
      // which a CPU cannot predict, and a mispredicted branch throws away the next day's work
      // begun meanwhile (a GPU warp, likewise, need not diverge). Not trading is a trade of
      // zero units, which changes nothing.
      const bool rebalance = h.dynamic && real.active && fabs(before - h.target_beta) > h.band;
      const double target_units = h.dynamic ? units_for_target_beta(h, now.beta, value, s, regime, real) : real.units;
      trade_to(h, real, rebalance ? target_units : real.units, s);
      real.rebalances += rebalance ? 1 : 0;
      observer.on_beta_check(day, before, now.beta + hedge_beta(h, real, s, regime, value));
    }
    if (h.dynamic && shadow.active) {
      const double shadow_beta = now.beta + hedge_beta(h, shadow, s, regime, now.value);
      const double target_units = units_for_target_beta(h, now.beta, now.value, s, regime, shadow);
      trade_to(h, shadow, fabs(shadow_beta - h.target_beta) > h.band ? target_units : shadow.units, s);
    }
  }

  const double final_value = mark_portfolio<kCapacity>(v, log_price).value;
  out.pnl_unhedged = final_value - v.portfolio.initial_value;
  out.pnl_hedged = holdings_scale * final_value - v.portfolio.initial_value + real.pnl;
  out.collateral_shortfall = hedged ? fmax(shortfall, 0.0) : 0.0;
  out.min_equity = min_equity;
  out.costs = real.costs;
  out.rebalances = real.rebalances;
  out.beta_deviation = checks > 0 ? deviation_sum / checks : 0.0;
  return out;
}

/// The static hedge evaluated at every ratio of the grid on one path (common random numbers):
/// one hedge account per ratio, all holding the same contract (one mark per step, shared),
/// each with its own margin rule and portfolio top-ups; plus an uncalled ratio-1 account.
/// Writes, at `index` of `out` (columns laid out by RatioGridColumns):
///   pnl(r) = hedged P&L at ratio r; called(r) = 1 if ratio r met a margin call;
///   unhedged P&L; unit_hedge_pnl = the ratio-1 hedge P&L with no margin action (a static
///   hedge without calls is linear in the ratio: hedged(r) = unhedged + r unit_hedge_pnl);
///   unit_shortfall = the ratio-1 collateral shortfall (ratio r is called iff C < r x it).
template <int kCapacity, class Generator>
BH_HD void simulate_ratio_grid_path(const SimulationView& v, Generator& gen, const OutcomeColumns& out,
                                    std::uint64_t index) {
  RandomDraws<Generator> draws(gen);
  const MarketView& m = v.market;
  const HedgeView& h = v.hedge;
  const int count = h.num_grid_ratios;
  const double dt_days = 1.0 / m.steps_per_day;
  double log_price[kCapacity];
  for (int i = 0; i < kCapacity; ++i) log_price[i] = 0.0;

  int regime = initial_regime(m, draws);
  const double spot_benchmark = m.spot[h.benchmark];
  const double value0 = v.portfolio.initial_value;
  HedgeState unit;  // ratio 1, no margin action: the contract's clock and mark for every account
  start_contract(h, unit, spot_benchmark, regime);
  HedgeState accounts[kMaxGridRatios];
  double scale[kMaxGridRatios];
  bool called[kMaxGridRatios];
  const double units_per_ratio = static_units(h, 1.0, value0, spot_benchmark, unit);
  for (int r = 0; r < count; ++r) {
    accounts[r] = unit;
    trade_to(h, accounts[r], h.grid_ratios[r] * units_per_ratio, spot_benchmark);
    scale[r] = 1.0;
    called[r] = false;
  }
  trade_to(h, unit, units_per_ratio, spot_benchmark);
  double unit_shortfall = margin_requirement(h, unit, h.maintenance_rate) - unit.pnl;
  for (int i = 0; i < kCapacity; ++i)
    if (i < m.num_assets) log_price[i] = m.initial_shock[i];

  for (int day = 1; day <= m.num_days; ++day) {
    regime = next_regime(m, regime, draws);
    for (int step = 0; step < m.steps_per_day; ++step) {
      market_step<kCapacity>(m, regime, draws, log_price);
      const int global_step = (day - 1) * m.steps_per_day + step;
      const double s = spot_benchmark * lane_exp(lane_at(log_price, h.benchmark));
      advance_contract_clock(h, unit, dt_days);
      const double price = instrument_price(h, s, regime, unit.days_to_expiry, unit.strike);
      mark_to_price(h, unit, price, s, regime, global_step, m.steps_per_day);
      unit_shortfall = larger(unit_shortfall, margin_requirement(h, unit, h.maintenance_rate) - unit.pnl);
      double portfolio_value = -1.0;  // computed on the first call of this step only
      for (int r = 0; r < count; ++r) {
        HedgeState& a = accounts[r];
        if (!a.active) continue;
        a.days_to_expiry = unit.days_to_expiry;
        mark_to_price(h, a, price, s, regime, global_step, m.steps_per_day);
        if (!margin_call_due(h, a, h.collateral + a.pnl)) continue;
        if (portfolio_value < 0.0) portfolio_value = mark_portfolio<kCapacity>(v, log_price).value;
        bool liquidated = false;
        apply_margin_rule(h, a, s, scale[r] * portfolio_value, scale[r], liquidated);
        called[r] = true;
      }
    }
    const double s = spot_benchmark * lane_exp(lane_at(log_price, h.benchmark));
    const bool roll_due = (h.kind == HedgeKind::future && unit.days_to_expiry <= h.roll_days_before + kExpiryEpsilonDays) ||
                          (h.kind == HedgeKind::option && unit.days_to_expiry <= kExpiryEpsilonDays);
    if (!roll_due) continue;
    const PortfolioMark now = mark_portfolio<kCapacity>(v, log_price);
    for (int r = 0; r < count; ++r)
      roll_if_due(h, accounts[r], s, regime, scale[r] * now.value, now.beta, h.grid_ratios[r]);
    roll_if_due(h, unit, s, regime, now.value, now.beta, 1.0);
  }

  const double final_value = mark_portfolio<kCapacity>(v, log_price).value;
  double* base = out.base + index;
  for (int r = 0; r < count; ++r) {
    base[RatioGridColumns::pnl(r) * out.stride] = scale[r] * final_value - value0 + accounts[r].pnl;
    base[RatioGridColumns::called(r) * out.stride] = called[r] ? 1.0 : 0.0;
  }
  base[RatioGridColumns::unhedged(count) * out.stride] = final_value - value0;
  base[RatioGridColumns::unit_hedge_pnl(count) * out.stride] = unit.pnl;
  base[RatioGridColumns::unit_shortfall(count) * out.stride] = fmax(unit_shortfall, 0.0);
}

BH_HD void store_outcome(const OutcomeColumns& c, std::uint64_t index, const PathOutcome& o) {
  double* column = c.base + index;
  column[0 * c.stride] = o.pnl_unhedged;
  column[1 * c.stride] = o.pnl_hedged;
  column[2 * c.stride] = o.collateral_shortfall;
  column[3 * c.stride] = o.min_equity;
  column[4 * c.stride] = o.first_call_step;
  column[5 * c.stride] = o.liquidated;
  column[6 * c.stride] = o.costs;
  column[7 * c.stride] = o.rebalances;
  column[8 * c.stride] = o.beta_deviation;
}

/// Calls f(std::integral_constant<int, C>{}) with the capacity C for num_assets (host side of
/// both backends; the model loader has already bounded num_assets by kMaxAssets).
template <class F>
void with_path_capacity(int num_assets, F&& f) {
  switch (path_capacity_for(num_assets)) {
    case 4: f(std::integral_constant<int, 4>{}); return;
    case 8: f(std::integral_constant<int, 8>{}); return;
    case 16: f(std::integral_constant<int, 16>{}); return;
    default: f(std::integral_constant<int, 64>{}); return;
  }
}

}  // namespace betahedge
