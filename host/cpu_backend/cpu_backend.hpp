#pragma once
#include <memory>

#include "betahedge/path_backend.hpp"

namespace betahedge {

/// The CPU backend: the BH_HD path code run by OpenMP threads over path ids, outcomes in
/// host memory. `threads` = 0 uses every core.
std::unique_ptr<PathBackend> make_cpu_backend(int threads);

}  // namespace betahedge
