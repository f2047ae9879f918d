#pragma once
/// Sums whose result does not depend on the order of the terms: every statistic of a run is
/// the same for any batch size, thread count or rank count only if its sums are.
///
/// ExactSum keeps the exact sum of the doubles added to it as a short list of non-overlapping
/// partials (Shewchuk 1997, "Adaptive precision floating-point arithmetic"; the algorithm of
/// Python's math.fsum), and value() rounds that exact sum once, correctly. Adding in any order,
/// or merging accumulators in any grouping, gives the same exact sum and so the same value.
/// The engine adds one term per fixed block of 4096 path ids (the block summed in path order),
/// so the cost per path is one ordinary addition.
#include <string>
#include <vector>

namespace betahedge {

class ExactSum {
 public:
  void add(double x);
  void add(const ExactSum& other);
  /// The exact sum correctly rounded to a double (round half to even); NaN or +-inf when a
  /// non-finite term was added or the sum overflows.
  double value() const;
  /// The exact sum to 64 bits of precision: value() plus the correctly rounded remainder.
  long double extended_value() const;

  /// Appends the state to `bytes`; read() takes it back, advancing `cursor`.
  void write(std::string& bytes) const;
  static ExactSum read(const std::string& bytes, std::size_t& cursor);

 private:
  std::vector<double> partials_;  ///< non-overlapping, increasing magnitude; their sum is exact
  double special_ = 0.0;          ///< the sum of the non-finite terms (0 when none)
};

}  // namespace betahedge
