#pragma once
/// One hedge programme's bookkeeping on a market path (HedgeBook): the legs, their margin accounts
/// and the margin rule. simulate_path runs one for the book's own hedge; the band sweep
/// (band_sweep.hpp) runs one per (target, band) pair on the same market path.
///
/// Accounts. Under cross margin every leg books into account 0: its equity = collateral + the
/// sum of its legs' P&L (+ the top-ups' cash), its requirement the sum of theirs, so a gain on
/// one leg covers a loss on another. Under isolated margin leg l books into account l, with its
/// own collateral. A call on an account acts on that account alone: `liquidate` closes every leg
/// of it (the other accounts' legs run on); `top_up` sells the portfolio pro rata to restore its
/// equity to its initial margin, and closes its legs when that takes the whole portfolio.
///
/// kLegs bounds the legs (num_legs <= kLegs): the per-leg and per-account arrays are local arrays
/// of that size, which a one-leg book (kLegs = 1) keeps as small as it was before books held
/// several legs. Whatever kLegs, a book of one leg gives the same bits.
#include <cmath>
#include <limits>

#include "betahedge/bh_hd.hpp"
#include "betahedge/hedging.hpp"
#include "betahedge/lane_math.hpp"
#include "betahedge/path_types.hpp"

namespace betahedge {

/// Each leg's underlying price (legs [0, num_legs)).
template <int kLegs>
struct LegPrices {
  double s[kLegs];
};

/// Two sets of accounts side by side: the real ones, on which margin calls act, and shadows that
/// never meet a call; a shadow's largest (requirement - pnl) is the least collateral that would
/// have avoided every call on its account on this path. Top-ups sell the real portfolio pro rata
/// (holdings_scale). The caller marks the portfolio: PortfolioMark (value, beta) of the original
/// holdings, or a functor portfolio_value() returning its value.
///
/// kTracksShadow = false drops the shadows (the band sweep reports no collateral quantiles, and
/// the shadow is a third of a band's work): collateral_shortfall is then NaN, and every other
/// outcome the same bits. It drops the legs' own totals too (HedgeState pnl, costs and funding,
/// which only the leg detail reads): the accounts' totals make the outcome.
template <bool kTracksShadow = true, int kLegs = kMaxHedgeLegs>
struct HedgeBook {
  static constexpr bool kLegTotals = kTracksShadow;

  HedgeState real[kLegs], shadow[kLegs];
  AccountTotals account[kLegs], shadow_account[kLegs];
  double holdings_scale = 1.0;
  double min_equity = 0.0;      ///< lowest equity of the real accounts together
  double shortfall[kLegs];      ///< [account]: largest requirement - pnl of its shadow
  double account_first_call[kLegs];  ///< [account]: step (1-based) of its first call, -1 if none
  double deviation_sum = 0.0;   ///< sum over the beta checks of |beta - target|, before trading
  int checks = 0;
  int rebalances = 0;           ///< dynamic trades after t0
  double first_call_step = -1.0;
  double liquidated = 0.0;

  BH_HD HedgeBook() {
    for (int a = 0; a < kLegs; ++a) {
      shortfall[a] = 0.0;
      account_first_call[a] = -1.0;
    }
  }

  /// The leg's account. A one-leg book's is 0 whatever the view says, which a GPU thread then
  /// knows at compile time.
  BH_HD static int account_of(const LegView& leg) { return kLegs == 1 ? 0 : leg.account; }

  /// t0: both sets of accounts open at underlying prices s (static ratios or the dynamic target).
  BH_HD void open(const HedgeView& h, const HedgeProgramme& p, const LegPrices<kLegs>& s, int regime,
                  const PortfolioMark& start) {
    for (int l = 0; l < kLegs; ++l) {
      if (l >= h.num_legs) break;
      const LegView& leg = h.legs[l];
      open_hedge<kLegTotals>(leg, p, real[l], account[account_of(leg)], s.s[l], regime, start.value, start.beta);
    }
    if constexpr (kTracksShadow) {
      for (int l = 0; l < kLegs; ++l) {
        shadow[l] = real[l];
        shadow_account[l] = account[l];
      }
    }
    watch_from_start(h, s);
  }

