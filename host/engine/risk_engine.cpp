#include "engine/risk_engine.hpp"

#include <cmath>
#include <cstdio>

#include "betahedge/hedging.hpp"

namespace betahedge {
namespace {

std::string probability_key(double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", p);
  return buf;
}

/// Portfolio-plus-hedge beta at t0, in the most likely initial regime.
double start_beta(const SimulationTables& tables) {
  const SimulationView v = tables.view(tables.data.data());
  double beta_value = 0.0;
  for (int i = 0; i < v.market.num_assets; ++i)
    beta_value += v.portfolio.holdings[i] * v.market.spot[i] * v.portfolio.asset_beta[i];
  const double value = v.portfolio.initial_value;
  const double beta_portfolio = beta_value / value;
  if (v.hedge.kind == HedgeKind::none) return beta_portfolio;
  int regime = 0;
  double previous = 0.0, best = -1.0;
  for (int k = 0; k < v.market.num_regimes; ++k) {
    const double p = v.market.initial_cdf[k] - previous;
    previous = v.market.initial_cdf[k];
    if (p > best) best = p, regime = k;
  }
  const double s = v.market.spot[v.hedge.benchmark];
  HedgeState st;
  open_hedge(v.hedge, st, s, regime, value, beta_portfolio);
  return beta_portfolio + hedge_beta(v.hedge, st, s, regime, value);
}

}  // namespace

double ordered_mean(const std::vector<double>& x) {
  return x.empty() ? 0.0 : ordered_sum(x.data(), x.size()) / static_cast<double>(x.size());
}

std::pair<double, double> hedge_effectiveness(const std::vector<double>& u, const std::vector<double>& h) {
  const std::size_t n = u.size();
  const double mu = ordered_mean(u), mh = ordered_mean(h);
  std::vector<double> x2(n), y2(n), x4(n), y4(n), x2y2(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double x = (u[i] - mu) * (u[i] - mu), y = (h[i] - mh) * (h[i] - mh);
    x2[i] = x;
    y2[i] = y;
    x4[i] = x * x;
    y4[i] = y * y;
    x2y2[i] = x * y;
  }
  const double b = ordered_mean(x2), a = ordered_mean(y2);
  if (!(b > 0.0)) return {0.0, 0.0};
  const double nd = static_cast<double>(n);
  const double var_a = (ordered_mean(y4) - a * a) / nd;
  const double var_b = (ordered_mean(x4) - b * b) / nd;
  const double cov_ab = (ordered_mean(x2y2) - a * b) / nd;
  const double variance = var_a / (b * b) + a * a * var_b / (b * b * b * b) - 2.0 * a * cov_ab / (b * b * b);
  return {1.0 - a / b, std::sqrt(std::fmax(variance, 0.0))};
}

ScenarioResult evaluate_scenario(const std::string& name, PathBackend& backend, const SimulationTables& tables,
                                 const BookConfig& book) {
  const SimulationConfig& sim = book.simulation;
  backend.simulate(tables, sim.paths, sim.batch_size);
  ScenarioResult r;
  r.name = name;
  r.unhedged = estimate_pnl_statistics(*backend.sorted_losses(OutcomeField::pnl_unhedged), book.risk.levels);
  r.hedged = estimate_pnl_statistics(*backend.sorted_losses(OutcomeField::pnl_hedged), book.risk.levels);
  std::tie(r.hedge_effectiveness, r.hedge_effectiveness_se) =
      hedge_effectiveness(backend.outcome(OutcomeField::pnl_unhedged), backend.outcome(OutcomeField::pnl_hedged));

  const double n = static_cast<double>(sim.paths);
  const HedgeView& hedge = tables.scalars.hedge;
  MarginResult& m = r.margin;
  m.collateral = hedge.collateral;
  const std::vector<double> first_call = backend.outcome(OutcomeField::first_call_step);
  std::vector<double> called(first_call.size()), call_days;
  for (std::size_t i = 0; i < first_call.size(); ++i) {
    called[i] = first_call[i] >= 0.0 ? 1.0 : 0.0;
    if (first_call[i] >= 0.0) call_days.push_back(first_call[i] / sim.steps_per_day);
  }
  m.call_probability = ordered_mean(called);
  m.call_probability_se = std::sqrt(m.call_probability * (1.0 - m.call_probability) / n);
  m.liquidation_probability = ordered_mean(backend.outcome(OutcomeField::liquidated));
  if (!call_days.empty()) m.mean_first_call_day = ordered_mean(call_days);
  const auto shortfall = backend.sorted_values(OutcomeField::collateral_shortfall);
  const double p = book.risk.max_call_probability;
  const auto allowed_calls = static_cast<std::uint64_t>(std::floor(p * n + 1e-9));
  const std::uint64_t rank = sim.paths > allowed_calls ? sim.paths - allowed_calls : 0;
  m.collateral_for_call_probability.emplace_back(probability_key(p), rank > 0 ? shortfall->at(rank - 1) : 0.0);

  BetaResult& b = r.beta;
  b.target = hedge.dynamic ? hedge.target_beta : start_beta(tables);
  b.start = start_beta(tables);
  b.mean_abs_deviation = ordered_mean(backend.outcome(OutcomeField::beta_deviation));
  b.mean_rebalances = ordered_mean(backend.outcome(OutcomeField::rebalances));
  b.mean_costs = ordered_mean(backend.outcome(OutcomeField::costs));
  return r;
}

}  // namespace betahedge
