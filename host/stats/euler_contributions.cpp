#include "stats/euler_contributions.hpp"

#include <algorithm>
#include <stdexcept>

#include "stats/risk_statistics.hpp"

namespace betahedge {

EulerContributions euler_contributions(std::uint64_t n, const TailRows& rows,
                                       const std::vector<TailSample>& component_losses, const RiskLevel& level) {
  const int width = rows.width;
  const double a = level.value, nd = static_cast<double>(n);
  const std::uint64_t k = var_rank(a, n), h = density_half_width(n);
  const std::uint64_t first_kept = n - rows.size();
  const std::uint64_t lo = std::max(k - 1 >= h ? k - 1 - h : 0, first_kept), hi = std::min(n - 1, k - 1 + h);
  if (rows.size() > n || k - 1 < first_kept || lo < first_kept)
    throw std::logic_error("euler_contributions: the rows do not reach the VaR window");
  // Component j's loss on the path of rank i: minus its P&L.
  const auto loss = [&](std::uint64_t i, int j) { return -rows.row(i - first_kept)[j]; };

  EulerContributions c;
  c.level = level;
  c.es.assign(width, 0.0);
  c.var.assign(width, 0.0);
  std::vector<double> window_mean(width, 0.0);
  for (int j = 0; j < width; ++j) {
    double tail = 0.0;
    for (std::uint64_t i = k; i < n; ++i) tail += loss(i, j);
    c.es[j] = (tail + (static_cast<double>(k) - a * nd) * loss(k - 1, j)) / (nd * (1.0 - a));
    double window = 0.0;
    for (std::uint64_t i = lo; i <= hi; ++i) window += loss(i, j);
    window_mean[j] = window / static_cast<double>(hi - lo + 1);
  }
  double window_total = 0.0;
  for (double m : window_mean) window_total += m;
  const double var = rows.loss[k - 1 - first_kept];
  for (int j = 0; j < width; ++j) c.var[j] = window_total != 0.0 ? window_mean[j] * (var / window_total) : window_mean[j];
  for (const TailSample& t : component_losses) c.standalone_es.push_back(expected_shortfall(t, a));
  return c;
}

}  // namespace betahedge
