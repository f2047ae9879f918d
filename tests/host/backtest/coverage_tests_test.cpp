// The backtest's statistics against independent numbers: Kupiec's and Christoffersen's
// likelihood ratios, the binomial CDF and the chi-square tails against scipy
// (scripts/backtest_reference.py, written from the papers), Basel's published traffic-light
// table, the traffic light's windows by counting, and the Acerbi-Szekely Z2 by hand, against a
// binomial closed form for its simulated p-value, and under H0 and a doubled loss.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "backtest/backtest_evaluation.hpp"
#include "backtest/coverage_tests.hpp"

namespace betahedge {
namespace {

std::vector<int> indicators(int observations, const std::vector<int>& where) {
  std::vector<int> series(static_cast<std::size_t>(observations), 0);
  for (int i : where) series[static_cast<std::size_t>(i)] = 1;
  return series;
}

/// Relative tolerance for numbers scipy and the code both compute in double precision from
/// closed forms (log-likelihoods of a few thousand terms, erfc): 1e-10 of the value.
void expect_close(double actual, double expected, const std::string& what) {
  EXPECT_NEAR(actual, expected, 1e-10 * std::max(std::abs(expected), 1e-300) + 1e-13) << what;
}

struct CoverageReference {
  const char* name;
  int observations;
  std::vector<int> exceptions;
  double level;
  double kupiec_lr, kupiec_p, independence_lr, independence_p, conditional_coverage_lr, conditional_coverage_p;
  int transitions[4];
};

// Printed by /usr/bin/python3 scripts/backtest_reference.py (scipy; regenerate with it and paste
// its "Coverage cases" lines here).
const std::vector<CoverageReference> kCoverage = {
    {"no exceptions", 250, {}, 0.99, 5.025167926750726, 0.02498150305344973, 0.0, 1.0, 5.025167926750726, 0.08105851616218127, {249, 0, 0, 0}},
    {"all exceptions", 20, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}, 0.99, 184.20680743952363, 5.847372345670118e-42, 0.0, 1.0, 184.20680743952363, 1.0000000000000075e-40, {0, 0, 0, 19}},
    {"clustered", 250, {100, 101, 102, 103, 104}, 0.99, 1.9568097882306308, 0.16185491719603778, 30.984812657043037, 2.600554120177215e-08, 32.941622445273666, 7.02777054650825e-08, {243, 1, 1, 4}},
    {"first and last", 250, {0, 249}, 0.99, 0.10843521623680408, 0.7419327009526224, 0.008064537982819777, 0.9284439448073448, 0.11649975421962386, 0.9434141803728818, {247, 1, 1, 0}},
    {"first only", 100, {0}, 0.95, 4.947229964873527, 0.026132506920105388, 0.0, 1.0, 4.947229964873527, 0.08427963823809542, {98, 0, 1, 0}},
    {"last only", 100, {99}, 0.95, 4.947229964873527, 0.026132506920105388, 0.0, 1.0, 4.947229964873527, 0.08427963823809542, {98, 1, 0, 0}},
    {"scattered", 500, {7, 57, 107, 157, 207, 257, 307, 357, 407, 457}, 0.99, 3.9136195764612616, 0.04789633534988445, 0.4090264668227342, 0.5224640463356047, 4.322646043283996, 0.1151726442943202, {479, 10, 10, 0}},
    {"mixed", 1000, {3, 4, 150, 400, 401, 402, 700, 999}, 0.99, 0.4337408649472163, 0.5101590486454313, 20.73445467793587, 5.2758125079584314e-06, 21.168195542883083, 2.531539697018071e-05, {987, 5, 4, 3}},
    {"pairs at 95%", 300, {5, 6, 30, 31, 32, 60, 90, 120, 121, 150, 180, 181, 210, 240, 270, 299}, 0.95, 0.06874555937380222, 0.7931720763227348, 12.631977558027732, 0.0003792038146573737, 12.700723117401534, 0.0017461156987936984, {273, 11, 10, 5}},
    {"one observation, an exception", 1, {0}, 0.99, 9.210340371976182, 0.002406519458822761, 0.0, 1.0, 9.210340371976182, 0.010000000000000004, {0, 0, 0, 0}},
    {"one observation, none", 1, {}, 0.99, 0.0201006717070029, 0.8872562800759088, 0.0, 1.0, 0.0201006717070029, 0.99, {0, 0, 0, 0}},
};

TEST(CoverageTests, KupiecAndChristoffersenMatchScipy) {
  for (const CoverageReference& ref : kCoverage) {
    SCOPED_TRACE(ref.name);
    const CoverageTests t = coverage_tests(indicators(ref.observations, ref.exceptions), ref.level);
    EXPECT_EQ(t.observations, ref.observations);
    EXPECT_EQ(t.exceptions, static_cast<int>(ref.exceptions.size()));
    EXPECT_DOUBLE_EQ(t.rate, static_cast<double>(ref.exceptions.size()) / ref.observations);
    EXPECT_NEAR(t.expected_exceptions, ref.observations * (1.0 - ref.level), 1e-12);
    expect_close(t.kupiec_lr, ref.kupiec_lr, "kupiec_lr");
    expect_close(t.kupiec_p, ref.kupiec_p, "kupiec_p");
    expect_close(t.independence_lr, ref.independence_lr, "independence_lr");
    expect_close(t.independence_p, ref.independence_p, "independence_p");
    expect_close(t.conditional_coverage_lr, ref.conditional_coverage_lr, "conditional_coverage_lr");
    expect_close(t.conditional_coverage_p, ref.conditional_coverage_p, "conditional_coverage_p");
    EXPECT_EQ(t.transitions[0][0], ref.transitions[0]);
    EXPECT_EQ(t.transitions[0][1], ref.transitions[1]);
    EXPECT_EQ(t.transitions[1][0], ref.transitions[2]);
    EXPECT_EQ(t.transitions[1][1], ref.transitions[3]);
  }
}

TEST(CoverageTests, AnEmptySeriesHasNoObservationsAndPValuesOfOne) {
  const CoverageTests t = coverage_tests({}, 0.99);
  EXPECT_EQ(t.observations, 0);
  EXPECT_EQ(t.exceptions, 0);
  EXPECT_EQ(t.kupiec_p, 1.0);
  EXPECT_EQ(t.independence_p, 1.0);
  EXPECT_EQ(t.conditional_coverage_p, 1.0);
}

TEST(CoverageTests, BinomialCdfMatchesScipy) {
  struct Case {
    int k, n;
    double p, cdf;
  };
  // scripts/backtest_reference.py, "Binomial CDF".
  const Case cases[] = {
    {0, 250, 0.01, 0.08105851616218143},
    {4, 250, 0.01, 0.8921876269036252},
    {9, 250, 0.01, 0.9997498099312595},
    {10, 250, 0.01, 0.999946101370953},
    {249, 250, 0.01, 1.0},
    {3, 10, 0.5, 0.171875},
    {0, 1, 0.3, 0.7},
    {50, 100, 0.5, 0.5397946186935892},
    {5, 500, 0.05, 9.18180826764254e-07},
    {12, 1000, 0.01, 0.7925116019097246},
    {30, 1000, 0.025, 0.8661871919328951},
    {2, 100, 0.01, 0.9206267977478195},
    {3, 250, 0.01, 0.7581166977648832},
    {11, 250, 0.01, 0.999989361192373},
    {3, 20, 0.1, 0.8670466765656649},
  };
  for (const Case& c : cases)
    expect_close(binomial_cdf(c.k, c.n, c.p), c.cdf,
                 "binomial_cdf(" + std::to_string(c.k) + ", " + std::to_string(c.n) + ", " + std::to_string(c.p) + ")");
  EXPECT_EQ(binomial_cdf(-1, 10, 0.3), 0.0);
  EXPECT_EQ(binomial_cdf(10, 10, 0.3), 1.0);
}

TEST(CoverageTests, ChiSquareSurvivalMatchesScipy) {
  struct Case {
    double x, dof1, dof2;
  };
  // scripts/backtest_reference.py, "Chi-square survival".
  const Case cases[] = {
    {0.01, 0.920344325445942, 0.9950124791926823},
    {0.5, 0.47950012218695337, 0.7788007830714049},
    {1.0, 0.31731050786291115, 0.6065306597126334},
    {3.841458820694124, 0.04999999999999989, 0.1465000644860843},
    {6.634896601021214, 0.010000000000000005, 0.03624520071516965},
    {10.0, 0.001565402258002549, 0.006737946999085468},
    {30.0, 4.3204630578274955e-08, 3.0590232050182594e-07},
    {100.0, 1.5239706048320995e-23, 1.9287498479639183e-22},
  };
  for (const Case& c : cases) {
    expect_close(chi_square_survival(c.x, 1), c.dof1, "chi2(1) at " + std::to_string(c.x));
    expect_close(chi_square_survival(c.x, 2), c.dof2, "chi2(2) at " + std::to_string(c.x));
  }
  EXPECT_EQ(chi_square_survival(0.0, 1), 1.0);
  EXPECT_EQ(chi_square_survival(0.0, 2), 1.0);
}

TEST(TrafficLight, BaselZonesAt99PercentOver250Observations) {
  // BCBS (1996), "Supervisory framework for the use of backtesting ...", Table 2: green 0-4,
  // yellow 5-9, red 10 or more exceptions.
  for (int k = 0; k <= 250; ++k) {
    const std::string expected = k <= 4 ? "green" : k <= 9 ? "yellow" : "red";
    EXPECT_EQ(traffic_light_zone(k, 250, 0.99), expected) << k << " exceptions";
  }
}

TEST(TrafficLight, CumulativeProbabilitiesAreBaselsTable) {
  // BCBS (1996) Table 2, "cumulative probability" of 0..10 exceptions in 250 observations at
  // 99%, in percent to two decimals: the binomial CDF must round to each.
  const double published[] = {8.11, 28.58, 54.32, 75.81, 89.22, 95.88, 98.63, 99.60, 99.89, 99.97, 99.99};
  for (int k = 0; k <= 10; ++k)
    EXPECT_NEAR(100.0 * binomial_cdf(k, 250, 0.01), published[k], 0.005) << k << " exceptions";
}

TEST(TrafficLight, NoExceptionIsGreenHoweverFewTheObservations) {
  // F(0) = 0.99^n >= 95% for n <= 5: the binomial rule alone would call these yellow.
  for (int n = 1; n <= 5; ++n) EXPECT_EQ(traffic_light_zone(0, n, 0.99), "green") << n;
  EXPECT_EQ(traffic_light_zone(0, 1, 0.95), "green");
  // One exception in 5 at 99%: F(1) = 0.99^5 + 5 (0.01) 0.99^4 = 0.99902, under 99.99%: yellow.
  EXPECT_EQ(traffic_light_zone(1, 5, 0.99), "yellow");
}

TEST(TrafficLight, WindowsAreCutBackFromTheLastObservation) {
  // 600 observations in windows of 250: [350, 599], [100, 349]; the 100 before them, short of a
  // window, are left out.
  const std::vector<int> where = {10, 20, 120, 130, 140, 400, 450, 500, 510, 520, 530, 540, 550, 560, 570, 580};
  const std::vector<TrafficLightWindow> w = traffic_light_windows(indicators(600, where), 0.99);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].first, 350);
  EXPECT_EQ(w[0].last, 599);
  EXPECT_EQ(w[0].exceptions, 11);
  EXPECT_EQ(w[0].zone, "red");
  EXPECT_EQ(w[1].first, 100);
  EXPECT_EQ(w[1].last, 349);
  EXPECT_EQ(w[1].exceptions, 3);
  EXPECT_EQ(w[1].zone, "green");
  // Cumulative probabilities (scripts/backtest_reference.py): Bin(250, 1%) at 11 and 3.
  expect_close(w[0].cumulative_probability, 0.999989361192373, "window 0");
  expect_close(w[1].cumulative_probability, 0.7581166977648832, "window 1");
  // The short history's own window: Bin(100, 1%) at 2.
  const std::vector<TrafficLightWindow> hundred = traffic_light_windows(indicators(100, {10, 20}), 0.99);
  ASSERT_EQ(hundred.size(), 1u);
  expect_close(hundred[0].cumulative_probability, 0.9206267977478195, "100 observations");
  EXPECT_EQ(hundred[0].zone, "green");

  // A whole number of windows: no short one; a history shorter than a window: one window.
  const std::vector<TrafficLightWindow> exact = traffic_light_windows(std::vector<int>(500, 0), 0.99);
  ASSERT_EQ(exact.size(), 2u);
  EXPECT_EQ(exact[0].first, 250);
  EXPECT_EQ(exact[1].first, 0);
  EXPECT_EQ(exact[1].last, 249);
  const std::vector<TrafficLightWindow> short_history = traffic_light_windows(indicators(100, {3}), 0.99, 250);
  ASSERT_EQ(short_history.size(), 1u);
  EXPECT_EQ(short_history[0].first, 0);
  EXPECT_EQ(short_history[0].last, 99);
  EXPECT_EQ(short_history[0].exceptions, 1);
  EXPECT_TRUE(traffic_light_windows({}, 0.99).empty());
}

