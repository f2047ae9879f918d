#include "engine/path_pass.hpp"

#include <cstring>
#include <exception>
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

std::vector<OutcomeReduction> run_path_pass(PathBackend& backend, const SimulationTables& tables,
                                            PathProgram program, const std::vector<ReductionPlan>& plans,
                                            std::uint64_t batch_size, const std::vector<BatchReducer*>& reducers) {
  const std::uint64_t batch = aligned_batch_size(backend, batch_size, program_columns(program, tables));
  const std::uint64_t paths = plans.at(0).paths;
  const auto run_share = [&] {
    std::vector<OutcomeReduction> mine(plans.begin(), plans.end());
    backend.run(tables, program, rank_share(paths, ranks::index(), ranks::count()), batch, [&](const OutcomeBatch& b) {
      for (OutcomeReduction& r : mine) r.add(b);
      for (BatchReducer* r : reducers) r->add(b);
    });
    return mine;
  };
  if (ranks::count() == 1) return run_share();

  // Every rank sends its reductions (each after its size), then its other reducers' states, or
  // its error, and every rank merges them in rank order.
  const auto append = [](std::string& payload, const std::string& bytes) {
    const std::uint64_t size = bytes.size();
    payload.append(reinterpret_cast<const char*>(&size), sizeof size);
    payload += bytes;
  };
  std::string payload(1, 'R');
  try {
    for (const OutcomeReduction& r : run_share()) append(payload, r.encode());
    for (const BatchReducer* r : reducers) append(payload, r->encode());
  } catch (...) {
    payload.assign(1, 'E');
    payload += ranks::encode_error(std::current_exception());
  }
  const std::vector<std::string> all = ranks::all_gather(payload);
  payload.clear();
  payload.shrink_to_fit();
  for (const std::string& p : all)
    if (p.empty() || p[0] == 'E') ranks::rethrow_encoded(p.empty() ? "" : p.substr(1));
  std::vector<OutcomeReduction> merged(plans.begin(), plans.end());
  std::vector<std::vector<std::string>> reducer_states(reducers.size());
  for (const std::string& p : all) {
    std::size_t cursor = 1;
    const auto next = [&] {
      std::uint64_t size = 0;
      std::memcpy(&size, p.data() + cursor, sizeof size);
      cursor += sizeof size;
      std::string bytes = p.substr(cursor, size);
      cursor += size;
      return bytes;
    };
    for (std::size_t i = 0; i < plans.size(); ++i) merged[i].merge(OutcomeReduction::decode(plans[i], next()));
    for (std::size_t i = 0; i < reducers.size(); ++i) reducer_states[i].push_back(next());
  }
  for (std::size_t i = 0; i < reducers.size(); ++i) reducers[i]->merge_ranks(reducer_states[i]);
  return merged;
}

std::vector<OutcomeReduction> run_path_pass(PathBackend& backend, const SimulationTables& tables,
                                            PathProgram program, const std::vector<ReductionPlan>& plans,
                                            std::uint64_t batch_size) {
  return run_path_pass(backend, tables, program, plans, batch_size, {});
}

OutcomeReduction run_path_pass(PathBackend& backend, const SimulationTables& tables, PathProgram program,
                               const ReductionPlan& plan, std::uint64_t batch_size) {
  return std::move(run_path_pass(backend, tables, program, std::vector<ReductionPlan>{plan}, batch_size).front());
}

}  // namespace betahedge
