#pragma once
/// Launch tuning, kept apart from the math: threads per block for the path kernel and the
/// number of paths a single launch covers when the caller leaves the batch size to us.
#include <cstdint>

namespace betahedge {

inline constexpr int kPathBlockSize = 128;
inline constexpr std::uint64_t kDefaultDeviceBatch = std::uint64_t{1} << 22;

}  // namespace betahedge
