#pragma once
/// The per-path dynamics shared by both backends: one thread (GPU) or one loop iteration
/// (CPU) runs simulate_path for one path id, with all path state in local arrays.
///
/// The market of a path is a policy (simulate_market_path's Market): RandomMarket, the model's
/// random market below (what simulate_path runs), or HistoricalMarket, a window of actual daily
/// returns replayed as one deterministic path (a replay stress).
///
/// Timing convention: the regime of day d (d = 1..num_days) is drawn from the transition row
/// of day d-1's regime, day 0's regime from initial_probabilities ("today"). Each of the
/// steps_per_day steps of a day uses that day's regime:
///   log S_i += drift[k][i] + sum_j shock_factor[k][j][i] * e_j,
/// where e = z (gaussian) or e = z * sqrt((dof - 2) / chi2_dof) (Student-t with unit
/// variance, one chi-square per step shared by all assets: a multivariate t).
#include <cstdint>
#include <type_traits>

#include "betahedge/band_sweep.hpp"
#include "betahedge/bh_hd.hpp"
#include "betahedge/hedge_book.hpp"
#include "betahedge/hedging.hpp"
#include "betahedge/lane_math.hpp"
#include "betahedge/path_types.hpp"
#include "betahedge/random_draws.hpp"
#include "betahedge/ratio_grid.hpp"
#include "betahedge/unit_legs.hpp"

namespace betahedge {

/// Index of the first cumulative probability above u (u in (0,1)); the last index absorbs rounding.
BH_HD int sample_from_cdf(const double* cdf, int count, double u) {
  for (int k = 0; k < count - 1; ++k)
    if (u < cdf[k]) return k;
  return count - 1;
}

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

/// A rider computes something else on the market path simulate_path draws (RatioGridRider: the
/// static hedge at a grid of ratios; BandSweepRider: the dynamic hedge at several bands;
/// UnitLegsRider: each leg alone at ratio +1), from
/// the hooks below; they are called on a hedged book
/// only. The default rides nothing and compiles to nothing.
struct NoRider {
  /// After the hedge opens at t0: the legs' underlying prices s, the regime of day 0, the
  /// original holdings' mark at t0.
  template <int kLegs>
  BH_HD void on_open(const LegPrices<kLegs>& /*s*/, int /*regime*/, const PortfolioMark& /*start*/) {}
  /// After each step's market move: the legs' underlying prices s, the day's regime, the step
  /// (0-based); portfolio_value() gives the original holdings' value then.
  template <int kLegs, class PortfolioValue>
  BH_HD void on_step(const LegPrices<kLegs>& /*s*/, int /*regime*/, int /*global_step*/,
                     const PortfolioValue& /*portfolio_value*/) {}
  /// At each day's end, after the book's rolls: the original holdings' mark.
  template <int kLegs>
  BH_HD void on_day_end(const LegPrices<kLegs>& /*s*/, int /*regime*/, const PortfolioMark& /*now*/) {}
  /// At the end: the original holdings' final value.
  BH_HD void on_end(double /*final_value*/) {}
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

/// The model's random market (simulate_path's): the regimes and every step's move drawn from
/// `gen`, in the order simulate_path has always drawn them (day 0's regime, then per day its
/// regime and its steps' shocks), so the same bits for any caller.
template <class Generator>
class RandomMarket {
 public:
  BH_HD explicit RandomMarket(Generator& gen) : draws_(gen) {}
  BH_HD int initial_regime(const MarketView& m) { return betahedge::initial_regime(m, draws_); }
  BH_HD int next_regime(const MarketView& m, int /*day*/, int regime) { return betahedge::next_regime(m, regime, draws_); }
  template <int kCapacity>
  BH_HD void step(const MarketView& m, int /*day*/, int regime, double (&log_price)[kCapacity]) {
    market_step<kCapacity>(m, regime, draws_, log_price);
  }

 private:
  RandomDraws<Generator> draws_;
};

/// A replayed history (a replay stress): day d's log return of each asset and its regime given,
/// no draws. Each of a day's steps_per_day steps moves log prices by an equal share of the
/// day's log return, so the day ends at the actual close ratio; the model's drift and vols do
/// not enter. The regimes (funding, basis and implied vol are per regime) are the caller's.
struct HistoricalMarket {
  const int* regimes = nullptr;           ///< [num_days + 1]: day 0 (today, at the open) to num_days
  const double* day_log_return = nullptr;  ///< [day - 1][lane]: rows of path_capacity_for(num_assets), zero-padded

