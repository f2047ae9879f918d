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
    const std::uint64_t batch = batch_size > 0 ? batch_size : kDefaultBatch;
    num_paths_ = num_paths;
    outcomes_.assign(num_paths * kNumOutcomeFields, 0.0);
    const OutcomeColumns columns{outcomes_.data(), num_paths};
    const SimulationView view = tables.view(tables.data.data());
    with_path_capacity(view.market.num_assets, [&](auto capacity) {
      constexpr int kCapacity = decltype(capacity)::value;
      for (std::uint64_t first = 0; first < num_paths; first += batch) {
        const auto count = static_cast<std::int64_t>(std::min(batch, num_paths - first));
#pragma omp parallel for schedule(static) num_threads(threads_)
        for (std::int64_t i = 0; i < count; ++i) {
          const std::uint64_t path_id = first + static_cast<std::uint64_t>(i);
          PhiloxStream gen(view.seed, path_id);
          store_outcome(columns, path_id, simulate_path<kCapacity>(view, gen));
        }
      }
    });
  }

  std::unique_ptr<SortedSample> sorted_losses(OutcomeField field) const override {
    std::vector<double> losses = outcome(field);
    for (double& x : losses) x = -x;
    return std::make_unique<HostSortedSample>(std::move(losses));
  }

  std::unique_ptr<SortedSample> sorted_values(OutcomeField field) const override {
    return std::make_unique<HostSortedSample>(outcome(field));
  }

  std::vector<double> outcome(OutcomeField field) const override {
    const auto first = outcomes_.begin() + static_cast<std::ptrdiff_t>(static_cast<int>(field) * num_paths_);
    return std::vector<double>(first, first + static_cast<std::ptrdiff_t>(num_paths_));
  }

 private:
  int threads_;
  std::uint64_t num_paths_ = 0;
  std::vector<double> outcomes_;  ///< kNumOutcomeFields columns of num_paths_
};

}  // namespace

std::unique_ptr<PathBackend> make_cpu_backend(int threads) { return std::make_unique<CpuBackend>(threads); }

}  // namespace betahedge
