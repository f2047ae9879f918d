#pragma once
/// The band sweep (BandSweepRider), which rides along on simulate_path's market path and runs
/// one HedgeBook (hedge_book.hpp) per (target, band) pair of h.sweep_targets and h.sweep_bands,
/// the dynamic hedge at that target and band: one pass over the market gives every pair's
/// outcomes (common random numbers). A pair's HedgeBook sees the same marks, in the same order,
/// as simulate_path's own HedgeBook would with hedge.dynamic = true, hedge.target_beta = that
/// target and hedge.band = that band, so its outcomes are the same bits.
#include <cstdint>

#include "betahedge/bh_hd.hpp"
#include "betahedge/hedge_book.hpp"
#include "betahedge/hedging.hpp"
#include "betahedge/path_types.hpp"

namespace betahedge {

/// The simulate_path rider (see NoRider) for the band sweep: the dynamic hedge programme with
/// the book's legs, costs and margin accounts at each pair b of (h.sweep_targets[b],
/// h.sweep_bands[b]), whatever the book's own mode, target, band and ratios. After the path,
/// outcome(b) is pair b's PathOutcome, whose collateral_shortfall is NaN (not tracked).
/// Precondition: num_sweep_bands <= kMaxBandsPerPass, num_legs <= kLegs.
template <int kLegs = kMaxHedgeLegs>
class BandSweepRider {
 public:
  BH_HD explicit BandSweepRider(const SimulationView& v) : v_(v) {
    // What a book without a hedge instrument reports, whose hooks but on_end never come.
    const LegPrices<kLegs> unused{};
    for (int b = 0; b < v.hedge.num_sweep_bands; ++b) books_[b].watch_from_start(v.hedge, unused);
  }

  BH_HD void on_open(const LegPrices<kLegs>& s, int regime, const PortfolioMark& start) {
    const int count = v_.hedge.num_sweep_bands;
    // The open depends on the target, not the band: each pair opens at its own.
    BH_DEVICE_NO_UNROLL
    for (int b = 0; b < count; ++b) books_[b].open(v_.hedge, at_target(b), s, regime, start);
  }

  template <class PortfolioValue>
  BH_HD void on_step(const LegPrices<kLegs>& s, int regime, int global_step, const PortfolioValue& portfolio_value) {
    const int steps_per_day = v_.market.steps_per_day;
    const double dt_days = 1.0 / steps_per_day;
    // Marks, funding and the margin rule read no target: every pair's book the same way.
    BH_DEVICE_NO_UNROLL
    for (int b = 0; b < v_.hedge.num_sweep_bands; ++b)
      books_[b].step(v_.hedge, s, regime, dt_days, global_step, steps_per_day, portfolio_value);
  }

  BH_HD void on_day_end(const LegPrices<kLegs>& s, int regime, const PortfolioMark& now) {
    const int count = v_.hedge.num_sweep_bands;
    BH_DEVICE_NO_UNROLL
    for (int b = 0; b < count; ++b) books_[b].roll(v_.hedge, at_target(b), s, regime, now);
    // Every rebalance_every_days-th day, as simulate_path counts them.
    if (++days_since_check_ < v_.hedge.rebalance_every_days) return;
    days_since_check_ = 0;
    BH_DEVICE_NO_UNROLL
    for (int b = 0; b < count; ++b)
      books_[b].check_beta(v_.hedge, at_target(b), v_.hedge.sweep_bands[b], s, regime, now, 0, NoBetaCheckObserver{});
  }

  BH_HD void on_end(double final_value) { final_value_ = final_value; }

  /// Pair b's outcome, after on_end.
  BH_HD PathOutcome outcome(int b) const {
    return books_[b].finish(v_.hedge, final_value_, v_.portfolio.initial_value);
  }

 private:
  struct NoBetaCheckObserver {
    BH_HD void on_beta_check(int /*day*/, double /*before*/, double /*after*/) const {}
  };

  /// The dynamic programme at pair b's target: two numbers beside the book's one view, rather than
  /// a view per pair (eight copies of the view, legs and all, would cost a GPU thread registers or
  /// local memory that these do not).
  BH_HD HedgeProgramme at_target(int b) const { return {true, v_.hedge.sweep_targets[b]}; }

  const SimulationView& v_;
  int days_since_check_ = 0;
  double final_value_ = 0.0;
  HedgeBook<false, kLegs> books_[kMaxBandsPerPass];
};

}  // namespace betahedge
