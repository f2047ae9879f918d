#pragma once
/// One hedge programme's bookkeeping on a market path (HedgeBook), which simulate_path runs for
/// the book's own hedge, and the band sweep (BandSweepRider), which rides along on the same
/// market path and runs one HedgeBook per (target, band) pair of h.sweep_targets and
/// h.sweep_bands, the dynamic hedge at that target and band: one pass over the market gives
/// every pair's outcomes (common random numbers). A pair's HedgeBook sees the same marks, in the
/// same order, as simulate_path's own HedgeBook would with hedge.dynamic = true,
/// hedge.target_beta = that target and hedge.band = that band, so its outcomes are the same bits.
#include <cmath>
#include <cstdint>
#include <limits>

#include "betahedge/bh_hd.hpp"
#include "betahedge/hedging.hpp"
#include "betahedge/lane_math.hpp"
#include "betahedge/path_types.hpp"

namespace betahedge {

/// Two hedge accounts side by side: the real one, on which margin calls act, and a shadow that
/// never meets a call; the shadow's largest (requirement - pnl) is the least collateral that
/// would have avoided every call on this path. Top-ups sell the real portfolio pro rata
/// (holdings_scale). The caller marks the portfolio: PortfolioMark (value, beta) of the original
/// holdings, or a functor portfolio_value() returning its value.
///
/// kTracksShadow = false drops the shadow (the band sweep reports no collateral quantiles, and
/// the shadow is a third of a band's work): collateral_shortfall is then NaN, and every other
/// outcome the same bits.
template <bool kTracksShadow = true>
struct HedgeBook {
  HedgeState real, shadow;
  double holdings_scale = 1.0;
  double min_equity = 0.0;      ///< lowest collateral + real.pnl
  double shortfall = 0.0;       ///< largest requirement - pnl of the shadow
  double deviation_sum = 0.0;   ///< sum over the beta checks of |beta - target|, before trading
  int checks = 0;
  double first_call_step = -1.0;
  double liquidated = 0.0;

  /// t0: both accounts open at benchmark price s (static ratio or dynamic target).
  BH_HD void open(const HedgeView& h, double s, int regime, const PortfolioMark& start) {
    open_hedge(h, real, s, regime, start.value, start.beta);
    if constexpr (kTracksShadow) shadow = real;
    watch_from_start(h);
  }

  /// The running extremes from the accounts as they stand (open, or never opened: no hedge).
  BH_HD void watch_from_start(const HedgeView& h) {
    min_equity = h.collateral + real.pnl;
    if constexpr (kTracksShadow) shortfall = margin_requirement(h, shadow, h.maintenance_rate) - shadow.pnl;
  }

  /// After a step's market move to benchmark price s: marks (with funding), then the margin
  /// rule on the real account, which asks portfolio_value() only on a call.
  template <class PortfolioValue>
  BH_HD void step(const HedgeView& h, double s, int regime, double dt_days, int global_step, int steps_per_day,
                  const PortfolioValue& portfolio_value) {
    mark_hedge(h, real, s, regime, dt_days, global_step, steps_per_day);
    if constexpr (kTracksShadow) {
      mark_hedge(h, shadow, s, regime, dt_days, global_step, steps_per_day);
      shortfall = larger(shortfall, margin_requirement(h, shadow, h.maintenance_rate) - shadow.pnl);
    }

    min_equity = smaller(min_equity, h.collateral + real.pnl);
    if (margin_call_due(h, real, h.collateral + real.pnl)) {
      if (first_call_step < 0.0) first_call_step = global_step + 1;
      bool liquidated_now = false;
      apply_margin_rule(h, real, s, holdings_scale * portfolio_value(), holdings_scale, liquidated_now);
      if (liquidated_now) liquidated = 1.0;
    }
  }

  /// The day's contract rolls.
  BH_HD void roll(const HedgeView& h, double s, int regime, const PortfolioMark& now) {
    roll_if_due(h, real, s, regime, holdings_scale * now.value, now.beta, h.ratio);
    if constexpr (kTracksShadow) roll_if_due(h, shadow, s, regime, now.value, now.beta, h.ratio);
  }

  /// The beta check of a rebalance day and, dynamic, the trade back to target when
  /// |beta - target| > band. observer.on_beta_check(day, before, after) watches the real account.
  template <class Observer>
  BH_HD void check_beta(const HedgeView& h, double band, double s, int regime, const PortfolioMark& now, int day,
                        const Observer& observer) {
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
      const bool rebalance = h.dynamic && real.active && fabs(before - h.target_beta) > band;
      const double target_units = h.dynamic ? units_for_target_beta(h, now.beta, value, s, regime, real) : real.units;
      trade_to(h, real, rebalance ? target_units : real.units, s);
      real.rebalances += rebalance ? 1 : 0;
      observer.on_beta_check(day, before, now.beta + hedge_beta(h, real, s, regime, value));
    }
    if (kTracksShadow && h.dynamic && shadow.active) {
      const double shadow_beta = now.beta + hedge_beta(h, shadow, s, regime, now.value);
      const double target_units = units_for_target_beta(h, now.beta, now.value, s, regime, shadow);
      trade_to(h, shadow, fabs(shadow_beta - h.target_beta) > band ? target_units : shadow.units, s);
    }
  }

