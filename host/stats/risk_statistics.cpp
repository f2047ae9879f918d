#include "stats/risk_statistics.hpp"

#include <algorithm>
#include <cmath>

#include "betahedge/error.hpp"

namespace betahedge {

double ordered_sum(const double* x, std::uint64_t n) {
  return ordered_sum_of(n, [x](std::uint64_t i) { return x[i]; });
}

HostSortedSample::HostSortedSample(std::vector<double> values) : values_(std::move(values)) {
  std::sort(values_.begin(), values_.end());
}

double HostSortedSample::sum(std::uint64_t lo, std::uint64_t hi) const {
  return hi > lo ? ordered_sum(values_.data() + lo, hi - lo) : 0.0;
}

double HostSortedSample::sum_squared_deviation(std::uint64_t lo, std::uint64_t hi, double center) const {
  if (hi <= lo) return 0.0;
  const double* x = values_.data() + lo;
  return ordered_sum_of(hi - lo, [x, center](std::uint64_t i) { return (x[i] - center) * (x[i] - center); });
}

PnlStatistics estimate_pnl_statistics(const SortedSample& losses, const std::vector<RiskLevel>& levels) {
  const std::uint64_t n = losses.size();
  if (n < 2) throw NumericalError("statistics need at least 2 paths (got " + std::to_string(n) + ")");
  const double nd = static_cast<double>(n);
  PnlStatistics s;
  s.count = n;
  const double mean_loss = losses.sum(0, n) / nd;
  s.mean = -mean_loss;
  s.stdev = std::sqrt(losses.sum_squared_deviation(0, n, mean_loss) / (nd - 1.0));
  s.mean_se = s.stdev / std::sqrt(nd);

  const auto half_width = static_cast<std::uint64_t>(std::ceil(0.5 * std::sqrt(nd)));
  for (const RiskLevel& level : levels) {
    const double a = level.value;
    // k = ceil(a n) as a 1-based rank; the 1e-6 keeps a*n that rounds a hair above an
    // integer (0.99 * 1e6) from skipping a rank.
    auto k = static_cast<std::uint64_t>(std::ceil(a * nd - 1e-6));
    k = std::clamp<std::uint64_t>(k, 1, n);
    TailRisk t;
    t.level = level;
    t.var = losses.at(k - 1);
    const double tail_sum = losses.sum(k, n);
    t.es = (tail_sum + (static_cast<double>(k) - a * nd) * t.var) / (nd * (1.0 - a));

    const std::uint64_t lo = k - 1 >= half_width ? k - 1 - half_width : 0;
    const std::uint64_t hi = std::min(n - 1, k - 1 + half_width);
    const double spread = losses.at(hi) - losses.at(lo);
    const double inverse_density = spread * nd / static_cast<double>(hi - lo);
    t.var_se = std::sqrt(a * (1.0 - a) / nd) * inverse_density;

    const std::uint64_t tail_count = n - k + 1;
    const double tail_mean = losses.sum(k - 1, n) / static_cast<double>(tail_count);
    const double tail_var =
        tail_count > 1 ? losses.sum_squared_deviation(k - 1, n, tail_mean) / static_cast<double>(tail_count - 1) : 0.0;
    t.es_se = std::sqrt((tail_var + a * (t.es - t.var) * (t.es - t.var)) / (nd * (1.0 - a)));
    s.tails.push_back(t);
  }
  return s;
}

}  // namespace betahedge
