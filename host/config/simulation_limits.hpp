#pragma once
/// The ranges of the simulation settings, one set for book.yaml and the command line alike
/// (docs/inputs.md lists them). Checked on the parsed value, before any narrowing cast.
#include <cstdint>

namespace betahedge {

inline constexpr std::uint64_t kMinPaths = 2;              ///< statistics need two paths
inline constexpr std::uint64_t kMaxPaths = 1ull << 40;     ///< ~1.1e12
inline constexpr std::uint64_t kMaxBatchSize = 1ull << 40;
inline constexpr std::uint64_t kMaxSeed = 1ull << 63;
inline constexpr int kMaxThreads = 1024;                   ///< 0 = all cores
inline constexpr int kMaxHorizonDays = 3650;
inline constexpr int kMaxStepsPerDay = 1440;
inline constexpr int kMaxSteps = 100000;                   ///< horizon_days x steps_per_day

}  // namespace betahedge
