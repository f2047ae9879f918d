#include "calibration/calibrate.hpp"

#include <cmath>
#include <random>
#include <sstream>

#include <gtest/gtest.h>

#include "betahedge/error.hpp"
#include "calibration/betas.hpp"
#include "engine/return_history.hpp"
#include "model/model_json.hpp"

namespace betahedge {
namespace {

Model two_regime_model() {
  Model m;
  m.assets = {"BTC", "ETH", "SOL"};
  m.benchmark = "BTC";
  m.regimes = {
      {"calm", {0.0005, 0.0008, 0.001}, {0.02, 0.03, 0.045}, {1, .6, .5, .6, 1, .55, .5, .55, 1}, {}},
      {"stressed", {-0.002, -0.003, -0.004}, {0.05, 0.07, 0.09}, {1, .85, .8, .85, 1, .82, .8, .82, 1}, {}}};
  m.transition = {{0.98, 0.02}, {0.05, 0.95}};
  m.initial_probabilities = {5.0 / 7.0, 2.0 / 7.0};
  m.spot = {50000.0, 3000.0, 150.0};
  return m;
}

/// Returns as the loader would give them: dates are consecutive days from 2000-01-01.
ReturnData as_return_data(const Eigen::MatrixXd& log_returns, std::vector<std::string> assets, int benchmark) {
  ReturnData d;
  d.source = "simulated";
  d.assets = std::move(assets);
  d.benchmark_index = benchmark;
  d.log_returns = log_returns;
  for (int t = 0; t <= log_returns.rows(); ++t) d.price_dates.push_back("day" + std::to_string(t));
  d.spot.assign(d.assets.size(), 100.0);
  return d;
}

TEST(Calibrate, WritesEveryBetaAndTheLastFilteredProbabilities) {
  const Model truth = two_regime_model();
  const ReturnHistory h = simulate_return_history(truth, 4000, 31);
  const ReturnData data = as_return_data(h.log_returns, truth.assets, 0);
  CalibrationOptions o;
  const Calibration c = calibrate(data, o);
  const Model& m = c.model;
  ASSERT_EQ(m.num_regimes(), 2);
  EXPECT_EQ(m.regimes[0].name, "calm");
  EXPECT_EQ(m.regimes[1].name, "stressed");
  EXPECT_LT(m.regimes[0].vol[0], m.regimes[1].vol[0]);
  for (int k = 0; k < 2; ++k)
    EXPECT_DOUBLE_EQ(m.initial_probabilities[k], c.fit.filter.filtered(3999, k) / c.fit.filter.filtered.row(3999).sum());
  ASSERT_EQ(m.betas.size(), 2u);
  EXPECT_EQ(m.betas.count("BTC"), 0u);
  for (const char* symbol : {"ETH", "SOL"}) {
    const int i = m.asset_index(symbol);
    const BetaEstimates& b = m.betas.at(symbol);
    const OlsBeta ols = ols_beta(h.log_returns.col(i), h.log_returns.col(0));
    EXPECT_EQ(b.ols, ols.beta);
    EXPECT_EQ(b.ols_se, ols.beta_se);
    ASSERT_TRUE(b.ewma && b.kalman && b.ols_r2 && b.regime_weighted);
    ASSERT_EQ(b.regime.size(), 2u);
    double weighted = 0.0;
    for (int k = 0; k < 2; ++k) {
      // rho * sigma_i / sigma_m from the written regime.
      const Regime& r = m.regimes[k];
      EXPECT_NEAR(b.regime[k], r.corr[i * 3 + 0] * r.vol[i] / r.vol[0], 1e-12);
      weighted += m.initial_probabilities[k] * b.regime[k];
    }
    EXPECT_NEAR(*b.regime_weighted, weighted, 1e-15);
    // Against the simulated model: rho sigma_i / sigma_m per regime, within 5 standard errors
    // of a regression slope (sqrt((1 - rho^2) / n_k) sigma_i / sigma_m).
    const Eigen::VectorXd days = c.fit.filter.smoothed.colwise().sum().transpose();
    for (int k = 0; k < 2; ++k) {
      const Regime& r = truth.regimes[k];
      const double rho = r.corr[i * 3];
      EXPECT_NEAR(b.regime[k], rho * r.vol[i] / r.vol[0], 5.0 * std::sqrt((1 - rho * rho) / days[k]) * r.vol[i] / r.vol[0]);
    }
  }
  EXPECT_NO_THROW(validate_model(m, "calibrated"));
  ASSERT_TRUE(m.calibration);
  EXPECT_EQ(m.calibration->nobs, 4000);
  EXPECT_TRUE(m.calibration->converged);
  EXPECT_EQ(m.calibration->start, "day0");
  EXPECT_EQ(m.calibration->end, "day4000");
}

TEST(Calibrate, JsonRoundTripsThroughTheModelLoader) {
  const ReturnHistory h = simulate_return_history(two_regime_model(), 1500, 32);
  const ReturnData data = as_return_data(h.log_returns, {"BTC", "ETH", "SOL"}, 0);
  const Calibration c = calibrate(data, CalibrationOptions{});
  const nlohmann::json doc = calibration_to_json(c);
  const Model back = model_from_json(doc, "doc");
  EXPECT_EQ(back.assets, c.model.assets);
  EXPECT_EQ(back.transition, c.model.transition);
  EXPECT_EQ(back.regimes[1].corr, c.model.regimes[1].corr);
  EXPECT_EQ(back.betas.at("SOL").kalman, c.model.betas.at("SOL").kalman);
  EXPECT_EQ(doc["calibration"]["initial_distribution"], "stationary");
  EXPECT_EQ(doc["calibration"]["model_selection"].size(), 1u);
  EXPECT_EQ(doc["betas"]["ETH"]["rolling_window"], 60);
}

TEST(Calibrate, RegimesCsvHasFilteredAndSmoothedColumnsPerRegime) {
  const ReturnHistory h = simulate_return_history(two_regime_model(), 300, 33);
  const ReturnData data = as_return_data(h.log_returns, {"BTC", "ETH", "SOL"}, 0);
  const Calibration c = calibrate(data, CalibrationOptions{});
  std::istringstream csv(regimes_csv(c, data));
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(line, "date,filtered_calm,smoothed_calm,filtered_stressed,smoothed_stressed");
  int rows = 0;
  std::string last;
  while (std::getline(csv, line)) {
    ++rows;
    last = line;
  }
  EXPECT_EQ(rows, 300);
  EXPECT_EQ(last.substr(0, 7), "day300,");
}

TEST(Calibrate, AutoPicksTwoRegimesOnTwoRegimeDataAndOneOnGaussianNoise) {
  const ReturnHistory h = simulate_return_history(two_regime_model(), 3000, 34);
  CalibrationOptions o;
  o.num_regimes.reset();
  o.fit.num_starts = 4;
  const Calibration two = calibrate(as_return_data(h.log_returns, {"BTC", "ETH", "SOL"}, 0), o);
  ASSERT_EQ(two.selection.size(), 4u);
  EXPECT_EQ(two.model.num_regimes(), 2);
  for (const auto& row : two.selection) EXPECT_GE(row.bic, two.fit.bic);
  // BIC = -2 L + p log T for every candidate.
  for (const auto& row : two.selection) EXPECT_NEAR(row.bic, -2 * row.loglik + row.num_parameters * std::log(3000.0), 1e-8);

  std::mt19937_64 rng(35);
  std::normal_distribution<double> normal;
  Eigen::MatrixXd noise(3000, 2);
  for (int t = 0; t < 3000; ++t) noise.row(t) << 0.02 * normal(rng), 0.01 * normal(rng) + 0.015 * normal(rng);
  const Calibration one = calibrate(as_return_data(noise, {"A", "B"}, 0), o);
  EXPECT_EQ(one.model.num_regimes(), 1);
  EXPECT_EQ(one.model.regimes[0].name, "all");
}

TEST(Calibrate, IterationCapIsANumericalFailureWithAHint) {
  const ReturnHistory h = simulate_return_history(two_regime_model(), 1000, 36);
  CalibrationOptions o;
  o.fit.max_iterations = 2;
  o.fit.num_starts = 2;
  const ReturnData data = as_return_data(h.log_returns, {"BTC", "ETH", "SOL"}, 0);
  try {
    calibrate(data, o);
    FAIL() << "expected NumericalError";
  } catch (const NumericalError& e) {
    EXPECT_NE(std::string(e.what()).find("did not converge"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("hint"), std::string::npos);
  }
  o.accept_unconverged = true;
  const Calibration c = calibrate(data, o);
  EXPECT_FALSE(c.model.calibration->converged);
  EXPECT_EQ(c.model.calibration->iterations, 2);
}

TEST(Calibrate, MinimumReturnsExceedTheParameterCount) {
  CalibrationOptions o;  // K = 2, gaussian, stationary: 2*3 + 2*6 + 2 = 20 parameters for 3 assets
  EXPECT_EQ(minimum_returns(3, o), 21);
  o.num_regimes.reset();
  EXPECT_EQ(minimum_returns(3, o), 10);
}

// A flat series used to fail inside the fit as "column 1", with no file or symbol.
TEST(Calibrate, APriceThatDoesNotMoveIsAnInputErrorNamingTheSymbol) {
  const Model truth = two_regime_model();
  ReturnHistory h = simulate_return_history(truth, 300, 5);
  h.log_returns.col(1).setZero();
  try {
    calibrate(as_return_data(h.log_returns, truth.assets, 0), CalibrationOptions{});
    FAIL() << "calibrated on a price that does not move";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("simulated: field 'ETH': the price does not move", 0), 0u) << e.what();
  }
}

// The calibration's warnings: `auto` at either end of the counts it tried, and regimes expected
// to last under three days (1 / (1 - p_kk)); none for a count that was asked for.
TEST(Calibrate, WarnsOfAnAutoCountAtItsBoundAndOfShortRegimes) {
  const auto calibration_with = [](int chosen, std::optional<int> requested) {
    Calibration c;
    c.options.num_regimes = requested;
    for (int k = 1; k <= kMaxAutoRegimes; ++k) c.selection.push_back({k, 0, 0.0, 0.0, 0.0, true, 1});
    c.model.regimes.resize(chosen);
    c.model.transition.assign(chosen, std::vector<double>(chosen, 0.0));
    for (int k = 0; k < chosen; ++k) {
      c.model.regimes[k].name = regime_names(chosen)[k];
      c.model.transition[k][k] = 1.0;
    }
    return c;
  };
  EXPECT_TRUE(calibration_warnings(calibration_with(2, std::nullopt)).empty());
  EXPECT_TRUE(calibration_warnings(calibration_with(4, 4)).empty());
  const std::vector<std::string> top = calibration_warnings(calibration_with(4, std::nullopt));
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].rfind("regimes auto chose 4 regimes, the top of the range it tried (1..4)", 0), 0u) << top[0];
  const std::vector<std::string> bottom = calibration_warnings(calibration_with(1, std::nullopt));
  ASSERT_EQ(bottom.size(), 1u);
  EXPECT_EQ(bottom[0].rfind("regimes auto chose 1 regime, the bottom of the range it tried (1..4)", 0), 0u) << bottom[0];

  Model m = two_regime_model();  // 50 and 20 days
  EXPECT_TRUE(short_regime_warnings(m).empty());
  m.transition = {{0.98, 0.02}, {0.7, 0.3}};  // stressed: 1 / 0.7 = 1.43 days
  const std::vector<std::string> short_ones = short_regime_warnings(m);
  ASSERT_EQ(short_ones.size(), 1u);
  EXPECT_EQ(short_ones[0].rfind("regime stressed lasts 1.43 days on average (1 / (1 - p_kk), p_kk = 0.3000)", 0), 0u)
      << short_ones[0];
  m.transition = {{0.98, 0.02}, {0.35, 0.65}};  // 2.86 days: still short
  EXPECT_EQ(short_regime_warnings(m).size(), 1u);
  m.transition = {{0.98, 0.02}, {0.3, 0.7}};  // 3.33 days
  EXPECT_TRUE(short_regime_warnings(m).empty());
}

}  // namespace
}  // namespace betahedge
