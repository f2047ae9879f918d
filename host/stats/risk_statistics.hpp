#pragma once
/// P&L statistics from the moments and the loss tail of a sample (loss = -P&L), with standard
/// errors.
///
/// With n losses sorted ascending, L(1) <= ... <= L(n), and a level a, k = ceil(a n):
/// - mean P&L = -sum L / n, se = stdev / sqrt(n); stdev with the n-1 divisor. The sums are
///   exact (ExactSum) and rounded once.
/// - VaR_a = L(k), the lower a-quantile of the empirical loss distribution.
///   se(VaR) = sqrt(a (1-a) / n) / f(VaR), with the density from the difference quotient
///   f ~ (2h/n) / (L(k+h) - L(k-h)), h = ceil(sqrt(n)/2), clamped to the sample.
/// - ES_a = (1 / (n (1-a))) [ sum_{i>k} L(i) + (k - a n) L(k) ], the exact expected
///   shortfall of the empirical distribution (Acerbi and Tasche 2002): the mean loss beyond VaR.
///   se(ES) = sqrt( (Var(L | L >= VaR) + a (ES - VaR)^2) / (n (1-a)) ), its asymptotic
///   standard error (e.g. Brazauskas et al. 2008), the tail variance from L(k..n).
/// Only L(k - h) and above are read: loss_tail_needed says how many of the largest losses that is.
#include <cstdint>
#include <string>
#include <vector>

#include "config/book_config.hpp"
#include "stats/exact_sum.hpp"
#include "stats/tail_sample.hpp"

namespace betahedge {

struct TailRisk {
  RiskLevel level;
  double var = 0.0;
  double var_se = 0.0;
  double es = 0.0;
  double es_se = 0.0;
};

struct PnlStatistics {
  std::uint64_t count = 0;
  double mean = 0.0;
  double mean_se = 0.0;
  double stdev = 0.0;
  std::vector<TailRisk> tails;  ///< one per level, in the config's order
};

/// Mean and standard deviation (n - 1 divisor) of n values from their exact sum and sum of
/// squares, evaluated in extended precision (the relative error of the variance is about
/// 1e-16 (1 + mean^2 / variance)).
struct SampleMoments {
  std::uint64_t count = 0;
  double mean = 0.0;
  double stdev = 0.0;
};
SampleMoments moments_from_sums(std::uint64_t n, const ExactSum& sum, const ExactSum& sum_of_squares);

/// k = ceil(a n), the 1-based rank of VaR_a among n losses sorted ascending.
std::uint64_t var_rank(double a, std::uint64_t n);
/// h = ceil(sqrt(n) / 2), the half-width in ranks of the VaR density's difference quotient.
std::uint64_t density_half_width(std::uint64_t n);
/// ES_a of the tail's sample (tail.size() values), the formula above: the one place it is written.
double expected_shortfall(const TailSample& tail, double a);

/// The number of largest losses that estimate_pnl_statistics reads for n losses at `levels`.
std::uint64_t loss_tail_needed(std::uint64_t n, const std::vector<RiskLevel>& levels);

/// The statistics from the losses' moments and their tail (at least loss_tail_needed values).
PnlStatistics estimate_pnl_statistics(const SampleMoments& losses, const TailSample& tail,
                                      const std::vector<RiskLevel>& levels);

/// The same from every loss in memory (tests and small samples).
PnlStatistics estimate_pnl_statistics(std::vector<double> losses, const std::vector<RiskLevel>& levels);

/// The exact sum of x[0..n), correctly rounded.
ExactSum exact_sum_of(const double* x, std::uint64_t n);

/// Sum in fixed blocks of 4096 (each summed in order, then the block sums in order): the
/// result does not depend on the number of threads.
double ordered_sum(const double* x, std::uint64_t n);

/// sum_{i<n} term(i) in the same fixed block order as ordered_sum, without a temporary array.
template <class Term>
double ordered_sum_of(std::uint64_t n, Term term) {
  constexpr std::uint64_t kBlock = 4096;
  const std::uint64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> block_sums(blocks, 0.0);
#pragma omp parallel for schedule(static)
  for (std::int64_t b = 0; b < static_cast<std::int64_t>(blocks); ++b) {
    const std::uint64_t lo = b * kBlock, hi = lo + kBlock < n ? lo + kBlock : n;
    double s = 0.0;
    for (std::uint64_t i = lo; i < hi; ++i) s += term(i);
    block_sums[b] = s;
  }
  double total = 0.0;
  for (double s : block_sums) total += s;
  return total;
}

}  // namespace betahedge