TEST(TrafficLight, WorstWindowIsTheMostExceptionsOfAnyRun) {
  // The 600 observations above: 11 exceptions in 400..580, so every window starting in 331..350
  // holds 11 (one starting at 140 or before ends before 400); the most recent is [350, 599].
  const std::vector<int> where = {10, 20, 120, 130, 140, 400, 450, 500, 510, 520, 530, 540, 550, 560, 570, 580};
  const TrafficLightWindow w = worst_traffic_light_window(indicators(600, where), 0.99);
  EXPECT_EQ(w.exceptions, 11);
  EXPECT_EQ(w.first, 350);
  EXPECT_EQ(w.last, 599);
  EXPECT_EQ(w.zone, "red");
  expect_close(w.cumulative_probability, 0.999989361192373, "worst window");

  // Against a direct count of every window on random series: the largest count, the latest of
  // equals, its zone and probability as a window of that length.
  std::mt19937 rng(5);
  for (int trial = 0; trial < 40; ++trial) {
    const int n = 1 + static_cast<int>(rng() % 700);
    const double rate = 0.005 + 0.05 * (rng() % 100) / 100.0;
    std::vector<int> series(static_cast<std::size_t>(n));
    for (int& x : series) x = std::uniform_real_distribution<double>(0.0, 1.0)(rng) < rate;
    const int length = std::min(250, n);
    int best = -1, best_first = 0;
    for (int first = 0; first + length <= n; ++first) {
      int count = 0;
      for (int i = first; i < first + length; ++i) count += series[static_cast<std::size_t>(i)];
      if (count >= best) best = count, best_first = first;
    }
    const TrafficLightWindow got = worst_traffic_light_window(series, 0.99);
    SCOPED_TRACE("trial " + std::to_string(trial) + ", n " + std::to_string(n));
    EXPECT_EQ(got.exceptions, best);
    EXPECT_EQ(got.first, best_first);
    EXPECT_EQ(got.last, best_first + length - 1);
    EXPECT_EQ(got.zone, traffic_light_zone(best, length, 0.99));
    expect_close(got.cumulative_probability, binomial_cdf(best, length, 0.01), "probability");
  }
  // Shorter than a window: the whole series.
  const TrafficLightWindow short_series = worst_traffic_light_window(indicators(60, {3, 40}), 0.99);
  EXPECT_EQ(short_series.first, 0);
  EXPECT_EQ(short_series.last, 59);
  EXPECT_EQ(short_series.exceptions, 2);
}

