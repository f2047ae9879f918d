#include "path_kernels.cuh"

#include "betahedge/path_simulation.hpp"
#include "cuda_check.cuh"
#include "curand_philox.cuh"
#include "launch_policy.cuh"

namespace betahedge {
namespace {

/// One thread per path on its own Philox subsequence; the path state lives in the thread's
/// registers (the ratio grid's accounts in local memory) for the whole horizon.
///
/// Launch bounds: blocks of kPathBlockSize threads, and at least 1 block per SM, which leaves
/// ptxas free to give each capacity the registers its path state needs (sm_90: 148 to 229)
/// rather than squeeze it into 128 and spill path state that every step reads back (the
/// 8-asset kernel spilled 44 bytes at 128 registers). At 166 registers (8 assets) three
/// 128-thread blocks fit an SM: 12 warps, 18.75% occupancy; benchmarks/RESULTS.md has the
/// table and why 128-thread blocks.
///
/// kLegs: the hedge's legs at most. A book of one leg (or none) runs the kLegs = 1 kernel, whose
/// per-leg state is what a one-instrument hedge always kept; a book of several legs the
/// kMaxHedgeLegs kernel.
template <int kCapacity, PathProgram kProgram, int kLegs>
__global__ void __launch_bounds__(kPathBlockSize, 1)
    per_path_kernel(SimulationView view, std::uint64_t first_path, std::uint64_t count, OutcomeColumns out) {
  const std::uint64_t i = static_cast<std::uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= count) return;
  CurandPhiloxGenerator gen(view.seed, first_path + i);
  run_path_program<kProgram, kCapacity, kLegs>(view, gen, out, i);
}

/// Launches per_path_kernel at the capacity for the model's asset count and the legs of the
/// hedge, and checks the launch.
template <PathProgram kProgram>
void launch_per_path(const SimulationView& view, std::uint64_t first_path, std::uint64_t count,
                     const OutcomeColumns& out, cudaStream_t stream) {
  if (count == 0) return;
  const auto blocks = static_cast<unsigned>((count + kPathBlockSize - 1) / kPathBlockSize);
  with_path_capacity(view.market.num_assets, [&](auto capacity) {
    constexpr int kCapacity = decltype(capacity)::value;
    // The ratio grid varies one leg's ratio: the host runs it for one-leg books only.
    if (kProgram == PathProgram::outcomes_with_ratio_grid || view.hedge.num_legs <= 1)
      per_path_kernel<kCapacity, kProgram, 1><<<blocks, kPathBlockSize, 0, stream>>>(view, first_path, count, out);
    else if constexpr (kProgram != PathProgram::outcomes_with_ratio_grid)
      per_path_kernel<kCapacity, kProgram, kMaxHedgeLegs>
          <<<blocks, kPathBlockSize, 0, stream>>>(view, first_path, count, out);
  });
  BH_CUDA_CHECK_LAUNCH();
}

__global__ void philox_words_kernel(std::uint64_t seed, std::uint64_t first_path, std::uint64_t num_paths,
                                    int words_per_path, std::uint32_t* out) {
  const std::uint64_t i = static_cast<std::uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= num_paths) return;
  CurandPhiloxGenerator gen(seed, first_path + i);
  std::uint32_t* row = out + i * words_per_path;
  for (int w = 0; w < words_per_path; w += 4) {
    const RandomWords4 v = gen.next4();
    row[w] = v.x;
    row[w + 1] = v.y;
    row[w + 2] = v.z;
    row[w + 3] = v.w;
  }
}

}  // namespace

void launch_philox_words(std::uint64_t seed, std::uint64_t first_path, std::uint64_t num_paths, int words_per_path,
                         std::uint32_t* out, cudaStream_t stream) {
  if (num_paths == 0) return;
  const auto blocks = static_cast<unsigned>((num_paths + kPathBlockSize - 1) / kPathBlockSize);
  philox_words_kernel<<<blocks, kPathBlockSize, 0, stream>>>(seed, first_path, num_paths, words_per_path, out);
  BH_CUDA_CHECK_LAUNCH();
}

void launch_simulate_paths_with_ratio_grid(const SimulationView& view, std::uint64_t first_path, std::uint64_t count,
                                           const OutcomeColumns& out, cudaStream_t stream) {
  launch_per_path<PathProgram::outcomes_with_ratio_grid>(view, first_path, count, out, stream);
}

void launch_simulate_paths_with_band_sweep(const SimulationView& view, std::uint64_t first_path, std::uint64_t count,
                                           const OutcomeColumns& out, cudaStream_t stream) {
  launch_per_path<PathProgram::outcomes_with_band_sweep>(view, first_path, count, out, stream);
}

void launch_simulate_paths_with_unit_legs(const SimulationView& view, std::uint64_t first_path, std::uint64_t count,
                                          const OutcomeColumns& out, cudaStream_t stream) {
  launch_per_path<PathProgram::outcomes_with_unit_legs>(view, first_path, count, out, stream);
}

void launch_simulate_paths(const SimulationView& view, std::uint64_t first_path, std::uint64_t count,
                           const OutcomeColumns& out, cudaStream_t stream) {
  launch_per_path<PathProgram::outcomes>(view, first_path, count, out, stream);
}

}  // namespace betahedge
