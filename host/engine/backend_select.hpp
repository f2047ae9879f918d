#pragma once
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "betahedge/path_backend.hpp"
#include "config/book_config.hpp"

namespace betahedge {

struct SelectedBackend {
  std::unique_ptr<PathBackend> backend;
  std::string note;  ///< why this backend ran (for `auto`: which was picked and why)
};

/// The one place that chooses a backend. `auto` picks cuda when a device is usable, else cpu;
/// `cuda` without a usable device throws DeviceError (exit 4).
SelectedBackend select_backend(BackendChoice choice, int threads);

/// Called on the calling thread between the batches of a pass; what it throws stops the pass and
/// propagates out of the job, nothing kept (the Python package raises KeyboardInterrupt there).
using BatchCheck = std::function<void()>;

/// `backend` calling `check` after each batch, before the batch is handed on: the way to stop a
/// long job from outside (Ctrl-C) at the next batch boundary. An empty check is never called.
class CheckedBackend final : public PathBackend {
 public:
  CheckedBackend(PathBackend& backend, BatchCheck check) : backend_(backend), check_(std::move(check)) {}
  std::string name() const override { return backend_.name(); }
  std::string device_name() const override { return backend_.device_name(); }
  std::uint64_t default_batch_size(int columns) const override { return backend_.default_batch_size(columns); }
  void run(const SimulationTables& tables, PathProgram program, PathIdRange range, std::uint64_t batch_size,
           const BatchConsumer& consume) override {
    if (!check_) return backend_.run(tables, program, range, batch_size, consume);
    backend_.run(tables, program, range, batch_size, [&](const OutcomeBatch& batch) {
      check_();
      consume(batch);
    });
  }

 private:
  PathBackend& backend_;
  BatchCheck check_;
};

/// Backends compiled into this binary ("cpu", and "cuda" when built with CUDA).
std::vector<std::string> compiled_backends();

/// Devices seen: the CUDA device's name, or why none is usable.
std::string describe_cuda_devices();

}  // namespace betahedge
