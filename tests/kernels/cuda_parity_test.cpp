// CPU/GPU parity: the same path ids give the same raw random words and the same per-path
// outcomes (within 1e-9 relative) on both backends. Skips cleanly where no device is usable.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "betahedge/cuda_backend.hpp"
#include "betahedge/philox.hpp"
#include "cpu_backend/cpu_backend.hpp"
#include "engine/risk_engine.hpp"
#include "engine/simulation_setup.hpp"
#include "engine/synthetic_model.hpp"
#include "backtest/walk_forward.hpp"
#include "hedged_test_book.hpp"
#include "synthetic_prices.hpp"

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

void expect_outcomes_match(const Model& model, const BookConfig& book) {
  const PortfolioSetup portfolio = make_portfolio(model, book);
  const SimulationTables tables = build_simulation_tables(model, portfolio, book);
  auto cpu = make_cpu_backend(0);
  auto gpu = make_cuda_backend();
  const std::uint64_t paths = book.simulation.paths;
  const std::vector<double> on_cpu = collect_outcomes(*cpu, tables, PathProgram::outcomes, paths);
  const std::vector<double> on_gpu = collect_outcomes(*gpu, tables, PathProgram::outcomes, paths, 4096);
  for (int f = 0; f < kNumOutcomeFields; ++f) {
    const std::vector<double> a = column_of(on_cpu, paths, f);
    const std::vector<double> b = column_of(on_gpu, paths, f);
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i)
      ASSERT_NEAR(a[i], b[i], 1e-9 * std::max(1.0, std::abs(a[i]))) << "field " << f << " path " << i;
  }
  const ScenarioResult rc = evaluate_scenario("base", *cpu, tables, book);
  const ScenarioResult rg = evaluate_scenario("base", *gpu, tables, book);
  for (const auto* pair : {&rc.unhedged, &rc.hedged}) {
    const PnlStatistics& c = *pair;
    const PnlStatistics& g = pair == &rc.unhedged ? rg.unhedged : rg.hedged;
    EXPECT_NEAR(c.mean, g.mean, 1e-9 * c.stdev);
    EXPECT_NEAR(c.stdev, g.stdev, 1e-9 * c.stdev);
    for (std::size_t i = 0; i < c.tails.size(); ++i) {
      EXPECT_NEAR(c.tails[i].var, g.tails[i].var, 1e-9 * c.stdev);
      EXPECT_NEAR(c.tails[i].es, g.tails[i].es, 1e-9 * c.stdev);
    }
  }
  EXPECT_EQ(rc.margin.call_probability, rg.margin.call_probability);
  EXPECT_NEAR(rc.margin.collateral_for_call_probability[0].second, rg.margin.collateral_for_call_probability[0].second,
              1e-9 * std::max(1.0, rc.margin.collateral_for_call_probability[0].second));
}

TEST_F(CudaParity, GaussianUnhedgedOutcomesMatchCpu) {
  const Model m = make_synthetic_model(3, 2);
  expect_outcomes_match(m, test::hedged_test_book(m, HedgeInstrument::none, HedgeMode::static_ratio));
}
TEST_F(CudaParity, StudentTOutcomesMatchCpu) {
  const Model m = make_synthetic_model(8, 2, Distribution::student_t);
  expect_outcomes_match(m, test::hedged_test_book(m, HedgeInstrument::perpetual, HedgeMode::dynamic));
}
TEST_F(CudaParity, ManyAssetOutcomesMatchCpu) {
  const Model m = make_synthetic_model(20, 3);
  expect_outcomes_match(m, test::hedged_test_book(m, HedgeInstrument::perpetual, HedgeMode::static_ratio));
}
TEST_F(CudaParity, EveryInstrumentAndModeMatchesCpu) {
  const Model m = make_synthetic_model(4, 2);
  for (HedgeInstrument instrument : {HedgeInstrument::perpetual, HedgeInstrument::future, HedgeInstrument::option})
    for (HedgeMode mode : {HedgeMode::static_ratio, HedgeMode::dynamic}) {
      SCOPED_TRACE(static_cast<int>(instrument) * 10 + static_cast<int>(mode));
      expect_outcomes_match(m, test::hedged_test_book(m, instrument, mode));
    }
}

