#include "backtest/backtest_evaluation.hpp"

#include <cstdio>

#include "engine/risk_engine.hpp"

namespace betahedge {
namespace {

BacktestSideTests side_tests(const BacktestRun& run, const std::vector<int>& sample, std::size_t level, bool hedged) {
  const double a = run.levels[level].value;
  std::vector<int> exceptions;
  std::vector<double> losses, var, es;
  std::vector<std::vector<double>> tails;
  for (int i : sample) {
    const BacktestDate& d = run.dates[i];
    const TailRisk& tail = (hedged ? d.hedged : d.unhedged).tails[level];
    exceptions.push_back(run.exception(i, level, hedged) ? 1 : 0);
    losses.push_back(-(hedged ? d.realised_hedged : d.realised_unhedged));
    var.push_back(tail.var);
    es.push_back(tail.es);
    tails.push_back((hedged ? d.hedged_tail_quantiles : d.unhedged_tail_quantiles)[level]);
  }
  BacktestSideTests t;
  t.coverage = coverage_tests(exceptions, a);
  t.windows = traffic_light_windows(exceptions, a);
  if (!t.windows.empty()) t.traffic_light = t.windows.front();
  // Each series its own stream: the seed, the level and the side.
  const std::uint64_t seed = date_seed(run.seed, -1 - static_cast<int>(2 * level + (hedged ? 1 : 0)));
  t.es_test = acerbi_szekely_z2(losses, var, es, tails, a, seed);
  return t;
}

}  // namespace

double poisson_binomial_upper_tail(const std::vector<double>& p, int k) {
  if (k <= 0) return 1.0;
  // dist[j] = P(j successes so far), j < k; the mass at k and above is what the tail keeps.
  std::vector<double> dist(static_cast<std::size_t>(k) + 1, 0.0);
  dist[0] = 1.0;
  for (double q : p)
    for (int j = k; j >= 0; --j) dist[j] = (j == k ? dist[k] : dist[j] * (1.0 - q)) + (j > 0 ? dist[j - 1] * q : 0.0);
  return std::min(1.0, std::max(0.0, dist[k]));
}

std::vector<std::string> backtest_result_lines(const BacktestEvaluation& evaluation) {
  std::vector<std::string> lines;
  for (const BacktestLevelTests& l : evaluation.levels)
    for (const auto& [side, t] : {std::pair{"unhedged", &l.unhedged}, std::pair{"hedged", &l.hedged}}) {
      char line[256];
      std::snprintf(line, sizeof line,
                    "%s %s: %d exceptions in %d (expected %.1f), Kupiec p %.3g, Christoffersen cc p %.3g, %s, "
                    "ES Z2 %.2f (p %.3g, %s)",
                    l.level.key.c_str(), side, t->coverage.exceptions, t->coverage.observations,
                    t->coverage.expected_exceptions, t->coverage.kupiec_p, t->coverage.conditional_coverage_p,
                    t->traffic_light.zone.c_str(), t->es_test.z2, t->es_test.p_value, t->es_test.zone.c_str());
      lines.push_back(line);
    }
  return lines;
}

BacktestEvaluation evaluate_backtest(const BacktestRun& run) {
  BacktestEvaluation e;
  e.sampling_step = run.options.horizon_days;
  for (int i = 0; i < static_cast<int>(run.dates.size()); i += e.sampling_step) e.sample.push_back(i);
  for (std::size_t l = 0; l < run.levels.size(); ++l)
    e.levels.push_back({run.levels[l], side_tests(run, e.sample, l, false), side_tests(run, e.sample, l, true)});

  std::vector<double> unhedged, hedged;
  double predicted = 0.0;
  std::vector<double> call_probabilities;
  for (int i : e.sample) {
    const BacktestDate& d = run.dates[i];
    unhedged.push_back(d.realised_unhedged);
    hedged.push_back(d.realised_hedged);
    predicted += d.predicted_hedge_effectiveness;
    e.margin_calls += d.margin_called;
    call_probabilities.push_back(d.predicted_call_probability);
    e.expected_margin_calls += d.predicted_call_probability;
  }
  e.margin_calls_p = poisson_binomial_upper_tail(call_probabilities, e.margin_calls);
  if (!e.sample.empty()) e.predicted_hedge_effectiveness = predicted / static_cast<double>(e.sample.size());
  if (e.sample.size() > 2) {
    const auto [he, se] = hedge_effectiveness(unhedged, hedged);
    e.realised_hedge_effectiveness = he;
    e.realised_hedge_effectiveness_se = se;
  }

  char line[320];
  const int n = static_cast<int>(e.sample.size());
  for (const BacktestLevelTests& l : e.levels) {
    const double expected = n * (1.0 - l.level.value);
    if (expected < kFewExpectedExceptions) {
      std::snprintf(line, sizeof line,
                    "backtest: %d observations expect %.1f exceptions at %s: too few for the coverage tests to "
                    "reject a wrong model; test more dates",
                    n, expected, l.level.key.c_str());
      e.warnings.push_back(line);
    }
  }
  int unconverged = 0;
  for (const BacktestFit& f : run.fits) unconverged += !f.converged;
  if (unconverged > 0) {
    std::snprintf(line, sizeof line,
                  "backtest: %d of %d refits stopped at the EM iteration cap without converging; their forecasts "
                  "use the last iterate",
                  unconverged, static_cast<int>(run.fits.size()));
    e.warnings.push_back(line);
  }
  if (e.margin_calls > 0) {
    std::snprintf(line, sizeof line,
                  "backtest: the realised hedge met a margin call on %d of %d dates (the forecasts expected %.1f; "
                  "P(as many or more) = %.3g); the hedged P&L of those dates includes the call's liquidation or "
                  "top-up",
                  e.margin_calls, n, e.expected_margin_calls, e.margin_calls_p);
    e.warnings.push_back(line);
  }
  return e;
}

}  // namespace betahedge
