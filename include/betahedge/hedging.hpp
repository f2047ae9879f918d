#pragma once
/// Hedge instruments (legs), the hedge programme and the margin accounts, shared by both backends.
///
/// Units and conventions:
/// - `units` of a leg's instrument, negative = short. A linear leg (perpetual, future) is short
///   for a long portfolio; an option leg is bought (units > 0) or written (units < 0).
/// - Prices, S the leg's underlying: perpetual = S; future = S exp(basis_k tau), tau = days to
///   expiry / 365; option = Black-Scholes at implied vol_k (regime k's vol of the underlying x
///   sqrt(365) x premium).
/// - A margin account's equity = collateral + pnl, where pnl accumulates its legs' units x price
///   changes, funding and costs (and the cash of top-ups). Trades happen at the mark, so a trade
///   changes pnl only by its cost = cost_rate x traded notional (linear: |d units| x price;
///   options: |d units| x S).
/// - Margin requirement of a leg at rate m: linear, m x |units| x price; a written option
///   (units < 0), m x |units| x S, on its underlying's notional (its mark-to-market, the premium
///   it would cost to buy back, is already in the account's equity); a bought option, 0 (its
///   loss is the premium already paid). An account's requirement is the sum over its legs.
/// - Beta of portfolio plus hedge = beta_p + sum over legs of units x delta x S x beta_leg / V,
///   with beta_p the value-weighted asset betas, delta = d price / d S and beta_leg the believed
///   beta of the leg's underlying to the reference benchmark (1 for the reference itself).
/// - A dynamic trade needs beta exposure c = (target - beta_p) V, split among the legs by their
///   weights: units_l = weight_l c / (delta_l S_l beta_l).
#include <cmath>

#include "betahedge/bh_hd.hpp"
#include "betahedge/black_scholes.hpp"
#include "betahedge/path_types.hpp"

