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
  /// and keeps the per-path outcomes for the calls below. Outcomes depend on the path id only.
  virtual void simulate(const SimulationTables& tables, std::uint64_t num_paths, std::uint64_t batch_size) = 0;
  /// Losses (minus the field) of the last simulation, sorted ascending.
  virtual std::unique_ptr<SortedSample> sorted_losses(OutcomeField field) const = 0;
  /// The field itself (not negated), sorted ascending.
  virtual std::unique_ptr<SortedSample> sorted_values(OutcomeField field) const = 0;
  /// One outcome field of the last simulation, by path id, copied to the host.
  virtual std::vector<double> outcome(OutcomeField field) const = 0;
};

}  // namespace betahedge