/// The side's tests of an exception series at `level`, with an ES test of p-value `es_p`.
BacktestSideTests side_of(const std::vector<int>& series, double level, double es_p = 0.5, double z2 = 0.0) {
  BacktestSideTests t;
  t.coverage = coverage_tests(series, level);
  t.es_test.p_value = es_p;
  t.es_test.z2 = z2;
  t.es_test.simulations = 10000;
  return t;
}

TEST(BacktestRejections, EveryRejectingTestWithItsDirection) {
  const RiskLevel l99{"0.99", 0.99}, l95{"0.95", 0.95};
  // 1 exception in 1038 at 99% (the docs' hedged example): Kupiec p 0.0002, too few.
  const std::vector<std::string> few = backtest_rejections(l99, "hedged", side_of(indicators(1038, {500}), 0.99));
  ASSERT_EQ(few.size(), 2u);
  EXPECT_EQ(few[0], "hedged 99%: Kupiec rejects (too few exceptions: 1 vs 10.4 expected, conservative)");
  EXPECT_EQ(few[1], "hedged 99%: Christoffersen conditional coverage rejects (too few exceptions: 1 vs 10.4 expected, "
                    "conservative)");
  // 12 in 250 at 99%, five of them in a row: too many, and they cluster.
  const std::vector<std::string> many = backtest_rejections(
      l99, "unhedged",
      side_of(indicators(250, {10, 40, 70, 100, 101, 102, 103, 104, 150, 180, 200, 230}), 0.99, 0.003, 1.4));
  ASSERT_EQ(many.size(), 4u);
  EXPECT_EQ(many[0], "unhedged 99%: Kupiec rejects (too many exceptions: 12 vs 2.5 expected: model understates risk)");
  EXPECT_NE(many[1].find("unhedged 99%: Christoffersen independence rejects (exceptions cluster: 33.3% of exceptions "
                         "followed by another"),
            std::string::npos)
      << many[1];
  EXPECT_NE(many[2].find("conditional coverage rejects (too many exceptions: 12 vs 2.5 expected: model understates "
                         "risk; exceptions cluster)"),
            std::string::npos)
      << many[2];
  EXPECT_EQ(many[3].rfind("unhedged 99%: ES test rejects (Z2 1.40, p 0.003: ", 0), 0u) << many[3];
  EXPECT_NE(many[3].find("model understates tail losses"), std::string::npos);
  // 5 in 100 at 95% (as expected), p-values over 5%: nothing; the level reads as a percentage.
  EXPECT_TRUE(backtest_rejections(l95, "hedged", side_of(indicators(100, {5, 30, 50, 70, 90}), 0.95)).empty());
  EXPECT_EQ(level_percent({"0.975", 0.975}), "97.5%");
}

