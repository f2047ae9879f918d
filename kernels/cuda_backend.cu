#include "betahedge/cuda_backend.hpp"

#include <algorithm>

#include "device_buffer.cuh"
#include "device_sorted_sample.cuh"
#include "launch_policy.cuh"
#include "path_kernels.cuh"

namespace betahedge {
namespace {

class CudaBackend final : public PathBackend {
 public:
  CudaBackend() {
    std::string why;
    if (!cuda_device_usable(&why)) throw DeviceError("CUDA backend asked for but not usable: " + why);
    BH_CUDA_TRY(cudaSetDevice(0));
  }

  std::string name() const override { return "cuda"; }
  std::string device_name() const override { return cuda_device_name(); }

  void simulate(const SimulationTables& tables, std::uint64_t num_paths, std::uint64_t batch_size) override {
    run_paths(tables, num_paths, batch_size, kNumOutcomeFields, launch_simulate_paths);
  }

  void simulate_ratio_grid(const SimulationTables& tables, std::uint64_t num_paths, std::uint64_t batch_size) override {
    run_paths(tables, num_paths, batch_size, RatioGridColumns::total(tables.scalars.hedge.num_grid_ratios),
              launch_simulate_ratio_grid);
  }

  std::unique_ptr<SortedSample> sorted_column(int column_index, bool negate) const override {
    return make_device_sorted_sample(column_data(column_index), num_paths_, negate);
  }

  std::vector<double> column(int column_index) const override {
    std::vector<double> host(num_paths_);
    if (num_paths_ > 0)
      BH_CUDA_TRY(cudaMemcpy(host.data(), column_data(column_index), num_paths_ * sizeof(double),
                             cudaMemcpyDeviceToHost));
    return host;
  }

 private:
  using Launcher = void (*)(const SimulationView&, std::uint64_t, std::uint64_t, const OutcomeColumns&, cudaStream_t);

  /// Uploads the tables, sizes the outcome columns and launches batch after batch.
  void run_paths(const SimulationTables& tables, std::uint64_t num_paths, std::uint64_t batch_size, int columns,
                 Launcher launch) {
    const std::uint64_t batch = batch_size > 0 ? batch_size : kDefaultDeviceBatch;
    params_.upload(tables.data);
    num_paths_ = num_paths;
    outcomes_.resize(num_paths * columns);
    const OutcomeColumns out{outcomes_.data(), num_paths};
    const SimulationView view = tables.view(params_.data());
    for (std::uint64_t first = 0; first < num_paths; first += batch)
      launch(view, first, std::min(batch, num_paths - first), out, nullptr);
    BH_CUDA_TRY(cudaDeviceSynchronize());
  }

  const double* column_data(int column_index) const {
    return outcomes_.data() + static_cast<std::uint64_t>(column_index) * num_paths_;
  }

  DeviceBuffer<double> params_;
  std::uint64_t num_paths_ = 0;
  DeviceBuffer<double> outcomes_;  ///< the last simulation's columns of num_paths_ each
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

std::string cuda_device_name() {
  cudaDeviceProp prop{};
  BH_CUDA_TRY(cudaGetDeviceProperties(&prop, 0));
  return prop.name;
}

std::unique_ptr<PathBackend> make_cuda_backend() { return std::make_unique<CudaBackend>(); }

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
