#include "backtest/backtest_evaluation.hpp"

#include <algorithm>
#include <cmath>
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
  t.worst_window = worst_traffic_light_window(exceptions, a);
  // Each series its own stream: the seed, the level and the side.
  const std::uint64_t seed = date_seed(run.seed, -1 - static_cast<int>(2 * level + (hedged ? 1 : 0)));
  t.es_test = acerbi_szekely_z2(losses, var, es, tails, a, seed);
  return t;
}

/// An expected count: one decimal, or two significant digits below 0.1 (0.0012 expected margin
/// calls is not "0.0").
std::string expected_count(double x) {
  char text[32];
  std::snprintf(text, sizeof text, x >= 0.1 || x == 0.0 ? "%.1f" : "%.2g", x);
  return text;
}

/// At a horizon of h > 1 days the tests read one test date in h, starting with the first: another
/// start (phase) reads other dates, and with few exceptions the verdict can turn on it. One warning
/// per level and side whose Kupiec test rejects on any phase, with every phase's p-value.
std::vector<std::string> phase_warnings(const BacktestRun& run, int step) {
  std::vector<std::string> out;
  const int dates = static_cast<int>(run.dates.size());
  for (std::size_t level = 0; level < run.levels.size(); ++level)
    for (const bool hedged : {false, true}) {
      std::string listed;
      int rejecting = 0;
      for (int phase = 0; phase < std::min(step, dates); ++phase) {
        std::vector<int> exceptions;
        for (int i = phase; i < dates; i += step) exceptions.push_back(run.exception(i, level, hedged) ? 1 : 0);
        const double kupiec_p = coverage_tests(exceptions, run.levels[level].value).kupiec_p;
        rejecting += kupiec_p < kRejectAt;
        char item[64];
        std::snprintf(item, sizeof item, "%s%.2g from %s", phase == 0 ? "" : ", ", kupiec_p,
                      run.dates[phase].date.c_str());
        listed += item;
      }
      if (rejecting == 0) continue;
      char line[200];
      std::snprintf(line, sizeof line,
                    "backtest: %s %s at a %d-day horizon: Kupiec rejects on %d of the %d ways to take one test "
                    "date in %d (p ",
                    hedged ? "hedged" : "unhedged", level_percent(run.levels[level]).c_str(), step, rejecting,
                    std::min(step, dates), step);
      // The phases share this run's forecasts (its fits): a run started at another date refits on
      // other dates, so its p-values can differ a little from these.
      out.push_back(line + listed +
                    (rejecting < std::min(step, dates)
                         ? "); the verdict turns on which dates are sampled: the tests read those from " +
                               run.dates.front().date
                         : std::string("); every sampling agrees")) +
                    ". Every phase reads this run's forecasts; a run from another " +
                    run.options.names.field("from") + " refits on other dates and can differ a little");
    }
  return out;
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

std::string level_percent(const RiskLevel& level) {
  char text[32];
  std::snprintf(text, sizeof text, "%g%%", level.value * 100.0);
  return text;
}

std::vector<std::string> backtest_rejections(const RiskLevel& level, const std::string& side,
                                             const BacktestSideTests& tests) {
  const CoverageTests& c = tests.coverage;
  const std::string series = side + " " + level_percent(level) + ": ";
  const bool too_many = c.exceptions > c.expected_exceptions;
  char count[160];
  std::snprintf(count, sizeof count, "%s exceptions: %d vs %s expected%s", too_many ? "too many" : "too few",
                c.exceptions, expected_count(c.expected_exceptions).c_str(), too_many ? ": model understates risk" : ", conservative");
  // After an exception, another: pi11 = n11 / (n10 + n11); after a quiet observation: pi01.
  const double after_exception = c.transitions[1][0] + c.transitions[1][1] > 0
                                     ? c.transitions[1][1] / double(c.transitions[1][0] + c.transitions[1][1])
                                     : 0.0;
  const double after_quiet = c.transitions[0][0] + c.transitions[0][1] > 0
                                 ? c.transitions[0][1] / double(c.transitions[0][0] + c.transitions[0][1])
                                 : 0.0;
  const bool cluster = after_exception > after_quiet;
  char spacing[200];
  std::snprintf(spacing, sizeof spacing, "%s: %.1f%% of exceptions followed by another, %.1f%% of quiet observations",
                cluster ? "exceptions cluster" : "exceptions spaced more evenly than chance", 100.0 * after_exception,
                100.0 * after_quiet);
  std::vector<std::string> out;
  if (c.observations > 0 && c.kupiec_p < kRejectAt) out.push_back(series + "Kupiec rejects (" + count + ")");
  if (c.observations > 1 && c.independence_p < kRejectAt)
    out.push_back(series + "Christoffersen independence rejects (" + spacing + ")");
  if (c.observations > 0 && c.conditional_coverage_p < kRejectAt)
    out.push_back(series + "Christoffersen conditional coverage rejects (" + count +
                  (c.independence_p < kRejectAt ? std::string("; ") + (cluster ? "exceptions cluster" : "exceptions spaced more evenly than chance") : std::string()) +
                  ")");
  if (tests.es_test.simulations > 0 && tests.es_test.p_value < kRejectAt) {
    char es[200];
    std::snprintf(es, sizeof es,
                  "ES test rejects (Z2 %.2f, p %.3g: losses beyond VaR larger than the ES forecast, model understates "
                  "tail losses)",
                  tests.es_test.z2, tests.es_test.p_value);
    out.push_back(series + es);
  }
  return out;
}

std::vector<std::string> backtest_result_lines(const BacktestEvaluation& evaluation) {
  std::vector<std::string> lines;
  for (const BacktestLevelTests& l : evaluation.levels)
    for (const auto& [side, t] : {std::pair{"unhedged", &l.unhedged}, std::pair{"hedged", &l.hedged}}) {
      char line[400];
      std::snprintf(line, sizeof line,
                    "%s %s: %d exception%s in %d (expected %s), Kupiec p %.3g, Christoffersen cc p %.3g, %s "
                    "(worst %d observations %d exception%s, %s), ES Z2 %.2f (p %.3g, %s)",
                    l.level.key.c_str(), side, t->coverage.exceptions, t->coverage.exceptions == 1 ? "" : "s",
                    t->coverage.observations,
                    expected_count(t->coverage.expected_exceptions).c_str(), t->coverage.kupiec_p, t->coverage.conditional_coverage_p,
                    t->traffic_light.zone.c_str(), t->worst_window.last - t->worst_window.first + 1,
                    t->worst_window.exceptions, t->worst_window.exceptions == 1 ? "" : "s", t->worst_window.zone.c_str(), t->es_test.z2, t->es_test.p_value,
                    t->es_test.zone.c_str());
      lines.push_back(line);
      for (const std::string& rejection : backtest_rejections(l.level, side, *t)) lines.push_back("  " + rejection);
    }
  if (evaluation.margin_calls > 0 || evaluation.expected_margin_calls > 0.0) {
    char line[240];
    std::snprintf(line, sizeof line, "margin calls: %d in %d (expected %s), P(as many or more) %.3g",
                  evaluation.margin_calls, static_cast<int>(evaluation.sample.size()),
                  expected_count(evaluation.expected_margin_calls).c_str(), evaluation.margin_calls_p);
    lines.push_back(line);
    const std::string rejection = margin_call_rejection(evaluation);
    if (!rejection.empty()) lines.push_back("  " + rejection);
  }
  return lines;
}

std::string margin_call_rejection(const BacktestEvaluation& evaluation) {
  if (evaluation.margin_calls == 0 || evaluation.margin_calls_p >= kRejectAt) return "";
  char text[240];
  std::snprintf(text, sizeof text,
                "margin-call test rejects (too many calls: %d vs %s expected, p %.3g: the collateral the model "
                "sized was too thin)",
                evaluation.margin_calls, expected_count(evaluation.expected_margin_calls).c_str(),
                evaluation.margin_calls_p);
  return text;
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

  char line[640];
  const int n = static_cast<int>(e.sample.size());
  const BacktestOptionNames& names = run.options.names;
  const bool every_testable_date = run.testable_dates > 0 && static_cast<int>(run.dates.size()) == run.testable_dates;
  for (const BacktestLevelTests& l : e.levels) {
    const double expected = n * (1.0 - l.level.value);
    if (expected >= kFewExpectedExceptions) continue;
    // Observations that would expect kFewExpectedExceptions, and the test dates that give them.
    const int needed = static_cast<int>(std::ceil(kFewExpectedExceptions / (1.0 - l.level.value) - 1e-9));
    std::snprintf(line, sizeof line,
                  "backtest: %d observations expect %s exceptions at %s, too few for the coverage tests to reject "
                  "a wrong model (%d observations would expect %g)",
                  n, expected_count(expected).c_str(), l.level.key.c_str(), needed, kFewExpectedExceptions);
    std::string text = line;
    const std::string test_period = run.dates.empty() ? "" : run.dates.front().date + " .. " + run.dates.back().date;
    if (every_testable_date) {
      std::snprintf(line, sizeof line,
                    ". The test period %s is already every date of the prices with a %d-day window before it and "
                    "the horizon after it; more observations need a longer price history or a shorter %s",
                    test_period.c_str(), run.options.window_days, names.field("window_days").c_str());
      text += line;
      if (run.options.horizon_days > 1)
        text += " or horizon (" + names.field("horizon_days") + ": the tests read one date in " +
                std::to_string(run.options.horizon_days) + ")";
    } else {
      std::snprintf(line, sizeof line, ". The test period %s is %d of the %d testable dates (%s .. %s): widen %s/%s",
                    test_period.c_str(), static_cast<int>(run.dates.size()), run.testable_dates,
                    run.testable_from.c_str(), run.testable_to.c_str(), names.field("from").c_str(),
                    names.field("to").c_str());
      text += line;
    }
    e.warnings.push_back(text);
  }
  if (e.sampling_step > 1) {
    for (const std::string& warning : phase_warnings(run, e.sampling_step)) e.warnings.push_back(warning);
  }
  // Dates whose spot or realised path reads a forward-filled close: the filled asset is held flat
  // there, so such a date's exception (or quiet day) may be the fill's rather than the model's.
  std::vector<int> on_filled;
  for (int i : e.sample)
    if (run.dates[i].filled_closes > 0) on_filled.push_back(i);
  if (!on_filled.empty()) {
    std::snprintf(line, sizeof line,
                  "backtest: %d of %d observations read a forward-filled close at their start or within their horizon "
                  "(%s .. %s); their realised P&L holds the filled asset's price flat there, so their exceptions "
                  "(or quiet days) may be the fill's",
                  static_cast<int>(on_filled.size()), n, run.dates[on_filled.front()].date.c_str(),
                  run.dates[on_filled.back()].date.c_str());
    e.warnings.push_back(line);
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
                  "backtest: the realised hedge met a margin call on %d of %d dates (the forecasts expected %s; "
                  "P(as many or more) = %.3g); the hedged P&L of those dates includes the call's liquidation or "
                  "top-up",
                  e.margin_calls, n, expected_count(e.expected_margin_calls).c_str(), e.margin_calls_p);
    e.warnings.push_back(line);
  }
  return e;
}

}  // namespace betahedge
