#pragma once
/// What a pass keeps of the leg detail of a hedge of several legs (LegDetailColumns): each leg's
/// P&L, costs and funding summed, each margin account's calls counted and its collateral
/// shortfalls' tail kept, for the per-leg and per-account figures. The same determinism as
/// outcome_reduction.hpp: block sums in path order (block_sum), then ExactSum; exact tails.
#include <cstdint>
#include <string>
#include <vector>

#include "betahedge/path_backend.hpp"
#include "stats/exact_sum.hpp"
#include "stats/tail_sample.hpp"

namespace betahedge {

struct LegReductionPlan {
  std::uint64_t paths = 0;      ///< every rank's paths
  int legs = 0;
  int accounts = 0;
  int first_column = 0;         ///< leg_detail_first_column of the pass's program
  /// The largest call probability whose collateral is read (sizes the shortfall tails).
  double max_call_probability = 0.0;
};

class LegReduction {
 public:
  explicit LegReduction(const LegReductionPlan& plan);

  /// Adds one batch; its first path id must be a multiple of kReductionBlock.
  void add(const OutcomeBatch& batch);
  void merge(const LegReduction& other);

  const LegReductionPlan& plan() const { return plan_; }
  std::uint64_t paths_added() const { return paths_; }
  const ExactSum& pnl_sum(int leg) const { return sums_[leg_sum(leg, 0)]; }
  const ExactSum& pnl_squares(int leg) const { return sums_[leg_sum(leg, 1)]; }
  const ExactSum& costs_sum(int leg) const { return sums_[leg_sum(leg, 2)]; }
  const ExactSum& funding_sum(int leg) const { return sums_[leg_sum(leg, 3)]; }
  /// Paths on which account a met a call.
  const ExactSum& calls(int account) const { return sums_[kLegSums * plan_.legs + account]; }
  /// Account a's collateral shortfalls, the largest kept, as a sample of paths_added() values.
  TailSample shortfalls(int account) const;
  std::uint64_t peak_tail_values() const;

  std::string encode() const;
  static LegReduction decode(const LegReductionPlan& plan, const std::string& bytes);

 private:
  static constexpr int kLegSums = 4;
  static int leg_sum(int leg, int which) { return kLegSums * leg + which; }

  LegReductionPlan plan_;
  std::uint64_t paths_ = 0;
  std::vector<ExactSum> sums_;
  std::vector<TailKeeper> shortfall_tails_;  ///< per account
};

}  // namespace betahedge