TEST(AcerbiSzekely, Z2ByHand) {
  // Level 90% (p = 0.1), five observations; exceptions where the loss exceeds VaR strictly:
  // t = 1 (3 > 2) and t = 3 (4 > 2); t = 4 (2.5 = VaR) is not one.
  // Z2 = (3/3 + 4/5) / (5 x 0.1) - 1 = 2.6.
  const std::vector<double> losses{1.0, 3.0, 0.5, 4.0, 2.5}, var{2.0, 2.0, 2.0, 2.0, 2.5}, es{3.0, 3.0, 3.0, 5.0, 3.0};
  const std::vector<std::vector<double>> tails(5, std::vector<double>{2.5, 3.0, 3.5});
  const EsTest t = acerbi_szekely_z2(losses, var, es, tails, 0.9, 7, 100);
  EXPECT_NEAR(t.z2, 2.6, 1e-14);
  EXPECT_EQ(t.critical_values_zone, "reject at 0.01%");
  // The zone is the simulated p-value's: at least 1 / 101 with 100 simulations.
  EXPECT_EQ(t.zone, t.p_value < 0.05 ? "reject at 5%" : "accept");
  EXPECT_EQ(t.simulations, 100);
  // Between the critical values, and below the first (no simulations: the zone is theirs).
  EXPECT_EQ(acerbi_szekely_z2({3.0, 0.0, 0.0, 0.0, 0.0}, var, es, tails, 0.9, 7, 0).zone, "reject at 5%");  // 1/0.5 - 1
  EXPECT_EQ(acerbi_szekely_z2({0.0, 0.0, 0.0, 0.0, 0.0}, var, es, tails, 0.9, 7, 0).zone, "accept");       // -1
  EXPECT_EQ(acerbi_szekely_z2({0.0, 0.0, 0.0, 0.0, 0.0}, var, es, tails, 0.9, 7, 0).z2, -1.0);
}

