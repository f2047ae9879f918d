#pragma once
/// The unit legs (UnitLegsRider), which ride along on simulate_path's market path for the
/// optimiser of a hedge of several legs: each leg of the book alone, held statically at ratio +1
/// with no margin action, and per margin account the least collateral with which the static hedge
/// at a direction vector d meets no call.
///
/// Unit leg l opens at t0 with static_units(leg, 1, V0): short notional V0 for a linear leg, bought
/// options on V0. It marks (and pays funding) every step as the book's legs do and rolls at day
/// ends as a static leg does: a future into a new contract of the same notional, an expired option
/// into static_units at ratio 1 on the original holdings' value then. It is never called, closed
/// or topped up. M_l = its marks and funding (its account's pnl + costs), K_l = its costs (fees,
/// slippage, roll costs).
///
/// Linearity. The book's static leg at ratio r holds r times unit l's units (r < 0: a long
/// linear leg, a written option) through every trade: the t0 open and an option roll buy
/// static_units(r, V) = r static_units(1, V), a future roll keeps the notional. Marks and funding
/// are linear in the units and every cost is a rate times |units|, so until its account's first
/// call the leg's pnl is r M_l - |r| K_l and the static hedge at ratio vector r has hedged P&L
///   p(r) = u + sum_l (r_l M_l - |r_l| K_l),   u = pnl_unhedged.
///
/// Shortfall. Scaled by |d_l| the ratio-(+1) unit is the leg at d_l > 0; the ratio-(-1) position
/// (same contract, opposite units) the leg at d_l < 0, whose pnl is -M_l - K_l. Their maintenance
/// requirements Req_l^+ and Req_l^- follow margin_requirement: a linear leg's is the same on both
/// sides (rate x |units| x price); an option's is 0 bought (+) and rate x |units| x S written (-).
/// Account a of the hedge at d, with collateral C, is called at the first mark (t0 or a step) where
///   C + sum_{l in a} (d_l M_l - |d_l| K_l) < sum_{l in a} |d_l| Req_l^{sign d_l},
/// so with shortfall(a) = max over t0 and every step of the difference (at least 0) it meets a
/// call on the path iff shortfall(a) > C (margin_call_due forgives rounding of 1e-12 of the
/// account's scale). The hedge at t d, t >= 0, is called iff t shortfall(a) > C: the host sizes a
/// vector along its ray from one column per account.
#include <cmath>
#include <cstdint>

#include "betahedge/bh_hd.hpp"
#include "betahedge/hedge_book.hpp"
#include "betahedge/hedging.hpp"
#include "betahedge/lane_math.hpp"
#include "betahedge/path_types.hpp"

namespace betahedge {

/// The simulate_path rider (see NoRider) for the unit legs: writes, from `column` (a path's first
/// unit-legs column, the columns `stride` apart), UnitLegColumns: per leg marks(l) = M_l and
/// costs(l) = K_l, per account shortfall(a) at the direction vector h.direction. A book without
/// a hedge writes its one account's shortfall, 0.
/// Precondition: num_legs <= kLegs.
template <int kLegs = kMaxHedgeLegs>
class UnitLegsRider {
 public:
  BH_HD UnitLegsRider(const SimulationView& v, double* column, std::uint64_t stride)
      : v_(v), column_(column), stride_(stride) {
    for (int a = 0; a < kLegs; ++a) shortfall_[a] = 0.0;
  }

  /// t0: every unit leg opens at ratio +1 on the value the book's own legs open on.
  BH_HD void on_open(const LegPrices<kLegs>& s, int regime, const PortfolioMark& start) {
    const HedgeView& h = v_.hedge;
    for (int l = 0; l < kLegs; ++l) {
      if (l >= h.num_legs) break;
      const LegView& leg = h.legs[l];
      start_contract(leg, unit_[l], s.s[l], regime);
      trade_to<false>(leg, unit_[l], account_[l], static_units(leg, 1.0, start.value, s.s[l], unit_[l]), s.s[l]);
    }
    watch_shortfall(s);
  }

