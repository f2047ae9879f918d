#include "engine/path_pass.hpp"

#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "ranks/ranks.hpp"

namespace betahedge {

PathIdRange rank_share(std::uint64_t paths, int rank, int ranks) {
  const std::uint64_t blocks = (paths + kReductionBlock - 1) / kReductionBlock;
  const auto edge = [&](int r) {
    return std::min(paths, blocks * static_cast<std::uint64_t>(r) / static_cast<std::uint64_t>(ranks) * kReductionBlock);
  };
  return {edge(rank), rank + 1 == ranks ? paths : edge(rank + 1)};
}

std::uint64_t aligned_batch_size(const PathBackend& backend, std::uint64_t requested, int columns) {
  const std::uint64_t batch = requested > 0 ? requested : backend.default_batch_size(columns);
  return (batch + kReductionBlock - 1) / kReductionBlock * kReductionBlock;
}

OutcomeReduction run_path_pass(PathBackend& backend, const SimulationTables& tables, PathProgram program,
                               const ReductionPlan& plan, std::uint64_t batch_size) {
  const std::uint64_t batch = aligned_batch_size(backend, batch_size, program_columns(program, tables));
  const auto run_share = [&] {
    OutcomeReduction mine(plan);
    backend.run(tables, program, rank_share(plan.paths, ranks::index(), ranks::count()), batch,
                [&](const OutcomeBatch& b) { mine.add(b); });
    return mine;
  };
  if (ranks::count() == 1) return run_share();

  // Every rank sends its reduction, or its error, and every rank merges them in rank order.
  std::string payload(1, 'R');
  try {
    payload += run_share().encode();
  } catch (...) {
    payload.assign(1, 'E');
    payload += ranks::encode_error(std::current_exception());
  }
  const std::vector<std::string> all = ranks::all_gather(payload);
  payload.clear();
  payload.shrink_to_fit();
  for (const std::string& p : all)
    if (p.empty() || p[0] == 'E') ranks::rethrow_encoded(p.empty() ? "" : p.substr(1));
  std::optional<OutcomeReduction> merged;
  for (const std::string& p : all) {
    OutcomeReduction r = OutcomeReduction::decode(plan, p.substr(1));
    if (merged)
      merged->merge(r);
    else
      merged.emplace(std::move(r));
  }
  return std::move(*merged);
}

}  // namespace betahedge
