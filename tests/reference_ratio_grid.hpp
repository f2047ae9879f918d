#pragma once
/// The brute-force reference for the ratio-grid rider (tests only): a verbatim copy of the former
/// simulate_ratio_grid_path of include/betahedge/path_simulation.hpp, which carries one full hedge
/// account per grid ratio through every step (mark, funding, margin rule per ratio per step).
#include <cstdint>

#include "betahedge/hedging.hpp"
#include "betahedge/path_simulation.hpp"
#include "betahedge/path_types.hpp"

namespace betahedge::test {

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

}  // namespace betahedge::test