/// Every column of `program` for these tables, path by path, CPU against GPU (a batch size that is
/// no multiple of the CPU's, so batch edges differ).
void expect_program_matches(const SimulationTables& tables, PathProgram program, std::uint64_t paths) {
  auto cpu = make_cpu_backend(0);
  auto gpu = make_cuda_backend();
  const std::vector<double> on_cpu = collect_outcomes(*cpu, tables, program, paths);
  const std::vector<double> on_gpu = collect_outcomes(*gpu, tables, program, paths, 3000);
  for (int c = 0; c < program_columns(program, tables); ++c) {
    const std::vector<double> a = column_of(on_cpu, paths, c), b = column_of(on_gpu, paths, c);
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (std::isnan(a[i])) {  // the band sweep's books keep no shadow: NaN on both
        ASSERT_TRUE(std::isnan(b[i])) << "column " << c << " path " << i;
        continue;
      }
      ASSERT_NEAR(a[i], b[i], 1e-9 * std::max(1.0, std::abs(a[i]))) << "column " << c << " path " << i;
    }
  }
}

// Issue 12's columns: the intermediate horizons' outcome blocks and each asset's P&L (Euler
// contributions), after the plain program's columns and after the ratio grid's.
TEST_F(CudaParity, HorizonAndAssetPnlColumnsMatchCpu) {
  const Model m = make_synthetic_model(4, 2);
  for (HedgeMode mode : {HedgeMode::static_ratio, HedgeMode::dynamic}) {
    BookConfig book = test::hedged_test_book(m, HedgeInstrument::perpetual, mode);
    book.simulation.horizon_days = 12;
    book.risk.horizons_days = {1, 5, 12};
    book.risk.hedge_ratio_grid = {0.0, 1.5, 0.25};
    SimulationTables tables = build_simulation_tables(m, make_portfolio(m, book), book);
    tables.scalars.asset_pnl.record = true;
    ASSERT_EQ(tables.scalars.horizons.count, 2);
    expect_program_matches(tables, PathProgram::outcomes, book.simulation.paths);
    expect_program_matches(tables, PathProgram::outcomes_with_ratio_grid, book.simulation.paths);
  }
}

// The band sweep's (target, band) pairs: each pair's book with its own target.
TEST_F(CudaParity, BandSweepPairsMatchCpu) {
  const Model m = make_synthetic_model(4, 2);
  for (HedgeInstrument instrument : {HedgeInstrument::perpetual, HedgeInstrument::future, HedgeInstrument::option}) {
    BookConfig book = test::hedged_test_book(m, instrument, HedgeMode::dynamic);
    book.risk.band_grid = {0.01, 0.05, 0.1, 0.2, 0.02, 0.05, 0.1, 0.2};
    SimulationTables tables = build_simulation_tables(m, make_portfolio(m, book), book);
    for (int b = 0; b < 8; ++b) tables.data[tables.offsets.sweep_targets + b] = b < 4 ? 0.0 : 0.4;
    expect_program_matches(tables, PathProgram::outcomes_with_band_sweep, book.simulation.paths);
  }
}

// Hedges of two and three legs (the kMaxHedgeLegs kernels): cross and isolated accounts, static
// and dynamic, every column of the plain program with the leg detail, and the band sweep's pairs.
TEST_F(CudaParity, HedgesOfSeveralLegsMatchCpu) {
  const Model m = make_synthetic_model(4, 2);
  for (bool with_put : {false, true})
    for (MarginMode margin : {MarginMode::cross, MarginMode::isolated})
      for (HedgeMode mode : {HedgeMode::static_ratio, HedgeMode::dynamic}) {
        SCOPED_TRACE(std::string(with_put ? "three legs, " : "two legs, ") +
                     (margin == MarginMode::cross ? "cross" : "isolated") +
                     (mode == HedgeMode::dynamic ? ", dynamic" : ", static"));
        BookConfig book = test::legs_test_book(m, mode, margin, with_put);
        book.risk.band_grid = {0.01, 0.05, 0.1, 0.2};
        SimulationTables tables = build_simulation_tables(m, make_portfolio(m, book), book);
        tables.scalars.leg_detail.record = true;
        tables.scalars.asset_pnl.record = true;
        expect_outcomes_match(m, book);
        expect_program_matches(tables, PathProgram::outcomes, book.simulation.paths);
        expect_program_matches(tables, PathProgram::outcomes_with_band_sweep, book.simulation.paths);
      }
}

