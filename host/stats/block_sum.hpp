#pragma once
/// The sum over one reduction block in path order, the one grouping every streaming sum uses
/// (outcome_reduction.hpp): changing it changes the bits of every reported figure.
#include <cstdint>

namespace betahedge {

/// sum_{i in [lo, hi)} term(i): four partial sums, path lo + j into sum j mod 4, each in path
/// order, then (s0 + s1) + (s2 + s3). Four chains instead of one let the additions overlap.
template <class Term>
double block_sum(std::uint64_t lo, std::uint64_t hi, Term term) {
  double s[4] = {0.0, 0.0, 0.0, 0.0};
  std::uint64_t i = lo;
  for (; i + 4 <= hi; i += 4) {
    s[0] += term(i);
    s[1] += term(i + 1);
    s[2] += term(i + 2);
    s[3] += term(i + 3);
  }
  for (; i < hi; ++i) s[(i - lo) % 4] += term(i);
  return (s[0] + s[1]) + (s[2] + s[3]);
}

}  // namespace betahedge
