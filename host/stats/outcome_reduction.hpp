#pragma once
/// What one pass keeps of its paths for the statistics, reduced batch by batch (SPEC 7's
/// memory rule): exact sums, the loss tails the quantiles read, and histogram counts.
///
/// Determinism: path ids are cut into fixed blocks of kReductionBlock; each sum adds its terms
/// over a block in path order (four interleaved partial sums, combined in a fixed order) and
/// adds the block's total to an ExactSum. Blocks do not depend on batches, threads or ranks
/// (batches and rank shares start on block boundaries), and ExactSum does not depend on the
/// order blocks arrive in; the tails are exact sets of values. So a reduction merged from any
/// split of the path ids is the same, bit for bit.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "betahedge/path_backend.hpp"
#include "config/book_config.hpp"
#include "stats/exact_sum.hpp"
#include "stats/tail_rows.hpp"
#include "stats/tail_sample.hpp"

namespace betahedge {

/// Path ids per reduction block; batch sizes and rank shares are multiples of it.
inline constexpr std::uint64_t kReductionBlock = 4096;

/// The sums over paths of the OutcomeField columns that the scenario statistics use:
/// u = pnl_unhedged, h = pnl_hedged, their powers and cross products up to the fourth order
/// (hedge effectiveness and its standard error), and the margin and beta means.
enum class OutcomeSum : int {
  u, uu, h, hh, uh, uuh, uhh, uuhh, uuu, uuuu, hhh, hhhh,
  paths_called,     ///< paths with first_call_step >= 0
  first_call_steps, ///< sum of first_call_step over those paths
  paths_called_early, ///< paths first called before the plan's last step (all called ones when steps is 0)
  liquidated,
  costs,
  rebalances,
  beta_deviation,
  count
};

/// Common histogram bins for the unhedged and hedged P&L.
struct HistogramBins {
  double lo = 0.0;
  double width = 1.0;
  int count = 100;
};

/// What to keep: the tails sized for `paths` paths in all (every rank's), at `levels` and
/// max_call_probability (the largest call probability whose collateral is read), and `grid_count` ratios for the grid program (0 for outcomes only),
/// of the outcome set whose columns start at `first_column`.
struct ReductionPlan {
  std::uint64_t paths = 0;
  /// Where this plan's OutcomeField columns start in the batch (several outcome sets in one
  /// pass: the band sweep's bands).
  int first_column = 0;
  std::vector<RiskLevel> levels;
  double max_call_probability = 0.0;
  int grid_count = 0;
  std::optional<HistogramBins> histogram;
  /// Whether to keep the collateral shortfalls' tail (the band sweep's bands do not track them).
  bool collateral_shortfalls = true;
  /// The steps of this outcome set's horizon: a call at the last one changes the figures by its
  /// trading costs only (a liquidation or top-up at the final mark), so paths_called_early leaves
  /// it out. 0: unknown.
  int steps = 0;
  /// The Euler contributions' level (none: nothing kept for them). Then the batch holds `assets`
  /// per-asset P&L columns from column asset_pnl_column of the whole batch (AssetPnlView), and the
  /// reduction keeps, for the paths of the hedged loss tail at that level, each path's components
  /// (the assets' P&L and the hedge leg's, pnl_hedged - pnl_unhedged), and each component's own
  /// loss tail: memory loss_tail_needed(paths, {level}) x (2 x (assets + 1) + 2) values.
  std::optional<RiskLevel> contribution_level;
  int asset_pnl_column = 0;
  int assets = 0;
  /// The hedge's components after the assets: one, "hedge" (pnl_hedged - pnl_unhedged), for a
  /// hedge of one leg (hedge_legs < 2); else each leg's P&L (LegDetailColumns::pnl from
  /// leg_detail_column of the whole batch) and, with margin_actions, the top-ups' share
  /// (pnl_hedged - pnl_unhedged - the legs: the cash moved and the book sold). The last
  /// component is that difference less the others, so the components sum to pnl_hedged exactly
  /// (without top-ups the last leg's P&L, to rounding).
  int hedge_legs = 0;
  int leg_detail_column = 0;
  bool margin_actions = false;
  int hedge_components() const { return hedge_legs < 2 ? 1 : hedge_legs + (margin_actions ? 1 : 0); }
};

/// floor(p n): the paths of n that may meet a margin call at call probability p.
std::uint64_t allowed_calls(std::uint64_t n, double p);
/// How many of the largest shortfalls give the least collateral with call probability <= p:
/// D(n - floor(p n)), so the floor(p n) + 1 largest.
std::uint64_t shortfall_tail_needed(std::uint64_t n, double p);
/// The least collateral with call probability <= p from a sample of per-path collateral
/// shortfalls (a path is called iff its shortfall exceeds the collateral): D(n - floor(p n)) of
/// the sorted shortfalls, 0 when every path may be called.
double collateral_for_call_probability(const TailSample& shortfalls, double p);

class OutcomeReduction {
 public:
  explicit OutcomeReduction(const ReductionPlan& plan);

