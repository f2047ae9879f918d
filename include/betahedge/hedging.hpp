#pragma once
/// Hedge instruments, the hedge programme and the margin account, shared by both backends.
///
/// Units and conventions:
/// - `units` of the instrument, negative = short. A linear hedge (perpetual, future) is short
///   for a long portfolio; options are bought (units > 0).
/// - Prices: perpetual = S; future = S exp(basis_k tau), tau = days to expiry / 365;
///   option = Black-Scholes at implied vol_k (regime k's benchmark vol x sqrt(365) x premium).
/// - The hedge account's equity = collateral + pnl, where pnl accumulates units x price
///   changes, funding and costs. Trades happen at the mark, so a trade changes pnl only by its
///   cost = cost_rate x traded notional (linear: |d units| x price; options: |d units| x S).
/// - Beta of portfolio plus hedge = beta_p + units x delta x S / V, with beta_p the
///   value-weighted asset betas and delta = d price / d S.
#include <cmath>

#include "betahedge/bh_hd.hpp"
#include "betahedge/black_scholes.hpp"
#include "betahedge/path_types.hpp"

namespace betahedge {

inline constexpr double kDaysPerYear = 365.0;  // crypto trades every calendar day
inline constexpr double kExpiryEpsilonDays = 1e-9;
/// margin_call_due forgives rounding of this much of the account's scale, |collateral| + |units x price|.
inline constexpr double kMarginForgiveness = 1e-12;

struct HedgeState {
  double units = 0.0;
  double price = 0.0;           ///< instrument mark at the last step
  double pnl = 0.0;             ///< equity - collateral
  double days_to_expiry = 0.0;  ///< future and option
  double strike = 0.0;          ///< option
  double costs = 0.0;
  int rebalances = 0;
  bool active = true;           ///< false once liquidated
};

BH_HD BlackScholesInputs option_inputs(const HedgeView& h, double s, int regime, double days_to_expiry,
                                       double strike) {
  return {s, strike, days_to_expiry / kDaysPerYear, h.implied_vol[regime], h.option_rate, 0.0};
}

BH_HD OptionKind option_kind(const HedgeView& h) { return h.option_is_call ? OptionKind::call : OptionKind::put; }

/// Instrument price for benchmark price s in `regime`.
BH_HD double instrument_price(const HedgeView& h, double s, int regime, double days_to_expiry, double strike) {
  switch (h.kind) {
    case HedgeKind::future: return s * exp(h.annual_basis[regime] * days_to_expiry / kDaysPerYear);
    case HedgeKind::option:
      return black_scholes_price(option_kind(h), option_inputs(h, s, regime, days_to_expiry, strike));
    default: return s;
  }
}

/// d price / d S.
BH_HD double instrument_delta(const HedgeView& h, double s, int regime, double days_to_expiry, double strike) {
  switch (h.kind) {
    case HedgeKind::future: return exp(h.annual_basis[regime] * days_to_expiry / kDaysPerYear);
    case HedgeKind::option:
      return black_scholes_greeks(option_kind(h), option_inputs(h, s, regime, days_to_expiry, strike)).delta;
    default: return 1.0;
  }
}

/// Notional of one unit for costs and margin: the mark for linear hedges, S for options.
BH_HD double notional_per_unit(const HedgeView& h, const HedgeState& st, double s) {
  return h.kind == HedgeKind::option ? s : st.price;
}

/// The maintenance requirement: maintenance_rate x |units| x price. Bought options carry no
/// margin (their loss is the premium already paid), so their requirement is 0.
BH_HD double margin_requirement(const HedgeView& h, const HedgeState& st, double rate) {
  if (h.kind == HedgeKind::option || !st.active) return 0.0;
  return rate * fabs(st.units) * st.price;
}

/// A margin call is due when equity < maintenance requirement. Equity is a sum of marks and
/// costs that should cancel exactly in some cases (worthless bought options, collateral set to
/// the least that avoids calls), so the comparison forgives rounding: 1e-12 of the account's scale.
BH_HD bool margin_call_due(const HedgeView& h, const HedgeState& st, double equity) {
  const double requirement = margin_requirement(h, st, h.maintenance_rate);
  const double scale = fabs(h.collateral) + fabs(st.units * st.price);
  return st.active && equity < requirement - kMarginForgiveness * scale;
}

/// Funding payments (one every 8 hours) falling in global step g of steps_per_day a day:
/// floor(3 (g+1) / spd) - floor(3 g / spd), three a day whatever spd is.
BH_HD int funding_payments(int global_step, int steps_per_day) {
  if (steps_per_day == 1) return 3;  // daily steps, the usual case, without two integer divisions
  return (3 * (global_step + 1)) / steps_per_day - (3 * global_step) / steps_per_day;
}

BH_HD void trade_to(const HedgeView& h, HedgeState& st, double new_units, double s) {
  const double cost = h.cost_rate * fabs(new_units - st.units) * notional_per_unit(h, st, s);
  st.pnl -= cost;
  st.costs += cost;
  st.units = new_units;
}

/// Units that bring portfolio-plus-hedge beta to the target: (target - beta_p) V / (delta S).
BH_HD double units_for_target_beta(const HedgeView& h, double beta_portfolio, double value, double s, int regime,
                                   const HedgeState& st) {
  const double delta = instrument_delta(h, s, regime, st.days_to_expiry, st.strike);
  const double exposure_per_unit = delta * s;
  if (fabs(exposure_per_unit) < 1e-300) return st.units;  // a worthless option cannot hedge
  return (h.target_beta - beta_portfolio) * value / exposure_per_unit;
}

/// Units of a static hedge: notional `ratio` x V, short for linear hedges, bought for options.
BH_HD double static_units(const HedgeView& h, double ratio, double value, double s, const HedgeState& st) {
  return ratio * (h.kind == HedgeKind::option ? value / s : -value / st.price);
}

BH_HD double hedge_beta(const HedgeView& h, const HedgeState& st, double s, int regime, double value) {
  if (!st.active || st.units == 0.0) return 0.0;
  return st.units * instrument_delta(h, s, regime, st.days_to_expiry, st.strike) * s / value;
}

/// Sets up a fresh contract (t0 or a roll): expiry, strike and mark at benchmark price s.
BH_HD void start_contract(const HedgeView& h, HedgeState& st, double s, int regime) {
  if (h.kind == HedgeKind::future) st.days_to_expiry = h.expiry_days;
  if (h.kind == HedgeKind::option) {
    st.days_to_expiry = h.tenor_days;
    st.strike = h.strike_fraction * s;
  }
  st.price = instrument_price(h, s, regime, st.days_to_expiry, st.strike);
}

/// Opens the hedge at t0: static ratio, or the dynamic target.
BH_HD void open_hedge(const HedgeView& h, HedgeState& st, double s, int regime, double value, double beta_portfolio) {
  start_contract(h, st, s, regime);
  const double units =
      h.dynamic ? units_for_target_beta(h, beta_portfolio, value, s, regime, st) : static_units(h, h.ratio, value, s, st);
  trade_to(h, st, units, s);
}

/// Moves the contract's clock on by dt_days (futures and options expire; perpetuals do not).
BH_HD void advance_contract_clock(const HedgeView& h, HedgeState& st, double dt_days) {
  if (h.kind == HedgeKind::future || h.kind == HedgeKind::option)
    st.days_to_expiry = fmax(st.days_to_expiry - dt_days, 0.0);
}

/// Books the move of the mark to `price` (benchmark at s), with funding for perpetuals.
BH_HD void mark_to_price(const HedgeView& h, HedgeState& st, double price, double s, int regime, int global_step,
                         int steps_per_day) {
  st.pnl += st.units * (price - st.price);
  st.price = price;
  if (h.kind == HedgeKind::perpetual)
    st.pnl -= st.units * s * h.funding_rate[regime] * funding_payments(global_step, steps_per_day);
}

/// Marks the hedge to benchmark price s after a step of dt_days.
BH_HD void mark_hedge(const HedgeView& h, HedgeState& st, double s, int regime, double dt_days, int global_step,
                      int steps_per_day) {
  if (!st.active) return;
  advance_contract_clock(h, st, dt_days);
  mark_to_price(h, st, instrument_price(h, s, regime, st.days_to_expiry, st.strike), s, regime, global_step,
                steps_per_day);
}

/// The margin rule after a step: on a call, top up (sell the portfolio pro rata, worth
/// `portfolio_value` at holdings_scale, so that equity net of costs is back at initial margin)
/// or liquidate (close the hedge; the portfolio runs unhedged after). A top-up with nothing
/// left to sell liquidates, and so does one that has to sell the whole portfolio: with no book
/// left, the hedge would be a naked position, and the book's beta 0/0. Returns true when a
/// call happened.
BH_HD bool apply_margin_rule(const HedgeView& h, HedgeState& st, double s, double portfolio_value,
                             double& holdings_scale, bool& liquidated) {
  const double equity = h.collateral + st.pnl;
  if (!margin_call_due(h, st, equity)) return false;
  if (h.top_up && portfolio_value > 0.0) {
    double needed = margin_requirement(h, st, h.initial_rate) - equity;
    double gross = needed / (1.0 - h.cost_rate);
    const bool sells_everything = gross >= portfolio_value;
    if (sells_everything) {
      gross = portfolio_value;
      needed = gross * (1.0 - h.cost_rate);
    }
    holdings_scale = sells_everything ? 0.0 : holdings_scale * (1.0 - gross / portfolio_value);
    st.pnl += needed;
    st.costs += gross - needed;
    if (sells_everything) {
      trade_to(h, st, 0.0, s);
      st.active = false;
      liquidated = true;
    }
  } else {
    trade_to(h, st, 0.0, s);
    st.active = false;
    liquidated = true;
  }
  return true;
}

/// End-of-day contract events: a future rolls roll_days_before expiry into a new contract of
/// the same notional at roll_cost_rate; an expired option settles at its payoff (its last
/// mark) and is replaced by a new one (static: `ratio` x V of notional; dynamic: the target).
BH_HD void roll_if_due(const HedgeView& h, HedgeState& st, double s, int regime, double value, double beta_portfolio,
                       double ratio) {
  if (!st.active) return;
  if (h.kind == HedgeKind::future && st.days_to_expiry <= h.roll_days_before + kExpiryEpsilonDays) {
    const double notional = st.units * st.price;
    const double cost = h.roll_cost_rate * fabs(notional);
    st.pnl -= cost;
    st.costs += cost;
    start_contract(h, st, s, regime);
    st.units = notional / st.price;
  } else if (h.kind == HedgeKind::option && st.days_to_expiry <= kExpiryEpsilonDays) {
    st.units = 0.0;  // settled in cash at the payoff already marked
    start_contract(h, st, s, regime);
    trade_to(h, st,
             h.dynamic ? units_for_target_beta(h, beta_portfolio, value, s, regime, st)
                       : static_units(h, ratio, value, s, st),
             s);
  }
}

}  // namespace betahedge
