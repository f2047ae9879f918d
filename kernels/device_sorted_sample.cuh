#pragma once
#include <cstdint>
#include <memory>

#include "betahedge/path_backend.hpp"

namespace betahedge {

/// Sorts values[0..n) (negated when `negate`; values in device memory) on the device with
/// Thrust and serves the reductions the statistics need from there.
std::unique_ptr<SortedSample> make_device_sorted_sample(const double* device_values, std::uint64_t n, bool negate);

}  // namespace betahedge