  /// Adds one batch (columns of the program the plan is for). Its first path id must be a
  /// multiple of kReductionBlock.
  void add(const OutcomeBatch& batch);
  /// Adds another reduction of the same plan (another rank's paths).
  void merge(const OutcomeReduction& other);

  const ReductionPlan& plan() const { return plan_; }
  std::uint64_t paths_added() const { return paths_; }
  const ExactSum& sum(OutcomeSum s) const { return sums_[static_cast<int>(s)]; }
  /// Ratio r's hedged P&L, its square, and its call indicator, summed over paths.
  const ExactSum& ratio_pnl_sum(int r) const { return sums_[grid_sum_index(r, 0)]; }
  const ExactSum& ratio_pnl_squares(int r) const { return sums_[grid_sum_index(r, 1)]; }
  const ExactSum& ratio_calls(int r) const { return sums_[grid_sum_index(r, 2)]; }
  /// g = the ratio-1 hedge P&L without margin action: sum g, sum g^2, sum u g.
  const ExactSum& unit_hedge_sum() const { return sums_[grid_sum_index(plan_.grid_count, 0)]; }
  const ExactSum& unit_hedge_squares() const { return sums_[grid_sum_index(plan_.grid_count, 1)]; }
  const ExactSum& unhedged_times_unit_hedge() const { return sums_[grid_sum_index(plan_.grid_count, 2)]; }

  /// The kept tails, sorted, as samples of paths_added() values.
  TailSample unhedged_losses() const { return tail(0); }
  TailSample hedged_losses() const { return tail(1); }
  /// Only when plan().collateral_shortfalls.
  TailSample collateral_shortfalls() const { return tail(2); }
  TailSample ratio_losses(int r) const { return tail(3 + r); }
  TailSample unit_shortfalls() const { return tail(3 + plan_.grid_count); }
  /// Only with plan().contribution_level: the hedged loss tail's paths, each with its
  /// components' P&L (the assets in column order, then the hedge's, ReductionPlan::hedge_legs),
  /// and component j's own losses.
  TailRows component_rows() const { return component_rows_.sorted_rows(); }
  TailSample component_losses(int j) const {
    return component_tails_[j].sample(paths_, "the hedged P&L's component " + std::to_string(j) + " (the assets, then the hedge)");
  }
  /// Paths per histogram bin (empty without a histogram in the plan).
  const std::vector<std::uint64_t>& unhedged_counts() const { return unhedged_counts_; }
  const std::vector<std::uint64_t>& hedged_counts() const { return hedged_counts_; }

  /// The most tail values held at once, summed over the tails (the statistics' memory
  /// high-water mark, in doubles; it grows with the tails, never with every path).
  std::uint64_t peak_tail_values() const;

  /// The state as bytes (to gather ranks' reductions) and back.
  std::string encode() const;
  static OutcomeReduction decode(const ReductionPlan& plan, const std::string& bytes);

 private:
  static int grid_sum_index(int r, int which) { return static_cast<int>(OutcomeSum::count) + 3 * r + which; }
  TailSample tail(int i) const;
  void add_block_sums(const OutcomeBatch& batch);
  /// The contributions' rows and component tails of `batch` (this plan's columns of `whole`).
  void add_components(const OutcomeBatch& whole, const OutcomeBatch& batch);

  ReductionPlan plan_;
  std::uint64_t paths_ = 0;
  std::vector<ExactSum> sums_;
  std::vector<TailKeeper> tails_;  ///< unhedged loss, hedged loss, shortfall, then per ratio, unit shortfall
  std::vector<std::uint64_t> unhedged_counts_, hedged_counts_;
  TailRowKeeper component_rows_;
  std::vector<TailKeeper> component_tails_;  ///< per asset, then the hedge leg
  std::vector<double> hedge_rest_;           ///< the batch's last hedge component (scratch)
};

}  // namespace betahedge
