// Calibration speed (issue 3): the regime model's multi-start EM on assets x days returns, and
// the whole `calibrate` (betas included). Data: the engine's own simulation of the synthetic
// crypto-like model, so every run fits the same numbers.
//   build-cal/benchmarks/bench_calibration --benchmark_min_time=3
#include <benchmark/benchmark.h>

#include "calibration/calibrate.hpp"
#include "calibration/regime_model.hpp"
#include "engine/return_history.hpp"
#include "engine/synthetic_model.hpp"

namespace {

using namespace betahedge;

Eigen::MatrixXd simulated_returns(int num_assets, int num_days, Distribution distribution) {
  return simulate_return_history(make_synthetic_model(num_assets, 3, distribution), num_days, 2026).log_returns;
}

/// Args: assets, days, regimes, starts.
void BM_RegimeEm(benchmark::State& state, Distribution distribution) {
  const int num_assets = static_cast<int>(state.range(0));
  const int num_days = static_cast<int>(state.range(1));
  const Eigen::MatrixXd x = simulated_returns(num_assets, num_days, distribution);
  RegimeFitOptions o;
  o.num_regimes = static_cast<int>(state.range(2));
  o.num_starts = static_cast<int>(state.range(3));
  o.distribution = distribution;
  long long iterations = 0;
  for (auto _ : state) {
    const RegimeFit fit = fit_regime_model(x, o);
    benchmark::DoNotOptimize(fit.filter.loglik);
    iterations = fit.iterations;
    state.counters["converged"] = fit.converged;
  }
  state.counters["best_start_iterations"] = static_cast<double>(iterations);
}
BENCHMARK_CAPTURE(BM_RegimeEm, gaussian, Distribution::gaussian)
    ->Args({10, 2000, 3, 10})
    ->Args({3, 2000, 2, 10})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_RegimeEm, student_t, Distribution::student_t)
    ->Args({10, 2000, 3, 10})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

/// The whole calibrate step (regime model, OLS, rolling, EWMA, Kalman ML) for assets x days.
void BM_Calibrate(benchmark::State& state) {
  const int num_assets = static_cast<int>(state.range(0));
  const int num_days = static_cast<int>(state.range(1));
  ReturnData data;
  data.log_returns = simulated_returns(num_assets, num_days, Distribution::gaussian);
  for (int i = 0; i < num_assets; ++i) data.assets.push_back("A" + std::to_string(i));
  for (int t = 0; t <= num_days; ++t) data.price_dates.push_back("d" + std::to_string(t));
  data.spot.assign(num_assets, 100.0);
  CalibrationOptions o;
  o.num_regimes = 3;
  for (auto _ : state) {
    const Calibration c = calibrate(data, o);
    benchmark::DoNotOptimize(c.model.calibration->loglik);
  }
}
BENCHMARK(BM_Calibrate)->Args({10, 2000})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
