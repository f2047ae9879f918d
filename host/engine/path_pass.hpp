#pragma once
/// One pass over a run's path ids, split across the job's ranks (SPEC 7): each rank simulates
/// its share batch by batch and reduces it (host/stats), then every rank receives the merged
/// reduction of all ranks' paths, the same bytes on every rank.
#include <cstdint>
#include <vector>

#include "betahedge/path_backend.hpp"
#include "stats/outcome_reduction.hpp"

namespace betahedge {

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

}  // namespace betahedge
