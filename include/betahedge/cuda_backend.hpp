#pragma once
/// The CUDA backend's entry points, declared for host code (compiles with g++ alone); the
/// definitions are in kernels/ and exist only when BETAHEDGE_HAVE_CUDA is defined.
#include <cstdint>
#include <memory>
#include <vector>
#include <string>

#include "betahedge/path_backend.hpp"

namespace betahedge {

/// True when a CUDA device can run kernels; otherwise false and `why` says why.
bool cuda_device_usable(std::string* why);

/// The number of CUDA devices visible (0 when none is usable).
int cuda_device_count();

/// The name of device `device` as the driver reports it.
std::string cuda_device_name(int device = 0);

/// The CUDA backend on device `device`: kernels over path ids, each batch's outcome columns
/// copied to the host for the statistics. Throws DeviceError when the device is not usable.
std::unique_ptr<PathBackend> make_cuda_backend(int device = 0);

}  // namespace betahedge

namespace betahedge {

/// The first `words_per_path` raw 32-bit words of cuRAND's Philox subsequence of each path id
/// in [first_path, first_path + num_paths), row by path: for checking that the device stream
/// equals PhiloxStream bit for bit. `words_per_path` must be a multiple of 4.
std::vector<std::uint32_t> cuda_philox_words(std::uint64_t seed, std::uint64_t first_path, std::uint64_t num_paths,
                                             int words_per_path);

}  // namespace betahedge