  /// The running extremes from the accounts as they stand (open, or never opened: no hedge).
  BH_HD void watch_from_start(const HedgeView& h, const LegPrices<kLegs>& s) {
    min_equity = total_equity(h);
    if constexpr (kTracksShadow)
      for (int a = 0; a < kLegs; ++a) {
        if (a >= h.num_accounts) break;
        shortfall[a] = exposure(h, shadow, s, a, h.maintenance_rate).requirement - shadow_account[a].pnl;
      }
  }

  /// After a step's market move to underlying prices s: marks (with funding), then the margin
  /// rule on each real account in turn, which asks portfolio_value() only on a call.
  template <class PortfolioValue>
  BH_HD void step(const HedgeView& h, const LegPrices<kLegs>& s, int regime, double dt_days, int global_step,
                  int steps_per_day, const PortfolioValue& portfolio_value) {
    for (int l = 0; l < kLegs; ++l) {
      if (l >= h.num_legs) break;
      const LegView& leg = h.legs[l];
      mark_hedge<kLegTotals>(leg, real[l], account[account_of(leg)], s.s[l], regime, dt_days, global_step,
                             steps_per_day);
    }
    if constexpr (kTracksShadow) {
      for (int l = 0; l < kLegs; ++l) {
        if (l >= h.num_legs) break;
        const LegView& leg = h.legs[l];
        mark_hedge<false>(leg, shadow[l], shadow_account[account_of(leg)], s.s[l], regime, dt_days, global_step,
                          steps_per_day);
      }
      for (int a = 0; a < kLegs; ++a) {
        if (a >= h.num_accounts) break;
        shortfall[a] =
            larger(shortfall[a], exposure(h, shadow, s, a, h.maintenance_rate).requirement - shadow_account[a].pnl);
      }
    }

    min_equity = smaller(min_equity, total_equity(h));
    for (int a = 0; a < kLegs; ++a) {
      if (a >= h.num_accounts) break;
      const double equity = h.collateral[a] + account[a].pnl;
      if (!margin_call_due(h.collateral[a], equity, exposure(h, real, s, a, h.maintenance_rate))) continue;
      if (first_call_step < 0.0) first_call_step = global_step + 1;
      if (account_first_call[a] < 0.0) account_first_call[a] = global_step + 1;
      apply_margin_rule(h, s, a, equity, holdings_scale * portfolio_value());
    }
  }

  /// The day's contract rolls, each leg at its own ratio (static) or share of the target (dynamic).
  BH_HD void roll(const HedgeView& h, const HedgeProgramme& p, const LegPrices<kLegs>& s, int regime,
                  const PortfolioMark& now) {
    for (int l = 0; l < kLegs; ++l) {
      if (l >= h.num_legs) break;
      const LegView& leg = h.legs[l];
      roll_if_due<kLegTotals>(leg, p, real[l], account[account_of(leg)], s.s[l], regime, holdings_scale * now.value,
                              now.beta, leg.ratio);
    }
    if constexpr (kTracksShadow)
      for (int l = 0; l < kLegs; ++l) {
        if (l >= h.num_legs) break;
        const LegView& leg = h.legs[l];
        roll_if_due<false>(leg, p, shadow[l], shadow_account[account_of(leg)], s.s[l], regime, now.value, now.beta,
                           leg.ratio);
      }
  }

