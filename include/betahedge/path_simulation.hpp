#pragma once
/// The per-path dynamics shared by both backends: one thread (GPU) or one loop iteration
/// (CPU) runs simulate_path for one path id, with all path state in local arrays.
///
/// Timing convention: the regime of day d (d = 1..num_days) is drawn from the transition row
/// of day d-1's regime, day 0's regime from initial_probabilities ("today"). Each of the
/// steps_per_day steps of a day uses that day's regime:
///   log S_i += drift[k][i] + sum_j shock_factor[k][i][j] * e_j,
/// where e = z (gaussian) or e = z * sqrt((dof - 2) / chi2_dof) (Student-t with unit
/// variance, one chi-square per step shared by all assets: a multivariate t).
#include <cstdint>
#include <type_traits>

#include "betahedge/bh_hd.hpp"
#include "betahedge/path_types.hpp"
#include "betahedge/random_draws.hpp"

namespace betahedge {

/// Index of the first cumulative probability above u (u in (0,1)); the last index absorbs rounding.
BH_HD int sample_from_cdf(const double* cdf, int count, double u) {
  for (int k = 0; k < count - 1; ++k)
    if (u < cdf[k]) return k;
  return count - 1;
}

/// Observer hooks let tests watch a path (regimes, prices) without touching the kernel path.
struct NoPathObserver {
  BH_HD void on_day(int /*day*/, int /*regime*/) const {}
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
  const double* drift = m.drift + regime * n;
  const double* factor = m.shock_factor + regime * n * n;
  for (int i = 0; i < kCapacity; ++i) {
    if (i >= n) break;
    double shock = 0.0;
    for (int j = 0; j <= i; ++j) shock += factor[i * n + j] * z[j];
    log_price[i] += drift[i] + scale * shock;
  }
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

/// Portfolio value at the given log prices: sum_i holdings_i * spot_i * exp(log_price_i).
template <int kCapacity>
BH_HD double portfolio_value(const SimulationView& v, const double (&log_price)[kCapacity]) {
  double value = 0.0;
  for (int i = 0; i < kCapacity; ++i) {
    if (i >= v.market.num_assets) break;
    const double h = v.portfolio.holdings[i];
    if (h != 0.0) value += h * v.market.spot[i] * exp(log_price[i]);
  }
  return value;
}

/// One whole path. kCapacity >= num_assets bounds the local arrays so they stay in registers.
template <int kCapacity, class Generator, class Observer = NoPathObserver>
BH_HD PathOutcome simulate_path(const SimulationView& v, Generator& gen, const Observer& observer = Observer{}) {
  RandomDraws<Generator> draws(gen);
  const MarketView& m = v.market;
  double log_price[kCapacity];
  for (int i = 0; i < kCapacity; ++i) log_price[i] = 0.0;

  int regime = initial_regime(m, draws);
  for (int day = 1; day <= m.num_days; ++day) {
    regime = next_regime(m, regime, draws);
    observer.on_day(day, regime);
    for (int step = 0; step < m.steps_per_day; ++step) market_step<kCapacity>(m, regime, draws, log_price);
  }

  PathOutcome out;
  out.pnl_unhedged = portfolio_value<kCapacity>(v, log_price) - v.portfolio.initial_value;
  out.pnl_hedged = out.pnl_unhedged;
  return out;
}

BH_HD void store_outcome(const OutcomeColumns& columns, std::uint64_t index, const PathOutcome& o) {
  columns.pnl_unhedged[index] = o.pnl_unhedged;
  columns.pnl_hedged[index] = o.pnl_hedged;
}

/// The local-array capacities compiled for; a model with n assets runs with the smallest >= n.
inline constexpr int kPathCapacities[] = {4, 8, 16, 64};

inline int path_capacity_for(int num_assets) {
  for (int c : kPathCapacities)
    if (num_assets <= c) return c;
  return 0;
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
