#include "stats/risk_statistics.hpp"

#include <algorithm>
#include <cmath>

#include "betahedge/error.hpp"

namespace betahedge {

// The 1e-6 keeps a*n that rounds a hair above an integer (0.99 * 1e6) from skipping a rank.
std::uint64_t var_rank(double a, std::uint64_t n) {
  const auto k = static_cast<std::uint64_t>(std::ceil(a * static_cast<double>(n) - 1e-6));
  return std::clamp<std::uint64_t>(k, 1, n);
}

std::uint64_t density_half_width(std::uint64_t n) {
  return static_cast<std::uint64_t>(std::ceil(0.5 * std::sqrt(static_cast<double>(n))));
}

double expected_shortfall(const TailSample& tail, double a) {
  const std::uint64_t n = tail.size();
  const double nd = static_cast<double>(n);
  const std::uint64_t k = var_rank(a, n);
  return (tail.sum(k, n) + (static_cast<double>(k) - a * nd) * tail.at(k - 1)) / (nd * (1.0 - a));
}

double ordered_sum(const double* x, std::uint64_t n) {
  return ordered_sum_of(n, [x](std::uint64_t i) { return x[i]; });
}

ExactSum exact_sum_of(const double* x, std::uint64_t n) {
  ExactSum s;
  for (std::uint64_t i = 0; i < n; ++i) s.add(x[i]);
  return s;
}

SampleMoments moments_from_sums(std::uint64_t n, const ExactSum& sum, const ExactSum& sum_of_squares) {
  if (n < 2) throw NumericalError("statistics need at least 2 paths (got " + std::to_string(n) + ")");
  const long double nl = static_cast<long double>(n);
  const long double s1 = sum.extended_value(), s2 = sum_of_squares.extended_value();
  const long double squares_about_mean = std::max(s2 - s1 * s1 / nl, 0.0L);
  return {n, static_cast<double>(s1 / nl), static_cast<double>(std::sqrt(squares_about_mean / (nl - 1.0L)))};
}

std::uint64_t loss_tail_needed(std::uint64_t n, const std::vector<RiskLevel>& levels) {
  std::uint64_t needed = 0;
  const std::uint64_t h = density_half_width(n);
  for (const RiskLevel& level : levels) {
    const std::uint64_t k = var_rank(level.value, n);
    const std::uint64_t lowest = k - 1 >= h ? k - 1 - h : 0;  // 0-based index of L(k - h)
    needed = std::max(needed, n - lowest);
  }
  return needed;
}

PnlStatistics estimate_pnl_statistics(const SampleMoments& losses, const TailSample& tail,
                                      const std::vector<RiskLevel>& levels) {
  const std::uint64_t n = losses.count;
  if (n < 2) throw NumericalError("statistics need at least 2 paths (got " + std::to_string(n) + ")");
  const double nd = static_cast<double>(n);
  PnlStatistics s;
  s.count = n;
  s.mean = -losses.mean;
  s.stdev = losses.stdev;
  s.mean_se = s.stdev / std::sqrt(nd);

  const std::uint64_t half_width = density_half_width(n);
  for (const RiskLevel& level : levels) {
    const double a = level.value;
    const std::uint64_t k = var_rank(a, n);
    TailRisk t;
    t.level = level;
    t.var = tail.at(k - 1);
    t.es = expected_shortfall(tail, a);

    const std::uint64_t lo = k - 1 >= half_width ? k - 1 - half_width : 0;
    const std::uint64_t hi = std::min(n - 1, k - 1 + half_width);
    const double spread = tail.at(hi) - tail.at(lo);
    const double inverse_density = spread * nd / static_cast<double>(hi - lo);
    t.var_se = std::sqrt(a * (1.0 - a) / nd) * inverse_density;

    const std::uint64_t tail_count = n - k + 1;
    const double tail_mean = tail.sum(k - 1, n) / static_cast<double>(tail_count);
    const double tail_var =
        tail_count > 1 ? tail.sum_squared_deviation(k - 1, n, tail_mean) / static_cast<double>(tail_count - 1) : 0.0;
    t.es_se = std::sqrt((tail_var + a * (t.es - t.var) * (t.es - t.var)) / (nd * (1.0 - a)));
    s.tails.push_back(t);
  }
  return s;
}

PnlStatistics estimate_pnl_statistics(std::vector<double> losses, const std::vector<RiskLevel>& levels) {
  const std::uint64_t n = losses.size();
  ExactSum sum, squares;
  for (double x : losses) sum.add(x), squares.add(x * x);
  const SampleMoments moments = n >= 2 ? moments_from_sums(n, sum, squares) : SampleMoments{n, 0.0, 0.0};
  std::sort(losses.begin(), losses.end());
  return estimate_pnl_statistics(moments, TailSample(n, std::move(losses)), levels);
}

}  // namespace betahedge
