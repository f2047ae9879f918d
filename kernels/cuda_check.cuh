#pragma once
/// Every CUDA runtime call goes through BH_CUDA_TRY, which throws DeviceError carrying the
/// call text, file and line. Destructors use BH_CUDA_TRY_NO_THROW, which reports and goes on.
#include <cuda_runtime.h>

#include <cstdio>
#include <string>

#include "betahedge/error.hpp"

#define BH_CUDA_TRY(call)                                                                              \
  do {                                                                                                 \
    const cudaError_t bh_status_ = (call);                                                             \
    if (bh_status_ != cudaSuccess)                                                                     \
      throw ::betahedge::DeviceError(std::string(#call) + ": " + cudaGetErrorString(bh_status_) +     \
                                     " (" __FILE__ ":" + std::to_string(__LINE__) + ")");              \
  } while (0)

#define BH_CUDA_TRY_NO_THROW(call)                                                                     \
  do {                                                                                                 \
    const cudaError_t bh_status_ = (call);                                                             \
    if (bh_status_ != cudaSuccess)                                                                     \
      std::fprintf(stderr, "warning: %s: %s (%s:%d)\n", #call, cudaGetErrorString(bh_status_),         \
                   __FILE__, __LINE__);                                                                \
  } while (0)

/// After a kernel launch: launch-configuration errors surface here, not at the next call.
#define BH_CUDA_CHECK_LAUNCH() BH_CUDA_TRY(cudaGetLastError())
