#pragma once
#include <curand_kernel.h>

#include <cstdint>

#include "betahedge/philox.hpp"

namespace betahedge {

/// cuRAND's device Philox4x32-10 as a generator for RandomDraws: subsequence = path id,
/// offset 0, 128 bits per next4(). Its raw words equal PhiloxStream's on the host.
class CurandPhiloxGenerator {
 public:
  __device__ CurandPhiloxGenerator(std::uint64_t seed, std::uint64_t path_id) {
    curand_init(seed, path_id, 0, &state_);
  }
  __device__ RandomWords4 next4() {
    const uint4 v = curand4(&state_);
    return {v.x, v.y, v.z, v.w};
  }

 private:
  curandStatePhilox4_32_10_t state_;
};

}  // namespace betahedge
