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
  const std::uint64_t n = u.size();
  const double nd = static_cast<double>(n);
  const double mu = ordered_mean(u), mh = ordered_mean(h);
  // Second and fourth central moments, summed in fixed blocks without temporaries.
  auto moment = [&](auto term) { return ordered_sum_of(n, term) / nd; };
  const double b = moment([&](std::uint64_t i) { return (u[i] - mu) * (u[i] - mu); });
  const double a = moment([&](std::uint64_t i) { return (h[i] - mh) * (h[i] - mh); });
  if (!(b > 0.0)) return {0.0, 0.0};
  const double y4 = moment([&](std::uint64_t i) { const double y = (h[i] - mh) * (h[i] - mh); return y * y; });
  const double x4 = moment([&](std::uint64_t i) { const double x = (u[i] - mu) * (u[i] - mu); return x * x; });
  const double x2y2 = moment([&](std::uint64_t i) { return (u[i] - mu) * (u[i] - mu) * (h[i] - mh) * (h[i] - mh); });
  const double var_a = (y4 - a * a) / nd;
  const double var_b = (x4 - b * b) / nd;
  const double cov_ab = (x2y2 - a * b) / nd;
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
  const double calls = ordered_sum_of(first_call.size(), [&](std::uint64_t i) { return first_call[i] >= 0.0 ? 1.0 : 0.0; });
  const double call_step_sum =
      ordered_sum_of(first_call.size(), [&](std::uint64_t i) { return first_call[i] >= 0.0 ? first_call[i] : 0.0; });
  m.call_probability = calls / n;
  m.call_probability_se = std::sqrt(m.call_probability * (1.0 - m.call_probability) / n);
  m.liquidation_probability = ordered_mean(backend.outcome(OutcomeField::liquidated));
  if (calls > 0.0) m.mean_first_call_day = call_step_sum / calls / sim.steps_per_day;
  const auto shortfall = backend.sorted_values(OutcomeField::collateral_shortfall);
  const double p = book.risk.max_call_probability;
  const auto allowed_calls = static_cast<std::uint64_t>(std::floor(p * n + 1e-9));
  const std::uint64_t rank = sim.paths > allowed_calls ? sim.paths - allowed_calls : 0;
  m.collateral_for_call_probability.emplace_back(probability_key(p), rank > 0 ? shortfall->at(rank - 1) : 0.0);

  BetaResult& b = r.beta;
  b.start = start_beta(tables);
  b.target = hedge.dynamic ? hedge.target_beta : b.start;  // a static hedge aims at its own t0 beta
  b.mean_abs_deviation = ordered_mean(backend.outcome(OutcomeField::beta_deviation));
  b.mean_rebalances = ordered_mean(backend.outcome(OutcomeField::rebalances));
  b.mean_costs = ordered_mean(backend.outcome(OutcomeField::costs));
  return r;
}

}  // namespace betahedge