  /// The path's outcome, from the original holdings' final value.
  BH_HD PathOutcome finish(double final_value, double initial_value, bool hedged) const {
    PathOutcome out;
    out.pnl_unhedged = final_value - initial_value;
    out.pnl_hedged = holdings_scale * final_value - initial_value + real.pnl;
    out.collateral_shortfall = !kTracksShadow ? std::numeric_limits<double>::quiet_NaN() : hedged ? fmax(shortfall, 0.0) : 0.0;
    out.min_equity = min_equity;
    out.first_call_step = first_call_step;
    out.liquidated = liquidated;
    out.costs = real.costs;
    out.rebalances = real.rebalances;
    out.beta_deviation = checks > 0 ? deviation_sum / checks : 0.0;
    return out;
  }
};

/// The simulate_path rider (see NoRider) for the band sweep: the dynamic hedge programme with
/// the book's instrument, costs and margin account at each pair b of (h.sweep_targets[b],
/// h.sweep_bands[b]), whatever the book's own mode, target, band and ratio. After the path,
/// outcome(b) is pair b's PathOutcome, whose collateral_shortfall is NaN (not tracked).
/// Precondition: num_sweep_bands <= kMaxBandsPerPass.
class BandSweepRider {
 public:
  BH_HD explicit BandSweepRider(const SimulationView& v) : v_(v), dynamic_(v.hedge) {
    dynamic_.dynamic = true;
    // What a book without a hedge instrument reports, whose hooks but on_end never come.
    for (int b = 0; b < v.hedge.num_sweep_bands; ++b) books_[b].watch_from_start(dynamic_);
  }

  BH_HD void on_open(double s, int regime, const PortfolioMark& start) {
    const int count = v_.hedge.num_sweep_bands;
    // The open depends on the target, not the band: each pair opens at its own.
    BH_DEVICE_NO_UNROLL
    for (int b = 0; b < count; ++b) books_[b].open(at_target(b), s, regime, start);
  }

  template <class PortfolioValue>
  BH_HD void on_step(double s, int regime, int global_step, const PortfolioValue& portfolio_value) {
    const int steps_per_day = v_.market.steps_per_day;
    const double dt_days = 1.0 / steps_per_day;
    // Marks, funding and the margin rule read no target: every pair's book with the same view.
    BH_DEVICE_NO_UNROLL
    for (int b = 0; b < v_.hedge.num_sweep_bands; ++b)
      books_[b].step(dynamic_, s, regime, dt_days, global_step, steps_per_day, portfolio_value);
  }

  BH_HD void on_day_end(double s, int regime, const PortfolioMark& now) {
    const int count = v_.hedge.num_sweep_bands;
    BH_DEVICE_NO_UNROLL
    for (int b = 0; b < count; ++b) books_[b].roll(at_target(b), s, regime, now);
    // Every rebalance_every_days-th day, as simulate_path counts them.
    if (++days_since_check_ < dynamic_.rebalance_every_days) return;
    days_since_check_ = 0;
    BH_DEVICE_NO_UNROLL
    for (int b = 0; b < count; ++b)
      books_[b].check_beta(at_target(b), v_.hedge.sweep_bands[b], s, regime, now, 0, NoBetaCheckObserver{});
  }

  BH_HD void on_end(double final_value) { final_value_ = final_value; }

  /// Pair b's outcome, after on_end.
  BH_HD PathOutcome outcome(int b) const {
    return books_[b].finish(final_value_, v_.portfolio.initial_value, v_.hedge.kind != HedgeKind::none);
  }

 private:
  struct NoBetaCheckObserver {
    BH_HD void on_beta_check(int /*day*/, double /*before*/, double /*after*/) const {}
  };

  /// The dynamic view at pair b's target. One view serves every pair, its target set before each
  /// pair's call, rather than a HedgeView per pair: eight copies of the view would cost a GPU
  /// thread registers or local memory that one double store per call does not.
  BH_HD const HedgeView& at_target(int b) {
    dynamic_.target_beta = v_.hedge.sweep_targets[b];
    return dynamic_;
  }

  const SimulationView& v_;
  HedgeView dynamic_;  ///< the book's hedge made dynamic; each pair trades to its own target at its own band
  int days_since_check_ = 0;
  double final_value_ = 0.0;
  HedgeBook<false> books_[kMaxBandsPerPass];
};

}  // namespace betahedge
