#pragma once
/// Euler allocation of a loss's ES and VaR to the components it is the sum of (Tasche 1999):
/// L = sum_j C_j, here the hedged loss and, per component, its own loss (-P&L).
///
/// With n paths ranked by L (ties by path id, TailRowKeeper), C_j(i) component j of the path of
/// rank i (0-based, ascending), a level a and k = ceil(a n) (var_rank):
/// - es_j = (sum_{i >= k} C_j(i) + (k - a n) C_j(k - 1)) / (n (1 - a)): the weights ES puts on
///   each order statistic of L (expected_shortfall), applied to the components of those paths,
///   so sum_j es_j = ES up to rounding. It estimates E[C_j | L >= VaR] (exactly its empirical
///   version, with the fractional weight at the VaR rank).
/// - var_j estimates E[C_j | L = VaR]. No path has L = VaR exactly but one, so the estimator
///   averages over the ranks k - 1 - h .. k - 1 + h around it (h = ceil(sqrt(n)/2), the window of
///   VaR's density estimate, clamped to the sample): m_j = mean of C_j there, then var_j = m_j x
///   VaR / sum_j m_j, which makes the parts sum to VaR (the window's mean loss is VaR to within the
///   window's spread; when it is zero, var_j = m_j).
/// - standalone_es_j: ES at level a of C_j alone (its own tail, not L's).
#include <cstdint>
#include <vector>

#include "config/book_config.hpp"
#include "stats/tail_rows.hpp"
#include "stats/tail_sample.hpp"

namespace betahedge {

struct EulerContributions {
  RiskLevel level;
  std::vector<double> es;             ///< [component]
  std::vector<double> var;            ///< [component]
  std::vector<double> standalone_es;  ///< [component]
};

/// Rows of n paths' top-ranked losses (loss = L, row = the components' P&L, width of them),
/// at least loss_tail_needed(n, {level}) of them, and each component's own loss tail.
EulerContributions euler_contributions(std::uint64_t n, const TailRows& rows,
                                       const std::vector<TailSample>& component_losses, const RiskLevel& level);

}  // namespace betahedge