TEST(AcerbiSzekely, SimulatedPValueIsTheBinomialTailWhenEveryTailLossIsItsEs) {
  // Every tail quantile equal to ES: a simulated history's Z2* = X / (T p) - 1 with
  // X ~ Bin(T, p) exceptions. Four observed exceptions, each just under ES, give
  // z2 = 4 x 0.999 / (T p) - 1, so Z2* >= z2 exactly when X >= 4: p = P(X >= 4) (plus the
  // estimator's +1 / (1 + S)). T = 20, p = 0.1: P(X >= 4) = 1 - binom.cdf(3, 20, 0.1).
  const int n = 20, simulations = 20000;
  std::vector<double> losses(n, 0.0), var(n, 1.0), es(n, 2.0);
  for (int t : {2, 7, 11, 19}) losses[t] = 2.0 * 0.999;
  const std::vector<std::vector<double>> tails(n, std::vector<double>(8, 2.0));
  const EsTest t = acerbi_szekely_z2(losses, var, es, tails, 0.9, 11, simulations);
  const double tail = 1.0 - binomial_cdf(3, n, 0.1);  // 0.13295...
  EXPECT_NEAR(tail, 1.0 - 0.8670466765656649, 1e-12);  // scipy.stats.binom.cdf(3, 20, 0.1), as above
  const double expected = (1.0 + simulations * tail) / (1.0 + simulations);
  const double se = std::sqrt(tail * (1.0 - tail) / simulations);
  EXPECT_NEAR(t.p_value, expected, 4.0 * se);  // 4 standard errors of a simulated proportion
  EXPECT_EQ(t.simulations, simulations);
}