  BH_HD int initial_regime(const MarketView& /*m*/) const { return regimes[0]; }
  BH_HD int next_regime(const MarketView& /*m*/, int day, int /*regime*/) const { return regimes[day]; }
  template <int kCapacity>
  BH_HD void step(const MarketView& m, int day, int /*regime*/, double (&log_price)[kCapacity]) const {
    const double* r = day_log_return + (day - 1) * kCapacity;
    for (int i = 0; i < kCapacity; ++i) log_price[i] += r[i] / m.steps_per_day;
  }
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
/// Also leaves every asset's growth factor exp(log price) in `growth`, which the lanes computed
/// anyway and the legs' underlying prices read.
template <int kCapacity>
inline PortfolioMark mark_portfolio_lanes(const SimulationView& v, const double (&log_price)[kCapacity],
                                          double (&growth)[kCapacity]) {
  double position[kCapacity], weighted[kCapacity];
  BH_LANES
  for (int i = 0; i < kCapacity; ++i) {
    growth[i] = lane_exp(log_price[i]);
    position[i] = asset_position(v, i, growth[i]);
    weighted[i] = position[i] * v.portfolio.asset_beta[i];
  }
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
  double growth[kCapacity];
  return mark_portfolio_lanes<kCapacity>(v, log_price, growth);
#endif
}

/// A rider's portfolio_value(): the host's mark of the step, which it has made anyway.
struct MarkedPortfolioValue {
  double value;
  BH_HD double operator()() const { return value; }
};

/// A rider's portfolio_value() on the GPU, which marks the book only when it must.
template <int kCapacity>
struct PortfolioValueOnDemand {
  const SimulationView& v;
  const double (&log_price)[kCapacity];
  BH_HD double operator()() const { return mark_portfolio<kCapacity>(v, log_price).value; }
};

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

/// Where simulate_path records a path's outcome at the intermediate horizons (v.horizons): block h
/// at columns first_column + h x kNumOutcomeFields of `out`, row `index`; then, when
/// v.asset_pnl.record, asset i's P&L at column first_column + kNumOutcomeFields x v.horizons.count + i;
/// then, when v.leg_detail.record, the leg detail (LegDetailColumns) after those.
struct HorizonColumns {
  OutcomeColumns out;
  std::uint64_t index = 0;
  int first_column = 0;
};

/// One whole path. kCapacity >= num_assets bounds the local arrays so they stay in registers;
/// kLegs >= num_legs bounds the hedge's (a one-leg book runs at kLegs = 1 or any other, the same bits).
///
/// Per step: market move; every leg marked (with funding); the margin rule on each account.
/// Per day: contract rolls; every rebalance_every_days the beta check (and, dynamic, a trade
/// of every leg to its share of the target when |beta - target| > band). HedgeBook keeps the
/// hedge's accounts: real ones, on which margin calls act, and shadows that never meet a call
/// (collateral quantiles from one run). The unhedged P&L keeps the original holdings; top-ups
/// sell the real portfolio pro rata. A rider (NoRider) rides along on the same market path. With
/// `horizons`, the outcome at the end of each day of v.horizons is recorded there: what a run of
/// that many days returns (and, when v.asset_pnl.record, each asset's P&L at the end, and when
/// v.leg_detail.record, each leg's and account's share of the hedge).
///
/// The market moves as `market` says (RandomMarket: the model's; HistoricalMarket: a replay).
/// An observer with on_day_end(day, book, log_price) sees the hedge book and the log prices at
/// each day's end, after the rolls and the beta check (a replay's daily path).
template <int kCapacity, int kLegs = kMaxHedgeLegs, class Market, class Observer = NoPathObserver,
          class Rider = NoRider>
BH_HD PathOutcome simulate_market_path(const SimulationView& v, Market& market, const Observer& observer = Observer{},
                                       Rider&& rider = Rider{}, const HorizonColumns* horizons = nullptr) {
  const MarketView& m = v.market;
  const HedgeView& h = v.hedge;
  const HedgeProgramme programme = programme_of(h);
  const bool hedged = h.num_legs > 0;
  const double dt_days = 1.0 / m.steps_per_day;
  double log_price[kCapacity];
  for (int i = 0; i < kCapacity; ++i) log_price[i] = 0.0;

  int regime = market.initial_regime(m);
  LegPrices<kLegs> spot_legs{};  // each leg's underlying at t0
  for (int l = 0; l < kLegs; ++l) {
    if (l >= h.num_legs) break;
    spot_legs.s[l] = m.spot[h.legs[l].benchmark];
  }
  HedgeBook<true, kLegs> book;
  if (hedged) {
    const PortfolioMark start = mark_portfolio<kCapacity>(v, log_price);
    book.open(h, programme, spot_legs, regime, start);
    rider.on_open(spot_legs, regime, start);
  } else {
    book.watch_from_start(h, spot_legs);
  }
  for (int i = 0; i < kCapacity; ++i)
    if (i < m.num_assets) log_price[i] = m.initial_shock[i];

  int days_since_check = 0;
  int next_horizon = 0;  // the first of v.horizons not yet recorded
  LegPrices<kLegs> s = spot_legs;  // the legs' underlying prices after the latest step
#if !defined(__CUDA_ARCH__)
  PortfolioMark mark{0.0, 0.0};  // the host's mark after the latest step
#endif
  for (int day = 1; day <= m.num_days; ++day) {
    regime = market.next_regime(m, day, regime);
    observer.on_day(day, regime);
    for (int step = 0; step < m.steps_per_day; ++step) {
      market.template step<kCapacity>(m, day, regime, log_price);
      if (!hedged) continue;
      const int global_step = (day - 1) * m.steps_per_day + step;
#if defined(__CUDA_ARCH__)
      for (int l = 0; l < kLegs; ++l) {
        if (l >= h.num_legs) break;
        s.s[l] = spot_legs.s[l] * lane_exp(lane_at(log_price, h.legs[l].benchmark));
      }
      const PortfolioValueOnDemand<kCapacity> portfolio_value{v, log_price};
#else
      // The host marks the whole book every step (one SIMD pass of exps) and reads the legs'
      // underlyings from it: no exp of their own, and the day's mark is its last step's.
      double growth[kCapacity];
      mark = mark_portfolio_lanes<kCapacity>(v, log_price, growth);
      for (int l = 0; l < kLegs; ++l) {
        if (l >= h.num_legs) break;
        s.s[l] = spot_legs.s[l] * lane_at(growth, h.legs[l].benchmark);
      }
      const MarkedPortfolioValue portfolio_value{mark.value};
#endif
      rider.on_step(s, regime, global_step, portfolio_value);
      book.step(h, s, regime, dt_days, global_step, m.steps_per_day, portfolio_value);
    }
    if (hedged) {
#if defined(__CUDA_ARCH__)
      const PortfolioMark now = mark_portfolio<kCapacity>(v, log_price);
#else
      const PortfolioMark now = mark;
#endif
      book.roll(h, programme, s, regime, now);
      rider.on_day_end(s, regime, now);
      // Every rebalance_every_days-th day (day % rebalance_every_days == 0), counted rather than
      // divided: an integer division a day was 2% of the CPU backend's time.
      if (++days_since_check >= h.rebalance_every_days) {
        days_since_check = 0;
        book.check_beta(h, programme, h.band, s, regime, now, day, observer);
      }
    }
    // An intermediate horizon: the outcome as if the path ended here (finish is the end's own).
    if (horizons != nullptr && next_horizon < v.horizons.count &&
        static_cast<double>(day) == v.horizons.days[next_horizon]) {
      const OutcomeColumns block{horizons->out.base + (horizons->first_column + kNumOutcomeFields * next_horizon) *
                                                          horizons->out.stride,
                                 horizons->out.stride};
      store_outcome(block, horizons->index,
                    book.finish(h, mark_portfolio<kCapacity>(v, log_price).value, v.portfolio.initial_value));
      ++next_horizon;
    }
    if constexpr (requires { observer.on_day_end(day, book, log_price); }) observer.on_day_end(day, book, log_price);
  }

  const double final_value = mark_portfolio<kCapacity>(v, log_price).value;
  if (horizons != nullptr && (v.asset_pnl.record || v.leg_detail.record)) {
    double* column = horizons->out.base + (horizons->first_column + kNumOutcomeFields * v.horizons.count) *
                                              horizons->out.stride + horizons->index;
    if (v.asset_pnl.record) {
      // Each asset's P&L as the mark computes its position (the same exp), so a book of that asset
      // alone reports these very numbers as its unhedged P&L.
      for (int i = 0; i < kCapacity; ++i) {
        if (i >= m.num_assets) break;
        const double h_i = v.portfolio.holdings[i];
        column[i * horizons->out.stride] =
            h_i == 0.0 ? 0.0 : asset_position(v, i, lane_exp(log_price[i])) - h_i * m.spot[i];
      }
      column += m.num_assets * horizons->out.stride;
    }
    if (v.leg_detail.record) book.store_leg_detail(h, column, horizons->out.stride);
  }
  rider.on_end(final_value);
  return book.finish(h, final_value, v.portfolio.initial_value);
}

/// One path of the model's random market, its draws from `gen` (simulate_market_path with
/// RandomMarket: the same draws, in the same order, and the same code as before the market
/// became a policy).
template <int kCapacity, int kLegs = kMaxHedgeLegs, class Generator, class Observer = NoPathObserver,
          class Rider = NoRider>
BH_HD PathOutcome simulate_path(const SimulationView& v, Generator& gen, const Observer& observer = Observer{},
                                Rider&& rider = Rider{}, const HorizonColumns* horizons = nullptr) {
  RandomMarket<Generator> market(gen);
  return simulate_market_path<kCapacity, kLegs>(v, market, observer, static_cast<Rider&&>(rider), horizons);
}

/// simulate_path's outcomes at `index` of `out` (columns 0 to kNumOutcomeFields - 1, the same
/// bits) and, on the same market path, the static hedge with the book's one leg, its costs and
/// margin account at every ratio of h.grid_ratios, whatever the book's own ratio and mode
/// (columns kNumOutcomeFields + RatioGridColumns(...); RatioGridRider says what each holds).
/// Needs a hedge of one leg (h.num_legs == 1).
template <int kCapacity, int kLegs = kMaxHedgeLegs, class Generator>
BH_HD void simulate_path_with_ratio_grid(const SimulationView& v, Generator& gen, const OutcomeColumns& out,
                                         std::uint64_t index) {
  RatioGridRider rider(v, out, index);
  const HorizonColumns horizons{out, index, kNumOutcomeFields + RatioGridColumns::total(v.hedge.num_grid_ratios)};
  store_outcome(out, index, simulate_path<kCapacity, kLegs>(v, gen, NoPathObserver{}, rider, &horizons));
}

/// simulate_path's outcomes at `index` of `out` (columns 0 to kNumOutcomeFields - 1, the same
/// bits) and, on the same market path, the dynamic hedge at each pair b of (h.sweep_targets[b],
/// h.sweep_bands[b]) (columns kNumOutcomeFields * (1 + b) to kNumOutcomeFields * (2 + b) - 1):
/// the same bits as simulate_path with hedge.dynamic = true, hedge.target_beta =
/// sweep_targets[b] and hedge.band = sweep_bands[b] on that path.
/// Precondition: num_sweep_bands <= kMaxBandsPerPass.
template <int kCapacity, int kLegs = kMaxHedgeLegs, class Generator>
BH_HD void simulate_path_with_band_sweep(const SimulationView& v, Generator& gen, const OutcomeColumns& out,
                                         std::uint64_t index) {
  BandSweepRider<kLegs> rider(v);
  store_outcome(out, index, simulate_path<kCapacity, kLegs>(v, gen, NoPathObserver{}, rider));
  for (int b = 0; b < v.hedge.num_sweep_bands; ++b)
    store_outcome({out.base + kNumOutcomeFields * (1 + b) * out.stride, out.stride}, index, rider.outcome(b));
}

/// simulate_path's outcomes at `index` of `out`, every column of PathProgram::outcomes (the same
/// bits: horizons, asset P&L and leg detail when the view asks), and then, from column
/// outcome_program_columns(v), the unit legs on the same market path (UnitLegColumns;
/// UnitLegsRider says what each holds). kLegs >= the hedge's legs.
template <int kCapacity, int kLegs = kMaxHedgeLegs, class Generator>
BH_HD void simulate_path_with_unit_legs(const SimulationView& v, Generator& gen, const OutcomeColumns& out,
                                        std::uint64_t index) {
  UnitLegsRider<kLegs> rider(v, out.base + index + outcome_program_columns(v) * out.stride, out.stride);
  const HorizonColumns horizons{out, index, kNumOutcomeFields};
  store_outcome(out, index, simulate_path<kCapacity, kLegs>(v, gen, NoPathObserver{}, rider, &horizons));
}

/// Path `index` of a batch (its draws from `gen`) under `program`: the one place that maps a
/// PathProgram to its path function, for the CPU loop and the GPU kernel alike. kLegs >= the
/// hedge's legs.
template <PathProgram kProgram, int kCapacity, int kLegs = kMaxHedgeLegs, class Generator>
BH_HD void run_path_program(const SimulationView& v, Generator& gen, const OutcomeColumns& out, std::uint64_t index) {
  if constexpr (kProgram == PathProgram::outcomes) {
    const HorizonColumns horizons{out, index, kNumOutcomeFields};
    store_outcome(out, index, simulate_path<kCapacity, kLegs>(v, gen, NoPathObserver{}, NoRider{}, &horizons));
  }
  else if constexpr (kProgram == PathProgram::outcomes_with_ratio_grid)
    simulate_path_with_ratio_grid<kCapacity, kLegs>(v, gen, out, index);
  else if constexpr (kProgram == PathProgram::outcomes_with_band_sweep)
    simulate_path_with_band_sweep<kCapacity, kLegs>(v, gen, out, index);
  else
    simulate_path_with_unit_legs<kCapacity, kLegs>(v, gen, out, index);
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
