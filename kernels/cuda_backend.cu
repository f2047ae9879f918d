#include "betahedge/cuda_backend.hpp"

#include <algorithm>

#include "device_buffer.cuh"
#include "launch_policy.cuh"
#include "path_kernels.cuh"

namespace betahedge {
namespace {

/// Page-locked host memory for the batch copies (a pageable copy runs at a fraction of the
/// bus's speed).
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  ~PinnedBuffer() { release(); }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  void resize(std::size_t count) {
    if (count <= size_) return;
    release();
    BH_CUDA_TRY(cudaMallocHost(reinterpret_cast<void**>(&data_), count * sizeof(double)));
    size_ = count;
  }
  double* data() { return data_; }

 private:
  void release() noexcept {
    if (data_) BH_CUDA_TRY_NO_THROW(cudaFreeHost(data_));
    data_ = nullptr;
    size_ = 0;
  }
  double* data_ = nullptr;
  std::size_t size_ = 0;
};

class CudaBackend final : public PathBackend {
 public:
  explicit CudaBackend(int device) : device_(device) {
    std::string why;
    if (!cuda_device_usable(&why)) throw DeviceError("CUDA backend asked for but not usable: " + why);
    BH_CUDA_TRY(cudaSetDevice(device_));
  }

  std::string name() const override { return "cuda"; }
  std::string device_name() const override { return cuda_device_name(device_); }

  /// A batch fills at most a quarter of the device's free memory (the same again is pinned on
  /// the host for the copy), and at most kDefaultDeviceBatch paths: with 9 outcome columns
  /// that is 2^22 paths, 302 MB a batch, so 10^9 paths are 239 batches.
  std::uint64_t default_batch_size(int columns) const override {
    std::size_t free_bytes = 0, total_bytes = 0;
    BH_CUDA_TRY(cudaMemGetInfo(&free_bytes, &total_bytes));
    const std::uint64_t fits = free_bytes / 4 / (static_cast<std::uint64_t>(columns) * sizeof(double));
    return std::max<std::uint64_t>(4096, std::min(kDefaultDeviceBatch, fits / 4096 * 4096));
  }

  /// Uploads the tables, then per batch: the kernel, a copy of the columns to pinned host
  /// memory, and the caller's reduction on the host.
  void run(const SimulationTables& tables, PathProgram program, PathIdRange range, std::uint64_t batch_size,
           const BatchConsumer& consume) override {
    const std::uint64_t batch = batch_size > 0 ? batch_size : default_batch_size(program_columns(program, tables));
    const int columns = program_columns(program, tables);
    params_.upload(tables.data);
    const std::uint64_t largest = std::min(batch, range.size());
    outcomes_.resize(largest * columns);
    host_.resize(largest * columns);
    const SimulationView view = tables.view(params_.data());
    const auto launch = program == PathProgram::outcomes                 ? launch_simulate_paths
                        : program == PathProgram::outcomes_with_ratio_grid ? launch_simulate_paths_with_ratio_grid
                        : program == PathProgram::outcomes_with_band_sweep ? launch_simulate_paths_with_band_sweep
                                                                           : launch_simulate_paths_with_unit_legs;
    for (std::uint64_t first = range.first; first < range.last; first += batch) {
      const std::uint64_t count = std::min(batch, range.last - first);
      launch(view, first, count, {outcomes_.data(), count}, nullptr);
      BH_CUDA_TRY(cudaMemcpy(host_.data(), outcomes_.data(), count * columns * sizeof(double), cudaMemcpyDeviceToHost));
      consume({first, count, columns, host_.data(), count});
    }
  }

 private:
  int device_;
  DeviceBuffer<double> params_;
  DeviceBuffer<double> outcomes_;  ///< the current batch's columns
  PinnedBuffer host_;              ///< their copy on the host
};

}  // namespace

bool cuda_device_usable(std::string* why) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    if (why) *why = cudaGetErrorString(status);
    cudaGetLastError();  // clear the sticky-free error so later calls start clean
    return false;
  }
  if (count == 0) {
    if (why) *why = "no CUDA device found";
    return false;
  }
  return true;
}

int cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return count;
}

std::string cuda_device_name(int device) {
  cudaDeviceProp prop{};
  BH_CUDA_TRY(cudaGetDeviceProperties(&prop, device));
  return prop.name;
}

std::unique_ptr<PathBackend> make_cuda_backend(int device) { return std::make_unique<CudaBackend>(device); }

std::vector<std::uint32_t> cuda_philox_words(std::uint64_t seed, std::uint64_t first_path, std::uint64_t num_paths,
                                             int words_per_path) {
  if (words_per_path <= 0 || words_per_path % 4 != 0)
    throw std::invalid_argument("cuda_philox_words: words_per_path must be a positive multiple of 4");
  DeviceBuffer<std::uint32_t> words(num_paths * words_per_path);
  launch_philox_words(seed, first_path, num_paths, words_per_path, words.data(), nullptr);
  BH_CUDA_TRY(cudaDeviceSynchronize());
  return words.download();
}

}  // namespace betahedge
