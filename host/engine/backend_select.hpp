#pragma once
#include <memory>
#include <string>
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

/// Backends compiled into this binary ("cpu", and "cuda" when built with CUDA).
std::vector<std::string> compiled_backends();

/// Devices seen: the CUDA device's name, or why none is usable.
std::string describe_cuda_devices();

}  // namespace betahedge