namespace betahedge {

inline constexpr double kDaysPerYear = 365.0;  // crypto trades every calendar day
inline constexpr double kExpiryEpsilonDays = 1e-9;
/// The most underlying notional, in multiples of the book's value, a dynamic option leg holds
/// (the bound of hedge.ratio's range, [-10, 10]).
inline constexpr double kMaxDynamicOptionRatio = 10.0;
/// margin_call_due forgives rounding of this much of the account's scale, |collateral| + sum |units x price|.
inline constexpr double kMarginForgiveness = 1e-12;

/// One leg's position and its own share of the account: what the leg detail reports.
struct HedgeState {
  double units = 0.0;
  double price = 0.0;           ///< instrument mark at the last step
  double pnl = 0.0;             ///< the leg's marks, funding and costs (its account's pnl adds the top-ups' cash)
  double days_to_expiry = 0.0;  ///< future and option
  double strike = 0.0;          ///< option
  double costs = 0.0;           ///< the leg's fees, slippage and roll costs
  double funding = 0.0;         ///< perpetual funding paid (negative: received)
  bool active = true;           ///< false once its account is liquidated
};

/// A margin account's running totals, booked in the order things happen (so that an account of
/// one leg adds its numbers exactly as that leg alone did before accounts held several).
struct AccountTotals {
  double pnl = 0.0;    ///< equity - collateral: its legs' marks, funding and costs, and the top-ups' cash
  double costs = 0.0;  ///< its legs' costs and the top-ups' portfolio sale costs
  double cash = 0.0;   ///< moved in by top-ups
};

/// What the dynamic programme reads besides the legs, passed beside the view so that the band
/// sweep's pairs, each at its own target, share one view.
struct HedgeProgramme {
  bool dynamic = false;
  double target_beta = 0.0;
};

BH_HD HedgeProgramme programme_of(const HedgeView& h) { return {h.dynamic, h.target_beta}; }

BH_HD BlackScholesInputs option_inputs(const LegView& leg, double s, int regime, double days_to_expiry,
                                       double strike) {
  return {s, strike, days_to_expiry / kDaysPerYear, leg.implied_vol[regime], leg.option_rate, 0.0};
}

BH_HD OptionKind option_kind(const LegView& leg) { return leg.option_is_call ? OptionKind::call : OptionKind::put; }

/// Instrument price for underlying price s in `regime`.
BH_HD double instrument_price(const LegView& leg, double s, int regime, double days_to_expiry, double strike) {
  switch (leg.kind) {
    case HedgeKind::future: return s * exp(leg.annual_basis[regime] * days_to_expiry / kDaysPerYear);
    case HedgeKind::option:
      return black_scholes_price(option_kind(leg), option_inputs(leg, s, regime, days_to_expiry, strike));
    default: return s;
  }
}

/// d price / d S.
BH_HD double instrument_delta(const LegView& leg, double s, int regime, double days_to_expiry, double strike) {
  switch (leg.kind) {
    case HedgeKind::future: return exp(leg.annual_basis[regime] * days_to_expiry / kDaysPerYear);
    case HedgeKind::option:
      return black_scholes_greeks(option_kind(leg), option_inputs(leg, s, regime, days_to_expiry, strike)).delta;
    default: return 1.0;
  }
}

/// Notional of one unit for costs: the mark for linear legs, S for options.
BH_HD double notional_per_unit(const LegView& leg, const HedgeState& st, double s) {
  return leg.kind == HedgeKind::option ? s : st.price;
}

/// The leg's margin requirement at `rate`, s its underlying's price: rate x |units| x price
/// (linear), rate x |units| x s (a written option), 0 for a bought option or a closed leg.
BH_HD double margin_requirement(const LegView& leg, const HedgeState& st, double s, double rate) {
  if (!st.active) return 0.0;
  if (leg.kind == HedgeKind::option) return st.units < 0.0 ? rate * fabs(st.units) * s : 0.0;
  return rate * fabs(st.units) * st.price;
}

/// What the margin rule reads of an account's legs at a mark: the sum of their requirements, the
/// sum of |units x price| (the scale its rounding is forgiven at) and whether any is open.
struct AccountExposure {
  double requirement = 0.0;
  double scale = 0.0;
  bool active = false;
};

/// Adds a leg to `e`: its requirement at `rate`, s its underlying's price.
BH_HD void add_leg(AccountExposure& e, const LegView& leg, const HedgeState& st, double s, double rate) {
  e.requirement += margin_requirement(leg, st, s, rate);
  e.scale += fabs(st.units * st.price);
  e.active = e.active || st.active;
}

/// A margin call is due when equity < the maintenance requirement. Equity is a sum of marks and
/// costs that should cancel exactly in some cases (worthless bought options, collateral set to
/// the least that avoids calls), so the comparison forgives rounding: 1e-12 of the account's
/// scale, |collateral| + sum |units x price|.
BH_HD bool margin_call_due(double collateral, double equity, const AccountExposure& maintenance) {
  const double scale = fabs(collateral) + maintenance.scale;
  return maintenance.active && equity < maintenance.requirement - kMarginForgiveness * scale;
}

/// Funding payments (one every 8 hours) falling in global step g of steps_per_day a day:
/// floor(3 (g+1) / spd) - floor(3 g / spd), three a day whatever spd is.
BH_HD int funding_payments(int global_step, int steps_per_day) {
  if (steps_per_day == 1) return 3;  // daily steps, the usual case, without two integer divisions
  return (3 * (global_step + 1)) / steps_per_day - (3 * global_step) / steps_per_day;
}

// The functions below book a leg's P&L on its account and, with kLegTotals, on the leg's own
// totals too (HedgeState pnl, costs, funding: the leg detail). Books that never read those (the
// band sweep's, the shadow accounts, the ratio grid's unit) leave them out at compile time.

/// Books a cost on the account and, kLegTotals, on the leg.
template <bool kLegTotals = true>
BH_HD void pay_cost(HedgeState& st, AccountTotals& account, double cost) {
  if constexpr (kLegTotals) {
    st.pnl -= cost;
    st.costs += cost;
  }
  account.pnl -= cost;
  account.costs += cost;
}

template <bool kLegTotals = true>
BH_HD void trade_to(const LegView& leg, HedgeState& st, AccountTotals& account, double new_units, double s) {
  pay_cost<kLegTotals>(st, account, leg.cost_rate * fabs(new_units - st.units) * notional_per_unit(leg, st, s));
  st.units = new_units;
}

/// Units that give the leg its weight of the beta exposure the target needs:
/// weight x (target - beta_p) V / (delta S beta_leg).
BH_HD double units_for_target_beta(const LegView& leg, double target_beta, double beta_portfolio, double value,
                                   double s, int regime, const HedgeState& st) {
  const double delta = instrument_delta(leg, s, regime, st.days_to_expiry, st.strike);
  const double exposure_per_unit = delta * s * leg.beta;
  // A worthless option, or an underlying the book believes uncorrelated, cannot hedge.
  if (fabs(exposure_per_unit) < 1e-300) return st.units;
  const double units = leg.weight * ((target_beta - beta_portfolio) * value) / exposure_per_unit;
  if (leg.kind != HedgeKind::option) return units;
  // An option far out of the money near expiry has a vanishing delta: the target would take
  // unbounded units of it (1e20 puts, and their costs). A desk holds at most the ratios' range,
  // kMaxDynamicOptionRatio x V of underlying notional; beyond it the beta is left off target.
  const double most = kMaxDynamicOptionRatio * fabs(value) / s;
  return fmin(fmax(units, -most), most);
}

/// Units of a static leg: notional `ratio` x V, short for linear legs, bought for options.
BH_HD double static_units(const LegView& leg, double ratio, double value, double s, const HedgeState& st) {
  return ratio * (leg.kind == HedgeKind::option ? value / s : -value / st.price);
}

/// The leg's part of the book's beta: units x delta x S x beta_leg / V.
BH_HD double hedge_beta(const LegView& leg, const HedgeState& st, double s, int regime, double value) {
  if (!st.active || st.units == 0.0) return 0.0;
  return st.units * instrument_delta(leg, s, regime, st.days_to_expiry, st.strike) * s * leg.beta / value;
}

/// Sets up a fresh contract (t0 or a roll): expiry, strike and mark at underlying price s.
BH_HD void start_contract(const LegView& leg, HedgeState& st, double s, int regime) {
  if (leg.kind == HedgeKind::future) st.days_to_expiry = leg.expiry_days;
  if (leg.kind == HedgeKind::option) {
    st.days_to_expiry = leg.tenor_days;
    st.strike = leg.strike_fraction * s;
  }
  st.price = instrument_price(leg, s, regime, st.days_to_expiry, st.strike);
}

/// The leg's units under the programme: its static ratio, or its weight of the dynamic target.
BH_HD double programme_units(const LegView& leg, const HedgeProgramme& p, double ratio, double value,
                             double beta_portfolio, double s, int regime, const HedgeState& st) {
  return p.dynamic ? units_for_target_beta(leg, p.target_beta, beta_portfolio, value, s, regime, st)
                   : static_units(leg, ratio, value, s, st);
}

/// Opens the leg at t0: static ratio, or its share of the dynamic target.
template <bool kLegTotals = true>
BH_HD void open_hedge(const LegView& leg, const HedgeProgramme& p, HedgeState& st, AccountTotals& account, double s,
                      int regime, double value, double beta_portfolio) {
  start_contract(leg, st, s, regime);
  trade_to<kLegTotals>(leg, st, account, programme_units(leg, p, leg.ratio, value, beta_portfolio, s, regime, st), s);
}

/// Moves the contract's clock on by dt_days (futures and options expire; perpetuals do not).
BH_HD void advance_contract_clock(const LegView& leg, HedgeState& st, double dt_days) {
  if (leg.kind == HedgeKind::future || leg.kind == HedgeKind::option)
    st.days_to_expiry = fmax(st.days_to_expiry - dt_days, 0.0);
}

/// Books the move of the mark to `price` (underlying at s), with funding for perpetuals.
template <bool kLegTotals = true>
BH_HD void mark_to_price(const LegView& leg, HedgeState& st, AccountTotals& account, double price, double s,
                         int regime, int global_step, int steps_per_day) {
  const double move = st.units * (price - st.price);
  if constexpr (kLegTotals) st.pnl += move;
  account.pnl += move;
  st.price = price;
  if (leg.kind == HedgeKind::perpetual) {
    const double funding = st.units * s * leg.funding_rate[regime] * funding_payments(global_step, steps_per_day);
    if constexpr (kLegTotals) {
      st.pnl -= funding;
      st.funding += funding;
    }
    account.pnl -= funding;
  }
}

/// Marks the leg to underlying price s after a step of dt_days.
template <bool kLegTotals = true>
BH_HD void mark_hedge(const LegView& leg, HedgeState& st, AccountTotals& account, double s, int regime,
                      double dt_days, int global_step, int steps_per_day) {
  if (!st.active) return;
  advance_contract_clock(leg, st, dt_days);
  mark_to_price<kLegTotals>(leg, st, account, instrument_price(leg, s, regime, st.days_to_expiry, st.strike), s,
                            regime, global_step, steps_per_day);
}

/// The cash a top-up moves into a called account (apply_margin_rule): the portfolio, worth
/// `portfolio_value` at holdings_scale, is sold pro rata at `cost_rate` so that the account's
/// equity net of the sale's costs is back at its initial margin. Books the cash and the sale's
/// cost on the account and scales the holdings; returns true when it had to sell the whole
/// portfolio (whose proceeds then fall short), and the caller closes the account's legs.
BH_HD bool top_up(AccountTotals& account, double equity, double initial_requirement, double cost_rate,
                  double portfolio_value, double& holdings_scale) {
  double needed = initial_requirement - equity;
  double gross = needed / (1.0 - cost_rate);
  const bool sells_everything = gross >= portfolio_value;
  if (sells_everything) {
    gross = portfolio_value;
    needed = gross * (1.0 - cost_rate);
  }
  holdings_scale = sells_everything ? 0.0 : holdings_scale * (1.0 - gross / portfolio_value);
  account.pnl += needed;
  account.cash += needed;
  account.costs += gross - needed;
  return sells_everything;
}

/// End-of-day contract events of a leg: a future rolls roll_days_before expiry into a new
/// contract of the same notional at roll_cost_rate; an expired option settles at its payoff (its
/// last mark) and is replaced by a new one (static: `ratio` x V of notional; dynamic: its share
/// of the target).
template <bool kLegTotals = true>
BH_HD void roll_if_due(const LegView& leg, const HedgeProgramme& p, HedgeState& st, AccountTotals& account, double s,
                       int regime, double value, double beta_portfolio, double ratio) {
  if (!st.active) return;
  if (leg.kind == HedgeKind::future && st.days_to_expiry <= leg.roll_days_before + kExpiryEpsilonDays) {
    const double notional = st.units * st.price;
    pay_cost<kLegTotals>(st, account, leg.roll_cost_rate * fabs(notional));
    start_contract(leg, st, s, regime);
    st.units = notional / st.price;
  } else if (leg.kind == HedgeKind::option && st.days_to_expiry <= kExpiryEpsilonDays) {
    st.units = 0.0;  // settled in cash at the payoff already marked
    start_contract(leg, st, s, regime);
    trade_to<kLegTotals>(leg, st, account, programme_units(leg, p, ratio, value, beta_portfolio, s, regime, st), s);
  }
}

}  // namespace betahedge
