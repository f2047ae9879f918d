// The optimiser of a hedge of several legs through the engine (host/engine/hedge_vector_job.hpp):
// the min-variance vector against the lognormal closed form, the min-ES vector against runs of
// the static book at it and at the surface's points, the margin-constrained vector against runs
// at it and just beyond, the same bits for any thread count or batch size, and the shipped
// two-leg and collar examples through every command.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <Eigen/Dense>
#include <nlohmann/json.hpp>

#include "cpu_backend/cpu_backend.hpp"
#include "engine/risk_job.hpp"
#include "hedged_test_book.hpp"
#include "model/model_json.hpp"
#include "test_support.hpp"

namespace betahedge {
namespace {

// One Gaussian regime of four assets: M (the benchmark), A and B (the book), E (a second
// underlying). Daily vols of 2-3.5%: the P&L is far from linear in the log returns, so the
// closed form below is the lognormal one, not a linearisation.
const std::vector<double> kVol = {0.02, 0.03, 0.035, 0.025};
const std::vector<double> kCorr = {1.0, 0.6, 0.5, 0.7,   //
                                   0.6, 1.0, 0.4, 0.55,  //
                                   0.5, 0.4, 1.0, 0.45,  //
                                   0.7, 0.55, 0.45, 1.0};
const std::vector<double> kSpot = {100.0, 50.0, 20.0, 10.0};
constexpr int kDays = 5;

Model lognormal_model() {
  Model m;
  m.assets = {"M", "A", "B", "E"};
  m.benchmark = "M";
  m.regimes = {Regime{"only", {0.0, 0.0, 0.0, 0.0}, kVol, kCorr, std::nullopt}};
  m.transition = {{1.0}};
  m.initial_probabilities = {1.0};
  m.spot = kSpot;
  validate_model(m, "test");
  return m;
}

HedgeLegConfig perpetual_on(const std::string& underlying, int index, double ratio) {
  HedgeLegConfig leg;
  leg.field = "hedge.legs[" + std::to_string(index) + "]";
  leg.instrument = HedgeInstrument::perpetual;
  leg.benchmark = underlying;
  leg.ratio = ratio;
  leg.funding_rate_8h = {0.0};
  return leg;
}

/// 200 A and 300 B hedged statically with perpetuals on M and E; no costs or funding, collateral
/// no path exhausts, martingale drift (E[S_T] = S_0).
BookConfig lognormal_book() {
  BookConfig b;
  b.holdings = {{"A", 200.0}, {"B", 300.0}};
  b.hedge.legs = {perpetual_on("M", 0, 0.5), perpetual_on("E", 1, 0.3)};
  b.margin.collateral = 1e12;
  b.simulation.horizon_days = kDays;
  b.simulation.paths = 1 << 17;
  b.simulation.seed = 23;
  b.risk.levels = {RiskLevel{"0.95", 0.95}, RiskLevel{"0.99", 0.99}};
  b.risk.hedge_ratio_grid = {-0.5, 1.5, 0.1};
  return b;
}

ScenarioRun optimise(const Model& model, const BookConfig& book, int threads = 2, std::uint64_t batch = 0) {
  auto backend = make_cpu_backend(threads);
  BookConfig b = book;
  b.simulation.batch_size = batch;
  return run_scenario(*backend, base_scenario(model), make_portfolio(model, b), b, {.optimize = true});
}

ScenarioRun run_static(const Model& model, const BookConfig& book, const std::vector<double>& ratios) {
  BookConfig b = book;
  for (std::size_t l = 0; l < ratios.size(); ++l) b.hedge.legs[l].ratio = ratios[l];
  auto backend = make_cpu_backend(2);
  return run_scenario(*backend, base_scenario(model), make_portfolio(model, b), b);
}

TEST(HedgeVectorJob, MinVarianceVectorIsTheLognormalClosedForm) {
  const Model model = lognormal_model();
  const BookConfig book = lognormal_book();
  const ScenarioRun run = optimise(model, book);
  ASSERT_TRUE(run.vector_optimization);
  ASSERT_FALSE(run.optimization);  // several legs: no one-ratio grid
  const HedgeVectorOptimization& v = *run.vector_optimization;

  // Cov(S_i(T), S_j(T)) = S_i S_j (exp(rho_ij s_i s_j T) - 1) for E[S_T] = S_0.
  const auto cov = [&](int i, int j) {
    return kSpot[i] * kSpot[j] * std::expm1(kCorr[i * 4 + j] * kVol[i] * kVol[j] * kDays);
  };
  const double value = 200.0 * kSpot[1] + 300.0 * kSpot[2];
  const int legs[] = {0, 3};  // M and E
  const double holdings[] = {0.0, 200.0, 300.0, 0.0};
  // x_l = -(V / S_l)(S_l(T) - S_l), u = sum_i h_i (S_i(T) - S_i).
  Eigen::Matrix2d sxx;
  Eigen::Vector2d sxu;
  for (int l = 0; l < 2; ++l) {
    for (int m = 0; m < 2; ++m) sxx(l, m) = value * value / (kSpot[legs[l]] * kSpot[legs[m]]) * cov(legs[l], legs[m]);
    double c = 0.0;
    for (int i = 0; i < 4; ++i) c += holdings[i] * cov(legs[l], i);
    sxu(l) = -value / kSpot[legs[l]] * c;
  }
  const Eigen::Vector2d expected = -sxx.ldlt().solve(sxu);
  for (int l = 0; l < 2; ++l) {
    SCOPED_TRACE(l);
    ASSERT_GT(v.min_variance_se[l], 0.0);
    EXPECT_LT(v.min_variance_se[l], 0.02);  // 2^17 paths pin each ratio to about 0.005
    EXPECT_NEAR(v.min_variance[l], expected(l), 4.0 * v.min_variance_se[l]);
  }
  EXPECT_EQ(v.system, HedgeSystem::regular);
  EXPECT_EQ(v.legs, (std::vector<std::string>{"M-perpetual", "E-perpetual"}));
}

/// Two legs with costs and funding (a perpetual on M, a future on E), collateral no path exhausts.
BookConfig costly_book() {
  BookConfig b = lognormal_book();
  b.simulation.paths = 1 << 14;
  b.hedge.legs[0].fee_bps = 5;
  b.hedge.legs[0].funding_rate_8h = {0.0002};
  b.hedge.legs[1].instrument = HedgeInstrument::future;
  b.hedge.legs[1].slippage_bps = 8;
  b.hedge.legs[1].future = {3, {0.05}, 1, 4.0};  // rolled within the horizon
  return b;
}

TEST(HedgeVectorJob, MinEsVectorIsWhatARunAtItReportsAndNoSurfacePointBeatsIt) {
  const Model model = lognormal_model();
  const BookConfig book = costly_book();
  const ScenarioRun run = optimise(model, book);
  ASSERT_TRUE(run.vector_optimization);
  const HedgeVectorOptimization& v = *run.vector_optimization;
  ASSERT_EQ(v.es_paths, book.simulation.paths);  // every path: the figures are a run's
  for (std::size_t a = 0; a < book.risk.levels.size(); ++a) {
    SCOPED_TRACE(book.risk.levels[a].key);
    const std::vector<double>& ratios = v.min_es[a].second;
    const double es = v.es_at_min_es[a].second;
    // A run of the static book at the vector reports that ES (to the rounding of the sum order).
    const ScenarioRun at = run_static(model, book, ratios);
    EXPECT_NEAR(at.result.hedged.tails[a].es, es, 1e-9 * es);
    EXPECT_EQ(at.result.margin.call_probability, 0.0);
    // No point of the surface (the other legs at the highest level's vector: two legs, all of it)
    // has a lower ES, nor do the runs at the vector moved a step along each leg.
    for (double s : v.surface[a].second) EXPECT_GE(s, es * (1.0 - 1e-9));
    for (int l = 0; l < 2; ++l)
      for (double step : {-0.02, 0.02}) {
        std::vector<double> moved = ratios;
        moved[l] += step;
        EXPECT_GE(run_static(model, book, moved).result.hedged.tails[a].es, es * (1.0 - 1e-9));
      }
  }
}

TEST(HedgeVectorJob, MarginConstrainedVectorKeepsTheCallLimitAndNoMore) {
  const Model model = lognormal_model();
  BookConfig book = costly_book();
  book.margin.collateral = 1200.0;  // tight: the min-variance vector is called on many paths
  book.risk.max_call_probability = 0.02;
  for (MarginMode mode : {MarginMode::cross, MarginMode::isolated}) {
    SCOPED_TRACE(mode == MarginMode::cross ? "cross" : "isolated");
    book.margin.mode = mode;
    if (mode == MarginMode::isolated) {
      book.margin.collateral.reset();
      book.margin.leg_collateral = {800.0, 600.0};
    }
    const ScenarioRun run = optimise(model, book);
    const HedgeVectorOptimization& v = *run.vector_optimization;
    ASSERT_TRUE(v.margin_constrained);
    ASSERT_LT(v.margin_constrained_scale, 1.0);
    ASSERT_GT(v.margin_constrained_scale, 0.0);
    for (int l = 0; l < 2; ++l) EXPECT_DOUBLE_EQ((*v.margin_constrained)[l], v.margin_constrained_scale * v.min_variance[l]);
    const double limit = book.risk.max_call_probability;
    // The pass's count of the min-variance vector's calls is what a run of it meets.
    ASSERT_TRUE(v.call_probability_at_min_variance);
    EXPECT_EQ(run_static(model, book, v.min_variance).result.margin.call_probability,
              *v.call_probability_at_min_variance);
    EXPECT_GT(*v.call_probability_at_min_variance, limit);
    EXPECT_LE(run_static(model, book, *v.margin_constrained).result.margin.call_probability, limit);
    std::vector<double> beyond = *v.margin_constrained;
    for (double& r : beyond) r *= 1.01;
    EXPECT_GT(run_static(model, book, beyond).result.margin.call_probability, limit);
  }
}

TEST(HedgeVectorJob, TheSameBitsForAnyThreadCountOrBatchSize) {
  const Model model = lognormal_model();
  BookConfig book = costly_book();
  book.margin.collateral = 3000.0;
  const HedgeVectorOptimization a = *optimise(model, book, 1, 4096).vector_optimization;
  const HedgeVectorOptimization b = *optimise(model, book, 2, 3 * 4096).vector_optimization;
  EXPECT_EQ(a.min_variance, b.min_variance);
  EXPECT_EQ(a.min_variance_se, b.min_variance_se);
  EXPECT_EQ(a.min_es, b.min_es);
  EXPECT_EQ(a.es_at_min_es, b.es_at_min_es);
  EXPECT_EQ(a.margin_constrained, b.margin_constrained);
  EXPECT_EQ(a.surface, b.surface);
}

TEST(HedgeVectorJob, ACollarsWrittenCallIsSearchedOnItsOwnSide) {
  // The range of each leg holds the book's own ratio: the written call's -1 below the grid's 0.
  BookConfig book;
  book.risk.hedge_ratio_grid = {0.0, 1.5, 0.05};
  book.hedge.legs = {perpetual_on("M", 0, 1.0), perpetual_on("M", 1, -1.0)};
  const auto [lower, upper] = hedge_vector_ranges(book);
  EXPECT_EQ(lower, (std::vector<double>{0.0, -1.0}));
  EXPECT_EQ(upper, (std::vector<double>{1.5, 1.5}));
}

/// The shipped examples of several legs run through every command of the CLI, and their outputs
/// carry the legs, the accounts and the optimal vector.
class HedgeVectorExamples : public ::testing::Test {
 protected:
  void run_example(const std::string& name) {
    std::string book = test::read_text(test::source_dir() / "configs/examples" / name);
    const std::string model = (test::source_dir() / "configs/demo/model.json").string();
    book.replace(book.find("../demo/model.json"), 18, model);
    book.replace(book.find("paths: 200000"), 13, "paths: 8192");
    test::write_text(dir_ / name, book);
    for (const char* command : {"simulate", "stress", "optimize", "bands"}) {
      SCOPED_TRACE(std::string(name) + " " + command);
      const std::filesystem::path out = dir_ / (std::string(command) + "-" + name);
      const test::CliResult r = test::run_cli(std::string(command) + " --backend cpu --quiet --config " +
                                              (dir_ / name).string() + " --out " + out.string());
      ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
      if (std::string(command) == "bands") continue;
      const nlohmann::json summary = nlohmann::json::parse(test::read_text(out / "summary.json"));
      ASSERT_EQ(summary["legs"].size(), 2u);
      const nlohmann::json& base = summary["scenarios"][0];
      EXPECT_EQ(base["legs"].size(), 2u);
      EXPECT_EQ(base["margin"]["accounts"].size(), 1u);  // cross
      if (std::string(command) == "optimize") {
        EXPECT_EQ(base["optimal_hedge_vector"]["min_variance"].size(), 2u);
        EXPECT_TRUE(std::filesystem::exists(out / "hedge_surface.csv"));
        EXPECT_FALSE(std::filesystem::exists(out / "hedge_ratio_curve.csv"));
      }
    }
  }
  test::TempDir dir_;
};

TEST_F(HedgeVectorExamples, TwoPerpetualLegsUnderCrossMargin) { run_example("two_leg_perpetuals.yaml"); }

TEST_F(HedgeVectorExamples, IsolatedAccountsAreReportedPerAccountNotAsAccountZeros) {
  std::string book = test::read_text(test::source_dir() / "configs/examples/two_leg_perpetuals.yaml");
  book.replace(book.find("../demo/model.json"), 18, (test::source_dir() / "configs/demo/model.json").string());
  book.replace(book.find("paths: 200000"), 13, "paths: 8192");
  book.replace(book.find("mode: cross"), 11, "mode: isolated");
  test::write_text(dir_ / "isolated.yaml", book);
  const std::filesystem::path out = dir_ / "out";
  const test::CliResult r =
      test::run_cli("stress --backend cpu --quiet --config " + (dir_ / "isolated.yaml").string() + " --out " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  const nlohmann::json summary = nlohmann::json::parse(test::read_text(out / "summary.json"));
  const nlohmann::json& margin = summary["scenarios"][0]["margin"];
  ASSERT_EQ(margin["accounts"].size(), 2u);
  EXPECT_TRUE(margin["collateral_for_call_probability"].empty());
  // auto: each account sized at max_call_probability / 2 (0.005) of the base scenario's paths.
  double total = 0.0;
  for (const nlohmann::json& a : margin["accounts"]) {
    EXPECT_LE(a["call_probability"].get<double>(), 0.005);
    total += a["collateral"].get<double>();
  }
  EXPECT_DOUBLE_EQ(margin["collateral"].get<double>(), total);
  EXPECT_LE(margin["call_probability"].get<double>(), 0.01);
  // stress.csv's collateral column is the book's, which no one number is: empty, not account 0's.
  const std::string csv = test::read_text(out / "stress.csv");
  const std::string header = csv.substr(0, csv.find('\n'));
  const std::string row = csv.substr(csv.find('\n') + 1, csv.find('\n', csv.find('\n') + 1) - csv.find('\n') - 1);
  const auto field = [](const std::string& line, int index) {
    std::size_t begin = 0;
    for (int i = 0; i < index; ++i) begin = line.find(',', begin) + 1;
    return line.substr(begin, line.find(',', begin) - begin);
  };
  int column = 0;
  for (std::size_t at = 0; field(header, column) != "collateral_for_call_probability"; ++column) ASSERT_LT(at++, 100u);
  EXPECT_EQ(field(row, column), "") << row;
}
TEST_F(HedgeVectorExamples, ACollar) { run_example("collar.yaml"); }

}  // namespace
}  // namespace betahedge
