#include "backtest/coverage_tests.hpp"

#include <algorithm>
#include <cmath>

#include "betahedge/philox.hpp"

namespace betahedge {
namespace {

/// n ln(q), with 0 ln 0 = 0 (a count of zero contributes nothing to a likelihood).
double count_log(double n, double q) { return n == 0.0 ? 0.0 : n * std::log(q); }

/// A uniform on (0, 1) from 32 random bits.
double uniform(std::uint32_t word) { return (static_cast<double>(word) + 0.5) * 0x1p-32; }

/// Q(u) of an observation's loss beyond VaR, from its tail quantiles at a + (1 - a)(k + 1/2)/M.
double tail_quantile(const std::vector<double>& q, double level, double u) {
  const int m = static_cast<int>(q.size());
  const double position = (u - level) / (1.0 - level) * m - 0.5;  // in units of k
  if (position <= 0.0) return q.front();
  if (position >= m - 1) return q.back();
  const int k = static_cast<int>(position);
  const double w = position - k;
  return q[k] + w * (q[k + 1] - q[k]);
}

}  // namespace

double chi_square_survival(double x, int dof) {
  if (!(x > 0.0)) return 1.0;
  return dof == 1 ? std::erfc(std::sqrt(0.5 * x)) : std::exp(-0.5 * x);
}

double binomial_cdf(int k, int n, double p) {
  if (k < 0) return 0.0;
  if (k >= n) return 1.0;
  double total = 0.0;
  for (int i = 0; i <= k; ++i)
    total += std::exp(std::lgamma(n + 1.0) - std::lgamma(i + 1.0) - std::lgamma(n - i + 1.0) + count_log(i, p) +
                      count_log(n - i, 1.0 - p));
  return std::min(total, 1.0);
}

CoverageTests coverage_tests(const std::vector<int>& exceptions, double level) {
  CoverageTests t;
  const double p = 1.0 - level;
  t.observations = static_cast<int>(exceptions.size());
  for (int e : exceptions) t.exceptions += e != 0;
  t.expected_exceptions = t.observations * p;
  if (t.observations == 0) return t;
  const double n = t.observations, x = t.exceptions;
  t.rate = x / n;
  t.kupiec_lr = std::max(0.0, -2.0 * (count_log(n - x, 1.0 - p) + count_log(x, p)) +
                                  2.0 * (count_log(n - x, 1.0 - t.rate) + count_log(x, t.rate)));
  t.kupiec_p = chi_square_survival(t.kupiec_lr, 1);

  for (std::size_t i = 1; i < exceptions.size(); ++i) ++t.transitions[exceptions[i - 1] != 0][exceptions[i] != 0];
  const double n00 = t.transitions[0][0], n01 = t.transitions[0][1];
  const double n10 = t.transitions[1][0], n11 = t.transitions[1][1];
  const double pairs = n00 + n01 + n10 + n11;
  if (pairs > 0.0) {
    const double pi = (n01 + n11) / pairs;
    const double pi01 = n00 + n01 > 0.0 ? n01 / (n00 + n01) : 0.0;
    const double pi11 = n10 + n11 > 0.0 ? n11 / (n10 + n11) : 0.0;
    const double restricted = count_log(n00 + n10, 1.0 - pi) + count_log(n01 + n11, pi);
    const double markov = count_log(n00, 1.0 - pi01) + count_log(n01, pi01) + count_log(n10, 1.0 - pi11) +
                          count_log(n11, pi11);
    t.independence_lr = std::max(0.0, -2.0 * (restricted - markov));
  }
  t.independence_p = chi_square_survival(t.independence_lr, 1);
  t.conditional_coverage_lr = t.kupiec_lr + t.independence_lr;
  t.conditional_coverage_p = chi_square_survival(t.conditional_coverage_lr, 2);
  return t;
}

std::string traffic_light_zone(int exceptions, int observations, double level) {
  // No exception is no evidence against the model, however few the observations (with under
  // 1 / (1 - a) x 0.05 of them, F(0) alone passes 95%).
  if (exceptions == 0) return "green";
  const double f = binomial_cdf(exceptions, observations, 1.0 - level);
  // Basel's boundaries are on the cumulative probability of the count; a hair of rounding in
  // the sum must not move a count across them.
  if (f < 0.95 - 1e-12) return "green";
  if (f < 0.9999 - 1e-12) return "yellow";
  return "red";
}

std::vector<TrafficLightWindow> traffic_light_windows(const std::vector<int>& exceptions, double level, int window) {
  std::vector<TrafficLightWindow> windows;
  const int n_all = static_cast<int>(exceptions.size());
  for (int last = n_all - 1; last >= 0; last -= window) {
    // The oldest observations short of a whole window are left out, unless they are all there is.
    if (last + 1 < window && !windows.empty()) break;
    TrafficLightWindow w;
    w.last = last;
    w.first = std::max(0, last - window + 1);
    for (int i = w.first; i <= w.last; ++i) w.exceptions += exceptions[i] != 0;
    const int n = w.last - w.first + 1;
    w.cumulative_probability = binomial_cdf(w.exceptions, n, 1.0 - level);
    w.zone = traffic_light_zone(w.exceptions, n, level);
    windows.push_back(w);
    if (w.first == 0) break;
  }
  return windows;
}

TrafficLightWindow worst_traffic_light_window(const std::vector<int>& exceptions, double level, int window) {
  TrafficLightWindow worst;
  const int n = static_cast<int>(exceptions.size());
  if (n == 0) return worst;
  const int length = std::min(window, n);
  // A running count over the window ending at `last`; ">=" keeps the most recent of equal counts.
  int count = 0;
  worst.exceptions = -1;
  for (int last = 0; last < n; ++last) {
    count += exceptions[last] != 0;
    if (last >= length) count -= exceptions[last - length] != 0;
    if (last + 1 >= length && count >= worst.exceptions) {
      worst.first = last - length + 1;
      worst.last = last;
      worst.exceptions = count;
    }
  }
  worst.cumulative_probability = binomial_cdf(worst.exceptions, length, 1.0 - level);
  worst.zone = traffic_light_zone(worst.exceptions, length, level);
  return worst;
}

EsTest acerbi_szekely_z2(const std::vector<double>& losses, const std::vector<double>& var,
                         const std::vector<double>& es, const std::vector<std::vector<double>>& tail_quantiles,
                         double level, std::uint64_t seed, int simulations) {
  EsTest test;
  const std::size_t n = losses.size();
  if (n == 0) {
    test.zone = test.critical_values_zone = "accept";
    return test;
  }
  const double scale = 1.0 / (static_cast<double>(n) * (1.0 - level));
  double z2 = 0.0;
  for (std::size_t t = 0; t < n; ++t)
    if (losses[t] > var[t]) z2 += losses[t] / es[t];
  test.z2 = z2 * scale - 1.0;
  test.critical_values_zone =
      test.z2 > kZ2Critical001 ? "reject at 0.01%" : test.z2 > kZ2Critical5 ? "reject at 5%" : "accept";
  test.zone = test.critical_values_zone;

  // Under H0 each observation's loss is a draw from its forecast: one Philox subsequence per
  // simulated history, one draw per observation (its first word the uniform).
  int at_least = 0;
  for (int s = 0; s < simulations; ++s) {
    PhiloxStream stream(seed, static_cast<std::uint64_t>(s));
    double z = 0.0;
    for (std::size_t t = 0; t < n; ++t) {
      const RandomWords4 w = stream.next4();
      const double u = uniform(w.x);
      if (u > level) z += tail_quantile(tail_quantiles[t], level, u) / es[t];
    }
    if (z * scale - 1.0 >= test.z2) ++at_least;
  }
  test.simulations = simulations;
  if (simulations > 0) {
    test.p_value = (at_least + 1.0) / (simulations + 1.0);
    test.zone = test.p_value < 1e-4 ? "reject at 0.01%" : test.p_value < 0.05 ? "reject at 5%" : "accept";
  }
  return test;
}

}  // namespace betahedge