  template <class PortfolioValue>
  BH_HD void on_step(const LegPrices<kLegs>& s, int regime, int global_step, const PortfolioValue& /*value*/) {
    const HedgeView& h = v_.hedge;
    const int steps_per_day = v_.market.steps_per_day;
    const double dt_days = 1.0 / steps_per_day;
    for (int l = 0; l < kLegs; ++l) {
      if (l >= h.num_legs) break;
      mark_hedge<false>(h.legs[l], unit_[l], account_[l], s.s[l], regime, dt_days, global_step, steps_per_day);
    }
    watch_shortfall(s);
  }

  /// Day end, after the book's rolls: the unit legs roll statically at ratio 1, whatever the
  /// book's own programme, an option on the original holdings' value.
  BH_HD void on_day_end(const LegPrices<kLegs>& s, int regime, const PortfolioMark& now) {
    const HedgeView& h = v_.hedge;
    for (int l = 0; l < kLegs; ++l) {
      if (l >= h.num_legs) break;
      roll_if_due<false>(h.legs[l], HedgeProgramme{false, 0.0}, unit_[l], account_[l], s.s[l], regime, now.value,
                         now.beta, 1.0);
    }
  }

  BH_HD void on_end(double /*final_value*/) {
    const HedgeView& h = v_.hedge;
    const int legs = h.num_legs;
    for (int l = 0; l < kLegs; ++l) {
      if (l >= legs) break;
      column_[UnitLegColumns::marks(l) * stride_] = account_[l].pnl + account_[l].costs;
      column_[UnitLegColumns::costs(l) * stride_] = account_[l].costs;
    }
    for (int a = 0; a < kLegs; ++a) {
      if (a >= h.num_accounts) break;
      column_[UnitLegColumns::shortfall(legs, a) * stride_] = fmax(shortfall_[a], 0.0);
    }
  }

 private:
  /// Each account's sum over its legs of |d_l| (Req_l^{sign d_l} - X_l), X_l = M_l - K_l (d_l >= 0)
  /// or -M_l - K_l (d_l < 0), at the underlying prices s; the running maximum in shortfall_.
  BH_HD void watch_shortfall(const LegPrices<kLegs>& s) {
    const HedgeView& h = v_.hedge;
    double excess[kLegs] = {};  // per leg: |d_l| (Req - X)
    for (int l = 0; l < kLegs; ++l) {
      if (l >= h.num_legs) break;
      const double d = h.direction[l];
      const double pnl = account_[l].pnl;
      HedgeState side = unit_[l];
      if (d < 0.0) side.units = -side.units;
      const double requirement = margin_requirement(h.legs[l], side, s.s[l], h.maintenance_rate);
      const double side_pnl = d < 0.0 ? -pnl - 2.0 * account_[l].costs : pnl;
      excess[l] = fabs(d) * (requirement - side_pnl);
    }
    // Summed per account in leg order, by selects rather than an index: a GPU thread then keeps
    // the per-account sums in registers.
    for (int a = 0; a < kLegs; ++a) {
      if (a >= h.num_accounts) break;
      double sum = 0.0;
      for (int l = 0; l < kLegs; ++l) {
        if (l >= h.num_legs) break;
        if (HedgeBook<false, kLegs>::account_of(h.legs[l]) == a) sum += excess[l];
      }
      shortfall_[a] = larger(shortfall_[a], sum);
    }
  }

  const SimulationView& v_;
  double* column_;  ///< the path's first unit-legs column
  std::uint64_t stride_;
  HedgeState unit_[kLegs];         ///< leg l at ratio +1: its position
  AccountTotals account_[kLegs];   ///< leg l at ratio +1: pnl = M_l - K_l, costs = K_l
  double shortfall_[kLegs];        ///< [account]: running maximum of the direction's excess
};

}  // namespace betahedge
