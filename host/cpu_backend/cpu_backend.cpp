#include "cpu_backend/cpu_backend.hpp"

#include <omp.h>

#include <algorithm>
#include <fstream>
#include <string>

#include "betahedge/path_simulation.hpp"
#include "betahedge/philox.hpp"
#include "stats/risk_statistics.hpp"

namespace betahedge {
namespace {

constexpr std::uint64_t kDefaultBatch = 1u << 16;

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  return "CPU";
}

class CpuBackend final : public PathBackend {
 public:
  explicit CpuBackend(int threads) : threads_(threads > 0 ? threads : omp_get_num_procs()) {}

  std::string name() const override { return "cpu"; }
  std::string device_name() const override {
    return cpu_model_name() + " (" + std::to_string(threads_) + " threads)";
  }

  void simulate(const SimulationTables& tables, std::uint64_t num_paths, std::uint64_t batch_size) override {
    run_paths(tables, num_paths, batch_size, kNumOutcomeFields, [](const SimulationView& view, auto capacity,
                                                                   std::uint64_t path_id, const OutcomeColumns& out) {
      PhiloxStream gen(view.seed, path_id);
      store_outcome(out, path_id, simulate_path<decltype(capacity)::value>(view, gen));
    });
  }

  void simulate_ratio_grid(const SimulationTables& tables, std::uint64_t num_paths, std::uint64_t batch_size) override {
    const int columns = RatioGridColumns::total(tables.scalars.hedge.num_grid_ratios);
    run_paths(tables, num_paths, batch_size, columns, [](const SimulationView& view, auto capacity,
                                                         std::uint64_t path_id, const OutcomeColumns& out) {
      PhiloxStream gen(view.seed, path_id);
      simulate_ratio_grid_path<decltype(capacity)::value>(view, gen, out, path_id);
    });
  }

  std::unique_ptr<SortedSample> sorted_column(int column_index, bool negate) const override {
    std::vector<double> values = column(column_index);
    if (negate)
      for (double& x : values) x = -x;
    return std::make_unique<HostSortedSample>(std::move(values));
  }

  std::vector<double> column(int column_index) const override {
    const auto first = outcomes_.begin() + static_cast<std::ptrdiff_t>(column_index * num_paths_);
    return std::vector<double>(first, first + static_cast<std::ptrdiff_t>(num_paths_));
  }

 private:
  /// Runs `path(view, capacity, path_id, columns)` for every path id, batch by batch, OpenMP
  /// threads within a batch; `columns` outcome columns of num_paths each.
  template <class PathFunction>
  void run_paths(const SimulationTables& tables, std::uint64_t num_paths, std::uint64_t batch_size, int columns,
                 PathFunction path) {
    const std::uint64_t batch = batch_size > 0 ? batch_size : kDefaultBatch;
    num_paths_ = num_paths;
    outcomes_.assign(num_paths * columns, 0.0);
    const OutcomeColumns out{outcomes_.data(), num_paths};
    const SimulationView view = tables.view(tables.data.data());
    with_path_capacity(view.market.num_assets, [&](auto capacity) {
      for (std::uint64_t first = 0; first < num_paths; first += batch) {
        const auto count = static_cast<std::int64_t>(std::min(batch, num_paths - first));
#pragma omp parallel for schedule(static) num_threads(threads_)
        for (std::int64_t i = 0; i < count; ++i) path(view, capacity, first + static_cast<std::uint64_t>(i), out);
      }
    });
  }

  int threads_;
  std::uint64_t num_paths_ = 0;
  std::vector<double> outcomes_;  ///< kNumOutcomeFields columns of num_paths_
};

}  // namespace

std::unique_ptr<PathBackend> make_cpu_backend(int threads) { return std::make_unique<CpuBackend>(threads); }

}  // namespace betahedge
