// CPU/GPU parity: the same path ids give the same raw random words and the same per-path
// outcomes (within 1e-9 relative) on both backends. Skips cleanly where no device is usable.
#include <gtest/gtest.h>

#include <cmath>

#include "betahedge/cuda_backend.hpp"
#include "betahedge/philox.hpp"
#include "cpu_backend/cpu_backend.hpp"
#include "engine/risk_engine.hpp"
#include "engine/simulation_setup.hpp"
#include "engine/synthetic_model.hpp"

namespace betahedge {
namespace {

class CudaParity : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!cuda_device_usable(&why)) GTEST_SKIP() << "no usable CUDA device: " << why;
  }
};

TEST_F(CudaParity, RawPhiloxWordsAreBitIdentical) {
  const std::uint64_t seed = 20261121, first = (1ULL << 32) - 3;
  const int words = 16;
  const std::uint64_t paths = 1000;
  const std::vector<std::uint32_t> device = cuda_philox_words(seed, first, paths, words);
  for (std::uint64_t p = 0; p < paths; ++p) {
    PhiloxStream host(seed, first + p);
    for (int w = 0; w < words; w += 4) {
      const RandomWords4 v = host.next4();
      const std::uint32_t* row = device.data() + p * words + w;
      ASSERT_EQ(row[0], v.x) << "path " << first + p;
      ASSERT_EQ(row[1], v.y);
      ASSERT_EQ(row[2], v.z);
      ASSERT_EQ(row[3], v.w);
    }
  }
}

void expect_outcomes_match(const Model& model) {
  PortfolioSetup portfolio;
  portfolio.holdings.assign(model.num_assets(), 0.0);
  portfolio.holdings[1 % model.num_assets()] = 5.0;
  portfolio.holdings[model.num_assets() - 1] += 10.0;
  portfolio.value = 0.0;
  for (int i = 0; i < model.num_assets(); ++i) portfolio.value += portfolio.holdings[i] * model.spot[i];
  SimulationConfig sim;
  sim.paths = 20000;
  sim.horizon_days = 30;
  sim.seed = 5;
  const SimulationTables tables = build_simulation_tables(model, portfolio, sim);
  auto cpu = make_cpu_backend(0);
  auto gpu = make_cuda_backend();
  cpu->simulate(tables, sim.paths, 0);
  gpu->simulate(tables, sim.paths, 4096);
  for (OutcomeField field : {OutcomeField::pnl_unhedged, OutcomeField::pnl_hedged}) {
    const std::vector<double> a = cpu->outcome(field), b = gpu->outcome(field);
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i)
      ASSERT_NEAR(a[i], b[i], 1e-9 * std::max(1.0, std::abs(a[i]))) << "path " << i;
  }
  RiskConfig risk;
  const ScenarioResult rc = evaluate_scenario("base", *cpu, tables, sim, risk);
  const ScenarioResult rg = evaluate_scenario("base", *gpu, tables, sim, risk);
  EXPECT_NEAR(rc.unhedged.mean, rg.unhedged.mean, 1e-9 * std::abs(rc.unhedged.stdev));
  EXPECT_NEAR(rc.unhedged.stdev, rg.unhedged.stdev, 1e-9 * rc.unhedged.stdev);
  for (std::size_t i = 0; i < rc.unhedged.tails.size(); ++i) {
    EXPECT_NEAR(rc.unhedged.tails[i].var, rg.unhedged.tails[i].var, 1e-9 * rc.unhedged.stdev);
    EXPECT_NEAR(rc.unhedged.tails[i].es, rg.unhedged.tails[i].es, 1e-9 * rc.unhedged.stdev);
  }
}

TEST_F(CudaParity, GaussianOutcomesMatchCpu) { expect_outcomes_match(make_synthetic_model(3, 2)); }
TEST_F(CudaParity, StudentTOutcomesMatchCpu) { expect_outcomes_match(make_synthetic_model(8, 2, Distribution::student_t)); }
TEST_F(CudaParity, ManyAssetOutcomesMatchCpu) { expect_outcomes_match(make_synthetic_model(20, 3)); }

}  // namespace
}  // namespace betahedge