/// Losses of `n` observations drawn from `scale` x N(0, 1), the forecast being N(0, 1) itself
/// at level a: VaR = Phi^-1(a), ES = phi(VaR) / (1 - a), tail quantiles Phi^-1(u_k).
struct NormalForecast {
  std::vector<double> var, es;
  std::vector<std::vector<double>> tails;
};

double normal_quantile(double u) {
  // Bisection on erfc: exact to ~1e-15, no dependence on the code under test.
  double lo = -40.0, hi = 40.0;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (0.5 * std::erfc(-mid / std::sqrt(2.0)) < u ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

NormalForecast normal_forecast(int n, double level, int m) {
  const double v = normal_quantile(level);
  const double es = std::exp(-0.5 * v * v) / std::sqrt(2.0 * M_PI) / (1.0 - level);
  std::vector<double> q(static_cast<std::size_t>(m));
  for (int k = 0; k < m; ++k) q[k] = normal_quantile(level + (1.0 - level) * (k + 0.5) / m);
  return {std::vector<double>(n, v), std::vector<double>(n, es), std::vector<std::vector<double>>(n, q)};
}

TEST(AcerbiSzekely, UnderH0ThePValueIsUniformAndADoubledLossRejects) {
  const int n = 250, histories = 200, simulations = 1000, m = 64;
  const double level = 0.975;
  const NormalForecast f = normal_forecast(n, level, m);
  std::mt19937_64 rng(20240611);
  std::normal_distribution<double> normal;
  std::vector<double> p_values;
  for (int h = 0; h < histories; ++h) {
    std::vector<double> losses(n);
    for (double& l : losses) l = normal(rng);
    p_values.push_back(acerbi_szekely_z2(losses, f.var, f.es, f.tails, level, 100 + h, simulations).p_value);
  }
  // Uniform p-values (a little conservative: Z2 has a point mass at -1, no exceptions). Mean
  // 1/2 within 4 standard errors sqrt(1/12/N); at most the binomial 4-sigma count below 5%;
  // the Kolmogorov distance to U(0, 1) under its 1% critical value 1.63 / sqrt(N).
  double mean = 0.0;
  int below5 = 0;
  for (double p : p_values) {
    mean += p / histories;
    below5 += p < 0.05;
  }
  EXPECT_NEAR(mean, 0.5, 4.0 * std::sqrt(1.0 / 12.0 / histories));
  EXPECT_LE(below5, histories * 0.05 + 4.0 * std::sqrt(histories * 0.05 * 0.95));
  std::sort(p_values.begin(), p_values.end());
  double ks = 0.0;
  for (int i = 0; i < histories; ++i)
    ks = std::max({ks, std::abs(p_values[i] - static_cast<double>(i) / histories),
                   std::abs(p_values[i] - static_cast<double>(i + 1) / histories)});
  EXPECT_LT(ks, 1.63 / std::sqrt(histories));

  // Losses twice the forecast's: about 16% exceptions instead of 2.5%, each twice as deep.
  std::vector<double> doubled(n);
  for (double& l : doubled) l = 2.0 * normal(rng);
  const EsTest t = acerbi_szekely_z2(doubled, f.var, f.es, f.tails, level, 99, simulations);
  EXPECT_GT(t.z2, kZ2Critical001);
  EXPECT_EQ(t.critical_values_zone, "reject at 0.01%");
  // 1,000 simulations resolve p down to 1/1001, not 0.01%: the zone is the 5% rejection.
  EXPECT_EQ(t.zone, "reject at 5%");
  EXPECT_LT(t.p_value, 0.01);
  EXPECT_DOUBLE_EQ(t.p_value, 1.0 / (1.0 + simulations));  // no simulated history comes near
}

TEST(MarginCallTest, RejectsTooManyCallsOnlyAndIsPrintedWithTheLevels) {
  BacktestEvaluation e;
  e.sample = std::vector<int>(250, 0);
  e.levels.push_back({RiskLevel{"0.99", 0.99}, side_of(indicators(250, {100}), 0.99),
                      side_of(indicators(250, {50, 150}), 0.99)});
  // No call expected or met (an unmargined book): no margin line.
  std::vector<std::string> lines = backtest_result_lines(e);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("0.99 unhedged: 1 exception in 250 (expected 2.5)"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("0.99 hedged: 2 exceptions in 250"), std::string::npos) << lines[1];
  // 11 calls where the forecasts expected 4.0: P(K >= 11) = 0.0025, rejected.
  e.margin_calls = 11;
  e.expected_margin_calls = 4.0;
  e.margin_calls_p = 0.0025;
  EXPECT_EQ(margin_call_rejection(e), "margin-call test rejects (too many calls: 11 vs 4.0 expected, p 0.0025: the "
                                      "collateral the model sized was too thin)");
  lines = backtest_result_lines(e);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[2], "margin calls: 11 in 250 (expected 4.0), P(as many or more) 0.0025");
  EXPECT_EQ(lines[3], "  " + margin_call_rejection(e));
  // As many as expected, or none: printed, not rejected.
  e.margin_calls = 4;
  e.margin_calls_p = 0.57;
  EXPECT_EQ(margin_call_rejection(e), "");
  EXPECT_EQ(backtest_result_lines(e).size(), 3u);
  e.margin_calls = 0;
  e.margin_calls_p = 1.0;
  EXPECT_EQ(margin_call_rejection(e), "");
  // A small expectation keeps two significant digits, not "0.0".
  e.expected_margin_calls = 0.0012;
  EXPECT_EQ(backtest_result_lines(e)[2], "margin calls: 0 in 250 (expected 0.0012), P(as many or more) 1");
}

TEST(MarginCallTest, PoissonBinomialTail) {
  // Equal probabilities: the binomial's upper tail, P(K >= k) = 1 - F(k - 1).
  const std::vector<double> equal(250, 0.01);
  for (int k = 0; k <= 12; ++k)
    EXPECT_NEAR(poisson_binomial_upper_tail(equal, k), 1.0 - binomial_cdf(k - 1, 250, 0.01), 1e-12) << k;
  // Two trials by hand: P(K >= 1) = 1 - 0.9 x 0.8 = 0.28, P(K >= 2) = 0.1 x 0.2 = 0.02, none for 3.
  EXPECT_NEAR(poisson_binomial_upper_tail({0.1, 0.2}, 1), 0.28, 1e-15);
  EXPECT_NEAR(poisson_binomial_upper_tail({0.1, 0.2}, 2), 0.02, 1e-15);
  EXPECT_EQ(poisson_binomial_upper_tail({0.1, 0.2}, 3), 0.0);
  EXPECT_EQ(poisson_binomial_upper_tail({}, 0), 1.0);
}

}  // namespace
}  // namespace betahedge

