#include "engine/backend_select.hpp"

#include <algorithm>

#include "betahedge/error.hpp"
#include "cpu_backend/cpu_backend.hpp"
#include "ranks/ranks.hpp"
#if BETAHEDGE_HAVE_CUDA
#include "betahedge/cuda_backend.hpp"
#endif

namespace betahedge {

SelectedBackend select_backend(BackendChoice choice, int threads) {
#if BETAHEDGE_HAVE_CUDA
  std::string why;
  const bool usable = choice != BackendChoice::cpu && cuda_device_usable(&why);
  if (choice == BackendChoice::cuda && !usable)
    throw DeviceError("--backend cuda asked for, but no CUDA device is usable (" + why + ")");
  // One GPU per rank: the rank's index among its node's ranks, modulo the node's GPUs.
  if (usable)
    return {make_cuda_backend(ranks::local_index() % std::max(1, cuda_device_count())),
            choice == BackendChoice::automatic ? "auto: CUDA device found" : ""};
  return {make_cpu_backend(threads), choice == BackendChoice::automatic ? "auto: no usable CUDA device (" + why + ")" : ""};
#else
  if (choice == BackendChoice::cuda)
    throw DeviceError("--backend cuda asked for, but this binary was built without CUDA (BETAHEDGE_CUDA=OFF)");
  return {make_cpu_backend(threads), choice == BackendChoice::automatic ? "auto: built without CUDA" : ""};
#endif
}

std::vector<std::string> compiled_backends() {
#if BETAHEDGE_HAVE_CUDA
  return {"cpu", "cuda"};
#else
  return {"cpu"};
#endif
}

std::string describe_cuda_devices() {
#if BETAHEDGE_HAVE_CUDA
  std::string why;
  if (!cuda_device_usable(&why)) return "none (" + why + ")";
  return cuda_device_name();
#else
  return "none (built without CUDA)";
#endif
}

}  // namespace betahedge