  /// The beta check of a rebalance day and, dynamic, the trade of every open leg to its target
  /// units when |beta - target| > band, beta the portfolio's plus every leg's.
  /// observer.on_beta_check(day, before, after) watches the real accounts.
  template <class Observer>
  BH_HD void check_beta(const HedgeView& h, const HedgeProgramme& p, double band, const LegPrices<kLegs>& s,
                        int regime, const PortfolioMark& now, int day, const Observer& observer) {
    // A top-up that sold the whole book leaves no beta to track (and 0/0 for its value).
    const double value = holdings_scale * now.value;
    if (value != 0.0) {
      const double before = book_beta(h, real, s, regime, now.beta, value);
      deviation_sum += fabs(before - p.target_beta);
      ++checks;
      // The trade as a select, not a branch: whether it happens turns on this day's marks,
      // which a CPU cannot predict, and a mispredicted branch throws away the next day's work
      // begun meanwhile (a GPU warp, likewise, need not diverge). Not trading is a trade of
      // zero units, which changes nothing.
      const bool rebalance = p.dynamic && any_open(h, real) && fabs(before - p.target_beta) > band;
      for (int l = 0; l < kLegs; ++l) {
        if (l >= h.num_legs) break;
        const LegView& leg = h.legs[l];
        HedgeState& st = real[l];
        const double target_units =
            p.dynamic ? units_for_target_beta(leg, p.target_beta, now.beta, value, s.s[l], regime, st) : st.units;
        trade_to<kLegTotals>(leg, st, account[account_of(leg)], rebalance && st.active ? target_units : st.units,
                             s.s[l]);
      }
      rebalances += rebalance ? 1 : 0;
      observer.on_beta_check(day, before, book_beta(h, real, s, regime, now.beta, value));
    }
    if (kTracksShadow && p.dynamic && any_open(h, shadow)) {
      const double shadow_beta = book_beta(h, shadow, s, regime, now.beta, now.value);
      const bool rebalance = fabs(shadow_beta - p.target_beta) > band;
      for (int l = 0; l < kLegs; ++l) {
        if (l >= h.num_legs) break;
        const LegView& leg = h.legs[l];
        HedgeState& st = shadow[l];
        const double target_units = units_for_target_beta(leg, p.target_beta, now.beta, now.value, s.s[l], regime, st);
        trade_to<false>(leg, st, shadow_account[account_of(leg)], rebalance && st.active ? target_units : st.units,
                        s.s[l]);
      }
    }
  }

  /// The equity of the real accounts together.
  BH_HD double total_equity(const HedgeView& h) const {
    double equity = 0.0;
    for (int a = 0; a < kLegs; ++a) {
      if (a >= h.num_accounts) break;
      equity += h.collateral[a] + account[a].pnl;
    }
    return equity;
  }

  /// The real accounts' P&L together (every leg's, and the top-ups' cash).
  BH_HD double hedge_pnl(const HedgeView& h) const {
    double pnl = 0.0;
    for (int a = 0; a < kLegs; ++a) {
      if (a >= h.num_accounts) break;
      pnl += account[a].pnl;
    }
    return pnl;
  }

  /// The path's outcome, from the original holdings' final value.
  BH_HD PathOutcome finish(const HedgeView& h, double final_value, double initial_value) const {
    double costs = 0.0;
    for (int a = 0; a < kLegs; ++a) {
      if (a >= h.num_accounts) break;
      costs += account[a].costs;
    }
    PathOutcome out;
    out.pnl_unhedged = final_value - initial_value;
    out.pnl_hedged = holdings_scale * final_value - initial_value + hedge_pnl(h);
    out.collateral_shortfall = !kTracksShadow        ? std::numeric_limits<double>::quiet_NaN()
                               : h.num_legs > 0 ? fmax(shortfall[0], 0.0)
                                                    : 0.0;
    out.min_equity = min_equity;
    out.first_call_step = first_call_step;
    out.liquidated = liquidated;
    out.costs = costs;
    out.rebalances = rebalances;
    out.beta_deviation = checks > 0 ? deviation_sum / checks : 0.0;
    return out;
  }

