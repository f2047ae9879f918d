#pragma once
/// The tails the quantiles need, kept exactly while paths stream past.
///
/// A VaR at level a of n losses is one order statistic, L(ceil(a n)); its ES, standard errors
/// and the collateral quantiles read only order statistics at or above a known rank. So a run
/// keeps, per column, the largest `keep` values (keep ~ n (1 - a) + sqrt(n)), exactly: the same
/// values a sort of every path would put there, ties included, and no estimate. Memory is
/// about 1.5 x keep values per column, whatever n is beyond that.
#include <cstdint>
#include <string>
#include <vector>

namespace betahedge {

class TailSample;

/// The largest `keep` values of a stream; NaN is never kept.
class TailKeeper {
 public:
  explicit TailKeeper(std::uint64_t keep = 0) : keep_(keep) {}
  /// Offers values[0..count), negated first when `negate` (losses from P&L).
  void add(const double* values, std::uint64_t count, bool negate);
  void add(const TailKeeper& other);
  std::uint64_t keep() const { return keep_; }
  /// The most values held at once (the statistics' memory high-water mark, in doubles).
  std::uint64_t peak_values() const { return peak_; }
  /// The kept values (the largest min(keep, offered) of all offered), sorted ascending.
  std::vector<double> sorted_values() const;
  /// The kept values as the top of a sample of `size` values, `size` being every value offered
  /// (NaN included): what the tail's order statistics are read from. `what` names the values
  /// in its errors ("the hedged P&L").
  TailSample sample(std::uint64_t size, std::string what) const;

  void write(std::string& bytes) const;
  static TailKeeper read(const std::string& bytes, std::size_t& cursor);

 private:
  /// Drops all but the largest keep_ values, which raises the admission threshold.
  void trim();
  std::uint64_t keep_ = 0;
  std::vector<double> values_;  ///< the buffer: values_[0, held_) are the values held
  std::uint64_t held_ = 0;
  double threshold_ = -__builtin_inf();  ///< values below it can no longer be among the largest keep_
  std::uint64_t peak_ = 0;
};

/// The top of a sample of n values sorted ascending: element i for i >= first_kept().
/// Reading below it throws: NumericalError when the values missing there are NaN (a simulation
/// that overflowed), else std::logic_error (the run did not keep that order statistic: a bug).
class TailSample {
 public:
  /// `not_a_number`: how many of the `size` values were NaN and left out of `top_ascending`
  /// (counted only when all the others are there; 0 when unknown); `what` names the values.
  TailSample(std::uint64_t size, std::vector<double> top_ascending, std::uint64_t not_a_number = 0,
             std::string what = "the values");
  std::uint64_t size() const { return size_; }
  std::uint64_t first_kept() const { return size_ - top_.size(); }
  double at(std::uint64_t i) const;
  /// Sum of elements [lo, hi), in fixed blocks (ordered_sum).
  double sum(std::uint64_t lo, std::uint64_t hi) const;
  /// Sum of (x - center)^2 over elements [lo, hi).
  double sum_squared_deviation(std::uint64_t lo, std::uint64_t hi, double center) const;

 private:
  const double* element(std::uint64_t i) const;
  std::uint64_t size_;
  std::vector<double> top_;
  std::uint64_t not_a_number_;
  std::string what_;
};

}  // namespace betahedge
