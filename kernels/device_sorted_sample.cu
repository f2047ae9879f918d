#include "device_sorted_sample.cuh"

#include <thrust/copy.h>
#include <thrust/device_vector.h>
#include <thrust/execution_policy.h>
#include <thrust/functional.h>
#include <thrust/reduce.h>
#include <thrust/sort.h>
#include <thrust/transform.h>
#include <thrust/transform_reduce.h>

#include "cuda_check.cuh"

namespace betahedge {
namespace {

struct SquaredDeviation {
  double center;
  __host__ __device__ double operator()(double x) const { return (x - center) * (x - center); }
};

class DeviceSortedSample final : public SortedSample {
 public:
  DeviceSortedSample(const double* device_values, std::uint64_t n, bool negate) : values_(n) {
    if (negate)
      thrust::transform(thrust::device, device_values, device_values + n, values_.begin(), thrust::negate<double>());
    else
      thrust::copy(thrust::device, device_values, device_values + n, values_.begin());
    thrust::sort(thrust::device, values_.begin(), values_.end());
    BH_CUDA_TRY(cudaDeviceSynchronize());
  }
  std::uint64_t size() const override { return values_.size(); }
  double at(std::uint64_t i) const override { return values_[i]; }
  double sum(std::uint64_t lo, std::uint64_t hi) const override {
    if (hi <= lo) return 0.0;
    return thrust::reduce(thrust::device, values_.begin() + lo, values_.begin() + hi, 0.0);
  }
  double sum_squared_deviation(std::uint64_t lo, std::uint64_t hi, double center) const override {
    if (hi <= lo) return 0.0;
    return thrust::transform_reduce(thrust::device, values_.begin() + lo, values_.begin() + hi,
                                    SquaredDeviation{center}, 0.0, thrust::plus<double>());
  }

 private:
  thrust::device_vector<double> values_;
};

}  // namespace

std::unique_ptr<SortedSample> make_device_sorted_sample(const double* device_values, std::uint64_t n, bool negate) {
  return std::make_unique<DeviceSortedSample>(device_values, n, negate);
}

}  // namespace betahedge
