#pragma once
/// A run split over simulated ranks, as run_path_pass does under MPI: each rank's share of the
/// path ids reduced on its own, sent as bytes (encode, decode) and merged in rank order.
#include <cstdint>
#include <optional>

#include "betahedge/path_backend.hpp"
#include "engine/path_pass.hpp"
#include "stats/outcome_reduction.hpp"

namespace betahedge::test {

inline OutcomeReduction reduce_over_simulated_ranks(PathBackend& backend, const SimulationTables& tables,
                                                    const ReductionPlan& plan, int ranks, std::uint64_t batch_size) {
  std::optional<OutcomeReduction> merged;
  for (int rank = 0; rank < ranks; ++rank) {
    OutcomeReduction mine(plan);
    backend.run(tables, PathProgram::outcomes, rank_share(plan.paths, rank, ranks), batch_size,
                [&](const OutcomeBatch& b) { mine.add(b); });
    OutcomeReduction received = OutcomeReduction::decode(plan, mine.encode());
    if (merged)
      merged->merge(received);
    else
      merged.emplace(std::move(received));
  }
  return std::move(*merged);
}

}  // namespace betahedge::test
