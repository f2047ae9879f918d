#pragma once
/// The interface both backends implement. The CPU backend lives in host/cpu_backend, the CUDA
/// backend in kernels/; host/engine/backend_select.cpp is the one place that chooses.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "betahedge/simulation_tables.hpp"

namespace betahedge {

/// A sample sorted ascending, kept wherever the backend keeps it. Reductions run in a fixed
/// order, so they do not depend on the thread count.
class SortedSample {
 public:
  virtual ~SortedSample() = default;
  virtual std::uint64_t size() const = 0;
  virtual double at(std::uint64_t i) const = 0;
  /// Sum of elements [lo, hi).
  virtual double sum(std::uint64_t lo, std::uint64_t hi) const = 0;
  /// Sum of (x - center)^2 over elements [lo, hi).
  virtual double sum_squared_deviation(std::uint64_t lo, std::uint64_t hi, double center) const = 0;
};

class PathBackend {
 public:
  virtual ~PathBackend() = default;
  /// "cpu" or "cuda".
  virtual std::string name() const = 0;
  /// The processor or GPU that runs the paths, in words.
  virtual std::string device_name() const = 0;
  /// Simulates path ids [0, num_paths) in batches of `batch_size` (0 = the backend's choice)
  /// and keeps the per-path outcomes (OutcomeField columns). Outcomes depend on the path id only.
  virtual void simulate(const SimulationTables& tables, std::uint64_t num_paths, std::uint64_t batch_size) = 0;
  /// Evaluates the static hedge at every ratio of the tables' grid in one pass on the same paths
  /// (simulate_ratio_grid_path) and keeps its outcomes (RatioGridColumns).
  virtual void simulate_ratio_grid(const SimulationTables& tables, std::uint64_t num_paths,
                                   std::uint64_t batch_size) = 0;
  /// Column `column` of the last simulation, sorted ascending; negated first when `negate`.
  virtual std::unique_ptr<SortedSample> sorted_column(int column, bool negate) const = 0;
  /// Column `column` of the last simulation, by path id, copied to the host.
  virtual std::vector<double> column(int column) const = 0;

  /// Losses (minus the field) of the last `simulate`, sorted ascending.
  std::unique_ptr<SortedSample> sorted_losses(OutcomeField field) const {
    return sorted_column(static_cast<int>(field), true);
  }
  /// The field of the last `simulate`, sorted ascending.
  std::unique_ptr<SortedSample> sorted_values(OutcomeField field) const {
    return sorted_column(static_cast<int>(field), false);
  }
  /// One field of the last `simulate`, by path id.
  std::vector<double> outcome(OutcomeField field) const { return column(static_cast<int>(field)); }
};

}  // namespace betahedge
