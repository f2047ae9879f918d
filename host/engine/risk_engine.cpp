#include "engine/risk_engine.hpp"

#include <algorithm>
#include <functional>
#include <cmath>
#include <cstdio>

#include "engine/path_pass.hpp"
#include "engine/simulation_setup.hpp"

namespace betahedge {

std::string probability_key(double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", p);
  return buf;
}

namespace {

/// 1 - a/b and its delta-method standard error from the moments about the means:
/// a = m2(h), b = m2(u), and the fourth moments m4(h), m4(u), m22(u, h), over n paths.
std::pair<double, double> effectiveness_from_moments(long double n, long double a, long double b, long double y4,
                                                     long double x4, long double x2y2) {
  if (!(b > 0.0L)) return {0.0, 0.0};
  const long double var_a = (y4 - a * a) / n;
  const long double var_b = (x4 - b * b) / n;
  const long double cov_ab = (x2y2 - a * b) / n;
  const long double variance = var_a / (b * b) + a * a * var_b / (b * b * b * b) - 2.0L * a * cov_ab / (b * b * b);
  return {static_cast<double>(1.0L - a / b), static_cast<double>(std::sqrt(std::max(variance, 0.0L)))};
}

}  // namespace

std::pair<double, double> hedge_effectiveness(const OutcomeReduction& reduced) {
  const long double n = static_cast<long double>(reduced.paths_added());
  const auto e = [&](OutcomeSum s) { return reduced.sum(s).extended_value() / n; };  // E[...]
  const long double mu = e(OutcomeSum::u), nu = e(OutcomeSum::h);
  const long double uu = e(OutcomeSum::uu), hh = e(OutcomeSum::hh);
  // Moments about the means from the raw moments (binomial expansion).
  const long double b = uu - mu * mu;
  const long double a = hh - nu * nu;
  const long double x4 =
      e(OutcomeSum::uuuu) - 4.0L * mu * e(OutcomeSum::uuu) + 6.0L * mu * mu * uu - 3.0L * mu * mu * mu * mu;
  const long double y4 =
      e(OutcomeSum::hhhh) - 4.0L * nu * e(OutcomeSum::hhh) + 6.0L * nu * nu * hh - 3.0L * nu * nu * nu * nu;
  const long double x2y2 = e(OutcomeSum::uuhh) - 2.0L * nu * e(OutcomeSum::uuh) + nu * nu * uu -
                           2.0L * mu * e(OutcomeSum::uhh) + 4.0L * mu * nu * e(OutcomeSum::uh) + mu * mu * hh -
                           3.0L * mu * mu * nu * nu;
  return effectiveness_from_moments(n, a, b, y4, x4, x2y2);
}

std::pair<double, double> hedge_effectiveness(const std::vector<double>& u, const std::vector<double>& h) {
  const long double n = static_cast<long double>(u.size());
  long double mu = 0.0L, nu = 0.0L;
  for (std::size_t i = 0; i < u.size(); ++i) mu += u[i], nu += h[i];
  mu /= n, nu /= n;
  long double a = 0.0L, b = 0.0L, x4 = 0.0L, y4 = 0.0L, x2y2 = 0.0L;
  for (std::size_t i = 0; i < u.size(); ++i) {
    const long double x2 = (u[i] - mu) * (u[i] - mu), y2 = (h[i] - nu) * (h[i] - nu);
    b += x2, a += y2, x4 += x2 * x2, y4 += y2 * y2, x2y2 += x2 * y2;
  }
  return effectiveness_from_moments(n, a / n, b / n, y4 / n, x4 / n, x2y2 / n);
}

std::vector<double> collateral_probabilities(const RiskConfig& risk) {
  std::vector<double> ps{risk.max_call_probability};
  for (double p : kCollateralLadder)
    if (p != risk.max_call_probability) ps.push_back(p);
  std::sort(ps.begin() + 1, ps.end(), std::greater<>());
  return ps;
}

ReductionPlan scenario_plan(const BookConfig& book) {
  ReductionPlan plan;
  plan.paths = book.simulation.paths;
  plan.levels = book.risk.levels;
  plan.steps = book.simulation.horizon_days * book.simulation.steps_per_day;
  const std::vector<double> ps = collateral_probabilities(book.risk);
  plan.max_call_probability = *std::max_element(ps.begin(), ps.end());
  return plan;
}

ScenarioResult scenario_result(const std::string& name, const OutcomeReduction& reduced, const SimulationTables& tables,
                               const BookConfig& book) {
  const std::uint64_t paths = reduced.paths_added();
  const double n = static_cast<double>(paths);
  const auto mean_of = [&](OutcomeSum s) { return reduced.sum(s).value() / n; };
  const auto loss_moments = [&](OutcomeSum sum, OutcomeSum squares) {
    SampleMoments m = moments_from_sums(paths, reduced.sum(sum), reduced.sum(squares));
    m.mean = -m.mean;  // of the losses, -P&L
    return m;
  };
  ScenarioResult r;
  r.name = name;
  r.unhedged = estimate_pnl_statistics(loss_moments(OutcomeSum::u, OutcomeSum::uu), reduced.unhedged_losses(),
                                       book.risk.levels);
  r.hedged = estimate_pnl_statistics(loss_moments(OutcomeSum::h, OutcomeSum::hh), reduced.hedged_losses(),
                                     book.risk.levels);
  std::tie(r.hedge_effectiveness, r.hedge_effectiveness_se) = hedge_effectiveness(reduced);

  const HedgeView& hedge = tables.scalars.hedge;
  MarginResult& m = r.margin;
  m.collateral = total_collateral(hedge);
  const double calls = reduced.sum(OutcomeSum::paths_called).value();
  m.call_probability = calls / n;
  m.call_probability_se = std::sqrt(m.call_probability * (1.0 - m.call_probability) / n);
  m.liquidation_probability = mean_of(OutcomeSum::liquidated);
  m.early_call_probability = mean_of(OutcomeSum::paths_called_early);
  if (calls > 0.0)
    m.mean_first_call_day = reduced.sum(OutcomeSum::first_call_steps).value() / calls / book.simulation.steps_per_day;
  if (reduced.plan().collateral_shortfalls) {
    const TailSample shortfall = reduced.collateral_shortfalls();
    for (double p : collateral_probabilities(book.risk))
      m.collateral_for_call_probability.emplace_back(probability_key(p), collateral_for_call_probability(shortfall, p));
  }

  BetaResult& b = r.beta;
  b.start = start_beta(tables);
  b.target = hedge.target_beta;  // a static hedge's is its own t0 beta (build_simulation_tables)
  b.mean_abs_deviation = mean_of(OutcomeSum::beta_deviation);
  b.mean_rebalances = mean_of(OutcomeSum::rebalances);
  b.mean_costs = mean_of(OutcomeSum::costs);
  r.peak_tail_values = reduced.peak_tail_values();
  return r;
}

ScenarioResult evaluate_scenario(const std::string& name, PathBackend& backend, const SimulationTables& tables,
                                 const BookConfig& book) {
  const OutcomeReduction reduced =
      run_path_pass(backend, tables, PathProgram::outcomes, scenario_plan(book), book.simulation.batch_size);
  return scenario_result(name, reduced, tables, book);
}

}  // namespace betahedge
