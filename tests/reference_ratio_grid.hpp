#pragma once
/// The brute-force reference for the ratio-grid rider (tests only): a copy of the former
/// simulate_ratio_grid_path of include/betahedge/path_simulation.hpp, which carries one full hedge
/// account per grid ratio through every step (mark, funding, margin rule per ratio per step), on
/// the book's one leg (legs[0], account 0).
#include <cstdint>

#include "betahedge/hedging.hpp"
#include "betahedge/path_simulation.hpp"
#include "betahedge/path_types.hpp"

namespace betahedge::test {

/// The margin rule on an account of one leg (HedgeBook's, step by step): after a mark, when the
/// account (collateral + account.pnl) is called, top up or close the leg. Returns true on a call.
BH_HD bool apply_one_leg_margin_rule(const HedgeView& h, const LegView& leg, HedgeState& st, AccountTotals& account,
                                     double collateral, double s, double portfolio_value, double& holdings_scale) {
  AccountExposure maintenance;
  add_leg(maintenance, leg, st, s, h.maintenance_rate);
  const double equity = collateral + account.pnl;
  if (!margin_call_due(collateral, equity, maintenance)) return false;
  if (h.top_up && portfolio_value > 0.0) {
    AccountExposure initial;
    add_leg(initial, leg, st, s, h.initial_rate);
    if (!top_up(account, equity, initial.requirement, leg.cost_rate, portfolio_value, holdings_scale)) return true;
  }
  trade_to(leg, st, account, 0.0, s);
  st.active = false;
  return true;
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
BH_HD void reference_ratio_grid_path(const SimulationView& v, Generator& gen, const OutcomeColumns& out,
                                     std::uint64_t index) {
  RandomDraws<Generator> draws(gen);
  const MarketView& m = v.market;
  const HedgeView& h = v.hedge;
  const LegView& leg = h.legs[0];
  const double collateral = h.collateral[0];
  const int count = h.num_grid_ratios;
  const double dt_days = 1.0 / m.steps_per_day;
  double log_price[kCapacity];
  for (int i = 0; i < kCapacity; ++i) log_price[i] = 0.0;

  int regime = initial_regime(m, draws);
  const double spot_benchmark = m.spot[leg.benchmark];
  const double value0 = v.portfolio.initial_value;
  HedgeState unit;  // ratio 1, no margin action: the contract's clock and mark for every account
  AccountTotals unit_account;
  start_contract(leg, unit, spot_benchmark, regime);
  HedgeState accounts[kMaxGridRatios];
  AccountTotals totals[kMaxGridRatios];
  double scale[kMaxGridRatios];
  bool called[kMaxGridRatios];
  const double units_per_ratio = static_units(leg, 1.0, value0, spot_benchmark, unit);
  for (int r = 0; r < count; ++r) {
    accounts[r] = unit;
    totals[r] = AccountTotals{};
    trade_to(leg, accounts[r], totals[r], h.grid_ratios[r] * units_per_ratio, spot_benchmark);
    scale[r] = 1.0;
    called[r] = false;
  }
  trade_to(leg, unit, unit_account, units_per_ratio, spot_benchmark);
  double unit_shortfall = margin_requirement(leg, unit, spot_benchmark, h.maintenance_rate) - unit.pnl;
  for (int i = 0; i < kCapacity; ++i)
    if (i < m.num_assets) log_price[i] = m.initial_shock[i];

  for (int day = 1; day <= m.num_days; ++day) {
    regime = next_regime(m, regime, draws);
    for (int step = 0; step < m.steps_per_day; ++step) {
      market_step<kCapacity>(m, regime, draws, log_price);
      const int global_step = (day - 1) * m.steps_per_day + step;
      const double s = spot_benchmark * lane_exp(lane_at(log_price, leg.benchmark));
      advance_contract_clock(leg, unit, dt_days);
      const double price = instrument_price(leg, s, regime, unit.days_to_expiry, unit.strike);
      mark_to_price(leg, unit, unit_account, price, s, regime, global_step, m.steps_per_day);
      unit_shortfall = larger(unit_shortfall, margin_requirement(leg, unit, s, h.maintenance_rate) - unit.pnl);
      double portfolio_value = -1.0;  // computed on the first call of this step only
      for (int r = 0; r < count; ++r) {
        HedgeState& a = accounts[r];
        if (!a.active) continue;
        a.days_to_expiry = unit.days_to_expiry;
        mark_to_price(leg, a, totals[r], price, s, regime, global_step, m.steps_per_day);
        AccountExposure maintenance;
        add_leg(maintenance, leg, a, s, h.maintenance_rate);
        if (!margin_call_due(collateral, collateral + totals[r].pnl, maintenance)) continue;
        if (portfolio_value < 0.0) portfolio_value = mark_portfolio<kCapacity>(v, log_price).value;
        apply_one_leg_margin_rule(h, leg, a, totals[r], collateral, s, scale[r] * portfolio_value, scale[r]);
        called[r] = true;
      }
    }
    const double s = spot_benchmark * lane_exp(lane_at(log_price, leg.benchmark));
    const bool roll_due =
        (leg.kind == HedgeKind::future && unit.days_to_expiry <= leg.roll_days_before + kExpiryEpsilonDays) ||
        (leg.kind == HedgeKind::option && unit.days_to_expiry <= kExpiryEpsilonDays);
    if (!roll_due) continue;
    const PortfolioMark now = mark_portfolio<kCapacity>(v, log_price);
    const HedgeProgramme grid_programme{false, 0.0};  // static hedges whatever the book's own
    for (int r = 0; r < count; ++r)
      roll_if_due(leg, grid_programme, accounts[r], totals[r], s, regime, scale[r] * now.value, now.beta,
                  h.grid_ratios[r]);
    roll_if_due(leg, grid_programme, unit, unit_account, s, regime, now.value, now.beta, 1.0);
  }

  const double final_value = mark_portfolio<kCapacity>(v, log_price).value;
  double* base = out.base + index;
  for (int r = 0; r < count; ++r) {
    base[RatioGridColumns::pnl(r) * out.stride] = scale[r] * final_value - value0 + totals[r].pnl;
    base[RatioGridColumns::called(r) * out.stride] = called[r] ? 1.0 : 0.0;
  }
  base[RatioGridColumns::unhedged(count) * out.stride] = final_value - value0;
  base[RatioGridColumns::unit_hedge_pnl(count) * out.stride] = unit.pnl;
  base[RatioGridColumns::unit_shortfall(count) * out.stride] = fmax(unit_shortfall, 0.0);
}

}  // namespace betahedge::test
