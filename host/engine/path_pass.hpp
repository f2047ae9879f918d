#pragma once
/// One pass over a run's path ids, split across the job's ranks (SPEC 7): each rank simulates
/// its share batch by batch and reduces it (host/stats), then every rank receives the merged
/// reduction of all ranks' paths, the same bytes on every rank.
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "betahedge/path_backend.hpp"
#include "stats/outcome_reduction.hpp"

namespace betahedge {

/// A reduction of a pass's batches beside its OutcomeReductions (the hedge-vector optimiser's
/// moments and rows): fed every batch of this rank's share, then, with several ranks, replaced by
/// the merge of every rank's state (the same bytes on every rank).
class BatchReducer {
 public:
  virtual ~BatchReducer() = default;
  virtual void add(const OutcomeBatch& batch) = 0;
  virtual std::string encode() const = 0;
  /// Becomes the merge of these states, one per rank in rank order (its own among them).
  virtual void merge_ranks(const std::vector<std::string>& states) = 0;
};

/// A BatchReducer of a reduction type R (LegReduction, HedgeMoments, HedgeRows): `feed` adds a
/// batch, R::encode and R::merge carry it across ranks, `decode` reads a rank's bytes back.
template <class R>
class ReducerOf final : public BatchReducer {
 public:
  using Feed = std::function<void(R&, const OutcomeBatch&)>;
  using Decode = std::function<R(const std::string&)>;
  ReducerOf(R empty, Feed feed, Decode decode)
      : empty_(empty), value_(std::move(empty)), feed_(std::move(feed)), decode_(std::move(decode)) {}
  void add(const OutcomeBatch& batch) override { feed_(value_, batch); }
  std::string encode() const override { return value_.encode(); }
  void merge_ranks(const std::vector<std::string>& states) override {
    R merged = empty_;
    for (const std::string& state : states) merged.merge(decode_(state));
    value_ = std::move(merged);
  }
  const R& value() const { return value_; }

 private:
  R empty_;
  R value_;
  Feed feed_;
  Decode decode_;
};

/// This rank's share of path ids [0, paths): contiguous, cut on reduction-block boundaries,
/// the blocks dealt as evenly as they go.
PathIdRange rank_share(std::uint64_t paths, int rank, int ranks);

/// The batch size a pass uses: `requested` (0 = the backend's choice for `columns` columns)
/// rounded up to a multiple of kReductionBlock.
std::uint64_t aligned_batch_size(const PathBackend& backend, std::uint64_t requested, int columns);

/// Runs `program` over this rank's share of [0, plan.paths) and returns the reduction of every
/// rank's paths. An error on any rank (bad input met late, a device failure) is raised, the
/// same, on every rank, after every rank has finished its share: no rank is left waiting.
OutcomeReduction run_path_pass(PathBackend& backend, const SimulationTables& tables, PathProgram program,
                               const ReductionPlan& plan, std::uint64_t batch_size);

/// The same with several reductions of each batch (one per outcome set of the program, each
/// plan's first_column saying where its columns start); all plans are for the same paths.
std::vector<OutcomeReduction> run_path_pass(PathBackend& backend, const SimulationTables& tables,
                                            PathProgram program, const std::vector<ReductionPlan>& plans,
                                            std::uint64_t batch_size);

/// The same, also feeding every batch to each of `reducers` (and merging them across ranks).
std::vector<OutcomeReduction> run_path_pass(PathBackend& backend, const SimulationTables& tables,
                                            PathProgram program, const std::vector<ReductionPlan>& plans,
                                            std::uint64_t batch_size, const std::vector<BatchReducer*>& reducers);

}  // namespace betahedge