  /// The leg detail (LegDetailColumns) from `column`, the path's first leg-detail column, whose
  /// columns lie `stride` apart.
  BH_HD void store_leg_detail(const HedgeView& h, double* column, std::uint64_t stride) const {
    const int legs = h.num_legs;
    for (int l = 0; l < kLegs; ++l) {
      if (l >= legs) break;
      column[LegDetailColumns::pnl(l) * stride] = real[l].pnl;
      column[LegDetailColumns::costs(l) * stride] = real[l].costs;
      column[LegDetailColumns::funding(l) * stride] = real[l].funding;
    }
    for (int a = 0; a < kLegs; ++a) {
      if (a >= h.num_accounts) break;
      column[LegDetailColumns::first_call_step(legs, a) * stride] = account_first_call[a];
      column[LegDetailColumns::collateral_shortfall(legs, a) * stride] =
          !kTracksShadow ? std::numeric_limits<double>::quiet_NaN() : legs > 0 ? fmax(shortfall[a], 0.0) : 0.0;
    }
  }

 private:
  /// Account a's legs of `legs` (the real or the shadow set) at margin rate `rate`.
  BH_HD static AccountExposure exposure(const HedgeView& h, const HedgeState (&legs)[kLegs],
                                        const LegPrices<kLegs>& s, int a, double rate) {
    AccountExposure e;
    for (int l = 0; l < kLegs; ++l) {
      if (l >= h.num_legs) break;
      if (account_of(h.legs[l]) == a) add_leg(e, h.legs[l], legs[l], s.s[l], rate);
    }
    return e;
  }

  BH_HD static bool any_open(const HedgeView& h, const HedgeState (&legs)[kLegs]) {
    bool open = false;
    for (int l = 0; l < kLegs; ++l) {
      if (l >= h.num_legs) break;
      open = open || legs[l].active;
    }
    return open;
  }

  /// The portfolio's beta plus every leg's, at book value `value`.
  BH_HD static double book_beta(const HedgeView& h, const HedgeState (&legs)[kLegs], const LegPrices<kLegs>& s,
                                int regime, double portfolio_beta, double value) {
    double beta = portfolio_beta;
    for (int l = 0; l < kLegs; ++l) {
      if (l >= h.num_legs) break;
      beta += hedge_beta(h.legs[l], legs[l], s.s[l], regime, value);
    }
    return beta;
  }

  /// The cost rate of a top-up's portfolio sale: the largest of the account's legs' (a one-leg
  /// account's own).
  BH_HD static double sale_cost_rate(const HedgeView& h, int a) {
    double rate = 0.0;
    for (int l = 0; l < kLegs; ++l) {
      if (l >= h.num_legs) break;
      if (account_of(h.legs[l]) == a) rate = fmax(rate, h.legs[l].cost_rate);
    }
    return rate;
  }

  /// The margin rule on called account a, whose equity is `equity`, with the portfolio worth
  /// `portfolio_value` at holdings_scale: top up (top_up), or close the account's legs
  /// (liquidate, or a top-up with nothing left to sell or that had to sell the whole portfolio:
  /// with no book left, the hedge would be a naked position, and the book's beta 0/0).
  BH_HD void apply_margin_rule(const HedgeView& h, const LegPrices<kLegs>& s, int a, double equity,
                               double portfolio_value) {
    if (h.top_up && portfolio_value > 0.0) {
      const double initial = exposure(h, real, s, a, h.initial_rate).requirement;
      if (!top_up(account[a], equity, initial, sale_cost_rate(h, a), portfolio_value, holdings_scale)) return;
    }
    for (int l = 0; l < kLegs; ++l) {
      if (l >= h.num_legs) break;
      const LegView& leg = h.legs[l];
      if (account_of(leg) != a) continue;
      trade_to<kLegTotals>(leg, real[l], account[a], 0.0, s.s[l]);
      real[l].active = false;
    }
    liquidated = 1.0;
  }
};

}  // namespace betahedge
