#pragma once
/// The tests of a walk forward's forecasts (backtest.json): per level and for the unhedged and
/// hedged P&L, coverage (coverage_tests), the traffic light, and the ES test; and the realised
/// hedge effectiveness against the predicted.
///
/// Overlapping horizons: forecasts are made every test date, but with horizon h > 1 day
/// consecutive realised P&Ls share h - 1 days and their exceptions are not independent, which
/// every test here assumes. The tests read the non-overlapping observations: test dates 0, h,
/// 2h, ... (backtest.csv keeps every date, with `sampled` marking these).
#include <cstdint>
#include <string>
#include <vector>

#include "backtest/coverage_tests.hpp"
#include "backtest/walk_forward.hpp"

namespace betahedge {

struct BacktestSideTests {
  CoverageTests coverage;
  /// The Basel zone of the most recent min(250, observations) observations.
  TrafficLightWindow traffic_light;
  std::vector<TrafficLightWindow> windows;  ///< traffic_light_windows, most recent first
  /// worst_traffic_light_window: the 250 observations with the most exceptions.
  TrafficLightWindow worst_window;
  EsTest es_test;
};

struct BacktestLevelTests {
  RiskLevel level;
  BacktestSideTests unhedged, hedged;
};

struct BacktestEvaluation {
  std::vector<int> sample;  ///< the test dates the tests read (indices into BacktestRun::dates)
  int sampling_step = 1;    ///< horizon_days
  std::vector<BacktestLevelTests> levels;
  /// Realised hedge effectiveness 1 - Var(hedged) / Var(unhedged) of the sampled realised P&Ls,
  /// with its delta-method standard error; predicted: the mean of the sampled dates' forecasts.
  double realised_hedge_effectiveness = 0.0;
  double realised_hedge_effectiveness_se = 0.0;
  double predicted_hedge_effectiveness = 0.0;
  int margin_calls = 0;  ///< sampled dates whose realised path met a margin call
  /// The margin model's backtest: the calls expected on the sampled dates (the sum of their
  /// forecast call probabilities) and P(K >= margin_calls) for K the number of calls when each
  /// date calls independently with its forecast probability (Poisson-binomial, exact).
  double expected_margin_calls = 0.0;
  double margin_calls_p = 1.0;
  /// One line per figure a committee should not read at face value (too few observations for
  /// the level, unconverged fits, margin calls in the realised paths).
  std::vector<std::string> warnings;
};

/// The tests of every level on the sampled dates; the ES test's p-value is simulated on the
/// run's seed. Warns when a level expects fewer than kFewExpectedExceptions exceptions in the
/// sample (its tests can then hardly reject anything: the warning says how many observations
/// would do, and whether a wider test period can give them or the test already covers every
/// testable date), when a fit did not converge, when realised paths met margin calls (their
/// hedged P&L includes the call's action), and, at a horizon of h > 1 days, when Kupiec rejects on
/// any of the h ways to sample one date in h (each phase's p-value listed: the verdict may turn on
/// the phase).
inline constexpr double kFewExpectedExceptions = 5.0;
BacktestEvaluation evaluate_backtest(const BacktestRun& run);

/// A test rejects at p < kRejectAt (5%).
inline constexpr double kRejectAt = 0.05;

/// Every test of one level and side that rejects at 5%, each one line naming the series, the test
/// and which way it fails, e.g. "hedged 99%: Kupiec rejects (too few exceptions: 1 vs 10.4
/// expected, conservative)", "... (too many exceptions: 12 vs 2.5 expected: model understates
/// risk)"; Christoffersen's independence "exceptions cluster" (or, when an exception is followed by
/// another less often than a quiet day is, "exceptions spaced more evenly than chance"); its
/// conditional coverage with the direction of the count; the ES test (one-sided: Z2 large) "model
/// understates tail losses". Empty when nothing rejects.
std::vector<std::string> backtest_rejections(const RiskLevel& level, const std::string& side,
                                             const BacktestSideTests& tests);

/// The margin model's rejection, one line, when the realised calls are more than the forecasts'
/// call probabilities allow (margin_calls_p < kRejectAt): "margin-call test rejects (too many
/// calls: 11 vs 4.0 expected, p 0.0025: the collateral the model sized was too thin)". Empty
/// otherwise. The test is one-sided: fewer calls than expected is no evidence against the model.
std::string margin_call_rejection(const BacktestEvaluation& evaluation);

/// "99%", "97.5%": a level as a percentage.
std::string level_percent(const RiskLevel& level);

/// One line per level and side: exceptions against expected, Kupiec's and Christoffersen's
/// conditional-coverage p-values, the latest and the worst traffic light, and the ES test; each
/// followed by its backtest_rejections, indented; then, when the book can be called (calls
/// realised or expected), the margin calls against expected and margin_call_rejection (what
/// `backtest` prints).
std::vector<std::string> backtest_result_lines(const BacktestEvaluation& evaluation);

/// P(K >= k) for K the number of successes of independent trials with probabilities `p`.
double poisson_binomial_upper_tail(const std::vector<double>& p, int k);

}  // namespace betahedge
