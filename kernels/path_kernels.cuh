#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "betahedge/path_types.hpp"

namespace betahedge {

/// Simulates path ids [first_path, first_path + count) into `out` (device columns; path
/// first_path + i at index i). `view` points to device memory. Checks the launch; does not
/// synchronise.
void launch_simulate_paths(const SimulationView& view, std::uint64_t first_path, std::uint64_t count,
                           const OutcomeColumns& out, cudaStream_t stream);

}  // namespace betahedge

namespace betahedge {

/// The same, and the static hedge at every grid ratio on the same paths (simulate_path_with_ratio_grid:
/// the OutcomeField columns, then RatioGridColumns from column kNumOutcomeFields).
void launch_simulate_paths_with_ratio_grid(const SimulationView& view, std::uint64_t first_path, std::uint64_t count,
                                           const OutcomeColumns& out, cudaStream_t stream);

/// The same, and the book's hedge made dynamic at each sweep (target, band) pair on the same paths
/// (simulate_path_with_band_sweep: pair b's OutcomeField columns from kNumOutcomeFields x (1 + b)).
void launch_simulate_paths_with_band_sweep(const SimulationView& view, std::uint64_t first_path, std::uint64_t count,
                                           const OutcomeColumns& out, cudaStream_t stream);

/// The same, and each leg alone at ratio +1 with each account's shortfall at the direction vector
/// on the same paths (simulate_path_with_unit_legs: every column of launch_simulate_paths, then
/// UnitLegColumns).
void launch_simulate_paths_with_unit_legs(const SimulationView& view, std::uint64_t first_path, std::uint64_t count,
                                          const OutcomeColumns& out, cudaStream_t stream);

/// Writes the first words_per_path raw words of each path's cuRAND Philox stream (tests).
void launch_philox_words(std::uint64_t seed, std::uint64_t first_path, std::uint64_t num_paths, int words_per_path,
                         std::uint32_t* out, cudaStream_t stream);

}  // namespace betahedge