// The unit legs: each leg alone at ratio +1 and each account's shortfall at the direction vector,
// after every plain column (leg detail included), for books of one leg (the kLegs = 1 kernel)
// and of two (the kMaxHedgeLegs kernel), cross and isolated, a written option among them.
TEST_F(CudaParity, UnitLegsMatchCpu) {
  const Model m = make_synthetic_model(4, 2);
  const BookConfig books[] = {
      test::hedged_test_book(m, HedgeInstrument::perpetual, HedgeMode::dynamic),
      test::hedged_test_book(m, HedgeInstrument::option, HedgeMode::static_ratio),
      test::two_leg_test_book(m, HedgeInstrument::future, 0.8, 0.5, MarginMode::cross),
      test::two_leg_test_book(m, HedgeInstrument::option, 0.8, -0.6, MarginMode::isolated),
  };
  for (const BookConfig& book : books) {
    SimulationTables tables = build_simulation_tables(m, make_portfolio(m, book), book);
    tables.scalars.leg_detail.record = true;
    expect_program_matches(tables, PathProgram::outcomes_with_unit_legs, book.simulation.paths);
  }
}

TEST_F(CudaParity, RatioGridMatchesCpu) {
  const Model m = make_synthetic_model(4, 2);
  for (HedgeInstrument instrument : {HedgeInstrument::perpetual, HedgeInstrument::future, HedgeInstrument::option}) {
    BookConfig book = test::hedged_test_book(m, instrument, HedgeMode::static_ratio);
    book.risk.hedge_ratio_grid = {0.0, 1.5, 0.1};
    const SimulationTables tables = build_simulation_tables(m, make_portfolio(m, book), book);
    auto cpu = make_cpu_backend(0);
    auto gpu = make_cuda_backend();
    const std::uint64_t paths = book.simulation.paths;
    const PathProgram grid = PathProgram::outcomes_with_ratio_grid;
    const std::vector<double> on_cpu = collect_outcomes(*cpu, tables, grid, paths);
    const std::vector<double> on_gpu = collect_outcomes(*gpu, tables, grid, paths, 3000);
    for (int c = 0; c < program_columns(grid, tables); ++c) {
      const std::vector<double> a = column_of(on_cpu, paths, c), b = column_of(on_gpu, paths, c);
      for (std::size_t i = 0; i < a.size(); ++i)
        ASSERT_NEAR(a[i], b[i], 1e-9 * std::max(1.0, std::abs(a[i]))) << "column " << c << " path " << i;
    }
  }
}

// The walk forward on both backends: the same fits (host), the same paths per date (a date's
// seed), so every forecast agrees within the per-path tolerance and the realised P&L (host
// replays) exactly.
TEST_F(CudaParity, BacktestForecastsMatchCpu) {
  const Model model = make_synthetic_model(3, 2);
  const PriceTable prices = test::synthetic_prices(model, 400 + 30, 2026);
  BookConfig book = parse_book(
      "model: unused.json\n"
      "portfolio: {holdings: {A1: 10, A2: 20}}\n"
      "hedge: {instrument: perpetual, benchmark: A0, mode: dynamic, target_beta: 0.2, band: 0.05,\n"
      "        fee_bps: 2, slippage_bps: 5, funding_rate_8h: [0.0001, -0.0003]}\n"
      "margin: {initial_rate: 0.1, maintenance_rate: 0.05, on_call: liquidate}\n"
      "risk: {levels: [0.95, 0.99]}\n",
      "parity_book.yaml");
  BacktestOptions options;
  options.window_days = 400;
  options.refit_every = 10;
  options.horizon_days = 3;
  options.paths = 20000;
  book.simulation.backend = BackendChoice::cpu;
  const BacktestRun on_cpu = run_backtest(prices, book, options, [](const std::string&) {});
  book.simulation.backend = BackendChoice::cuda;
  const BacktestRun on_gpu = run_backtest(prices, book, options, [](const std::string&) {});
  ASSERT_EQ(on_cpu.dates.size(), on_gpu.dates.size());
  const auto close = [](double a, double b) { return std::abs(a - b) <= 1e-9 * std::max(1.0, std::abs(a)); };
  for (std::size_t d = 0; d < on_cpu.dates.size(); ++d) {
    const BacktestDate &a = on_cpu.dates[d], &b = on_gpu.dates[d];
    EXPECT_TRUE(close(a.realised_hedged, b.realised_hedged)) << a.date;  // the same unless a call sits on the collateral
    EXPECT_TRUE(close(a.collateral, b.collateral)) << a.date;
    for (std::size_t l = 0; l < on_cpu.levels.size(); ++l) {
      EXPECT_TRUE(close(a.unhedged.tails[l].var, b.unhedged.tails[l].var)) << a.date;
      EXPECT_TRUE(close(a.hedged.tails[l].var, b.hedged.tails[l].var)) << a.date;
      EXPECT_TRUE(close(a.hedged.tails[l].es, b.hedged.tails[l].es)) << a.date;
    }
  }
}

}  // namespace
}  // namespace betahedge
