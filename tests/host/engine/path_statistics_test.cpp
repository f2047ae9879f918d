// Statistical checks of the path code against closed forms, each with its tolerance in
// standard errors of the estimate.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include <Eigen/Dense>

#include "betahedge/path_simulation.hpp"
#include "betahedge/philox.hpp"
#include "config/book_config.hpp"
#include "cpu_backend/cpu_backend.hpp"
#include "engine/return_history.hpp"
#include "engine/risk_engine.hpp"
#include "engine/simulation_setup.hpp"
#include "model/model_json.hpp"

namespace betahedge {
namespace {

Model three_asset_model(Distribution dist, double dof) {
  Model m;
  m.assets = {"BTC", "ETH", "SOL"};
  m.benchmark = "BTC";
  m.distribution = dist;
  Regime r;
  r.name = "only";
  r.mean = {0.0002, 0.0001, -0.0003};
  r.vol = {0.03, 0.04, 0.06};
  r.corr = {1.0, 0.8, 0.6, 0.8, 1.0, 0.7, 0.6, 0.7, 1.0};
  if (dist == Distribution::student_t) r.dof = dof;
  m.regimes = {r};
  m.transition = {{1.0}};
  m.initial_probabilities = {1.0};
  m.spot = {90000.0, 2500.0, 180.0};
  validate_model(m, "test");
  return m;
}

// Sample correlations of 10^6 daily shocks vs the model's. For a gaussian the standard error
// of r is (1 - rho^2)/sqrt(n); for a multivariate t it is inflated by sqrt(1 + kappa) with
// the elliptical kurtosis kappa = 2/(dof - 4) (Muirhead 1982, sec. 5.1.4).
void expect_sample_correlation_matches(Distribution dist, double dof) {
  const Model m = three_asset_model(dist, dof);
  const int n = 1000000;
  const ReturnHistory h = simulate_return_history(m, n, 2024);
  const Eigen::MatrixXd centered = h.log_returns.rowwise() - h.log_returns.colwise().mean();
  const Eigen::MatrixXd cov = centered.transpose() * centered / (n - 1);
  const double inflation = dist == Distribution::student_t ? std::sqrt(1.0 + 2.0 / (dof - 4.0)) : 1.0;
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(std::sqrt(cov(i, i)), m.regimes[0].vol[i], 4.0 * inflation * m.regimes[0].vol[i] / std::sqrt(2.0 * n));
    for (int j = 0; j < i; ++j) {
      const double rho = m.regimes[0].corr[i * 3 + j];
      const double r = cov(i, j) / std::sqrt(cov(i, i) * cov(j, j));
      EXPECT_NEAR(r, rho, 4.0 * inflation * (1.0 - rho * rho) / std::sqrt(static_cast<double>(n)))
          << "pair " << i << "," << j;
    }
  }
}

TEST(PathStatistics, GaussianShockCorrelationMatchesModel) { expect_sample_correlation_matches(Distribution::gaussian, 0); }
TEST(PathStatistics, StudentTShockCorrelationMatchesModel) { expect_sample_correlation_matches(Distribution::student_t, 8.0); }

// Student-t innovations are scaled to unit variance and have excess kurtosis 6/(dof-4).
TEST(PathStatistics, StudentTShocksHaveModelVolAndFatTails) {
  const double dof = 6.0;
  const Model m = three_asset_model(Distribution::student_t, dof);
  const int n = 1000000;
  const ReturnHistory h = simulate_return_history(m, n, 99);
  const Eigen::VectorXd x = h.log_returns.col(0).array() - h.log_returns.col(0).mean();
  const double var = x.squaredNorm() / n;
  const double kurt = x.array().pow(4).mean() / (var * var);
  EXPECT_GT(kurt, 3.0 + 0.5 * 6.0 / (dof - 4.0));  // well above the gaussian 3
}

class RegimeCounter {
 public:
  RegimeCounter(std::vector<double>* at_day, int day, std::vector<double>* occupancy)
      : at_day_(at_day), day_(day), occupancy_(occupancy) {}
  void on_day(int day, int regime) const {
    if (day == day_) (*at_day_)[regime] += 1.0;
    (*occupancy_)[regime] += 1.0;
  }
  void on_beta_check(int, double, double) const {}

 private:
  std::vector<double>* at_day_;
  int day_;
  std::vector<double>* occupancy_;
};

Model two_regime_model(std::vector<double> initial) {
  Model m = three_asset_model(Distribution::gaussian, 0);
  Regime stressed = m.regimes[0];
  stressed.name = "stressed";
  for (double& v : stressed.vol) v *= 2.0;
  m.regimes[0].name = "calm";
  m.regimes.push_back(stressed);
  m.transition = {{0.95, 0.05}, {0.20, 0.80}};
  m.initial_probabilities = std::move(initial);
  validate_model(m, "test");
  return m;
}

// Started in the stationary distribution pi = (0.8, 0.2), the chain's occupancy is pi. Paths
// are independent, so the standard error comes from the per-path occupancy fractions.
TEST(PathStatistics, RegimeOccupancyMatchesStationaryDistribution) {
  const Model m = two_regime_model({0.8, 0.2});
  const PortfolioSetup portfolio{{1.0, 0.0, 0.0}, 90000.0, 1.0};
  SimulationConfig sim;
  sim.horizon_days = 60;
  const SimulationTables tables = build_simulation_tables(m, portfolio, sim);
  const SimulationView view = tables.view(tables.data.data());
  const int paths = 40000;
  double sum = 0.0, sum_sq = 0.0;
  for (int p = 0; p < paths; ++p) {
    std::vector<double> at_day(2, 0.0), occupancy(2, 0.0);
    PhiloxStream gen(sim.seed, p);
    simulate_path<4>(view, gen, RegimeCounter(&at_day, 1, &occupancy));
    const double fraction = occupancy[1] / sim.horizon_days;
    sum += fraction;
    sum_sq += fraction * fraction;
  }
  const double mean = sum / paths;
  const double se = std::sqrt((sum_sq / paths - mean * mean) / paths);
  EXPECT_NEAR(mean, 0.2, 4.0 * se);
}

// Started surely calm, the regime distribution on day t is e_0 P^t (binomial standard error).
TEST(PathStatistics, RegimeMarginalMatchesTransitionMatrixPower) {
  const Model m = two_regime_model({1.0, 0.0});
  const PortfolioSetup portfolio{{1.0, 0.0, 0.0}, 90000.0, 1.0};
  SimulationConfig sim;
  sim.horizon_days = 5;
  const SimulationTables tables = build_simulation_tables(m, portfolio, sim);
  const SimulationView view = tables.view(tables.data.data());
  Eigen::Matrix2d p;
  p << 0.95, 0.05, 0.20, 0.80;
  const Eigen::RowVector2d expected = Eigen::RowVector2d(1.0, 0.0) * p * p * p;
  const int paths = 100000;
  std::vector<double> at_day(2, 0.0), occupancy(2, 0.0);
  for (int i = 0; i < paths; ++i) {
    PhiloxStream gen(sim.seed, i);
    simulate_path<4>(view, gen, RegimeCounter(&at_day, 3, &occupancy));
  }
  const double q = expected(1);
  EXPECT_NEAR(at_day[1] / paths, q, 4.0 * std::sqrt(q * (1 - q) / paths));
}

// One regime, one asset: P&L = h S0 (exp(X) - 1), X ~ N(mu T, sigma^2 T). Closed forms:
// VaR_a = h S0 (1 - exp(mu T + sigma sqrt(T) z_{1-a})),
// ES_a  = h S0 (1 - exp(mu T + sigma^2 T / 2) Phi(z_{1-a} - sigma sqrt(T)) / (1 - a)).
TEST(PathStatistics, OneAssetVarAndEsMatchLognormalClosedForm) {
  Model m;
  m.assets = {"BTC"};
  m.benchmark = "BTC";
  m.regimes = {Regime{"only", {0.0004}, {0.035}, {1.0}, std::nullopt}};
  m.transition = {{1.0}};
  m.initial_probabilities = {1.0};
  m.spot = {50000.0};
  validate_model(m, "test");
  const double units = 3.0, s0 = 50000.0, mu = 0.0004, sigma = 0.035;
  const PortfolioSetup portfolio{{units}, units * s0, 1.0};
  BookConfig book;
  SimulationConfig& sim = book.simulation;
  sim.paths = 1000000;
  sim.horizon_days = 30;
  sim.seed = 7;
  sim.drift = DriftRule::model;  // the closed forms have the model's log drift mu
  RiskConfig& risk = book.risk;
  risk.levels = {{"0.95", 0.95}, {"0.99", 0.99}};
  const SimulationTables tables = build_simulation_tables(m, portfolio, sim);
  auto backend = make_cpu_backend(0);
  const ScenarioResult r = evaluate_scenario("base", *backend, tables, book);

  const double t = sim.horizon_days, v0 = units * s0;
  const double mean = v0 * (std::exp(mu * t + 0.5 * sigma * sigma * t) - 1.0);
  const double stdev = v0 * std::exp(mu * t + 0.5 * sigma * sigma * t) * std::sqrt(std::exp(sigma * sigma * t) - 1.0);
  EXPECT_NEAR(r.unhedged.mean, mean, 4.0 * r.unhedged.mean_se);
  // se(s) = s sqrt((kurtosis - 1) / (4 n)); lognormal kurtosis w^4 + 2w^3 + 3w^2 - 3, w = exp(sigma^2 T).
  const double w = std::exp(sigma * sigma * t);
  const double kurtosis = w * w * w * w + 2 * w * w * w + 3 * w * w - 3;
  EXPECT_NEAR(r.unhedged.stdev, stdev, 4.0 * stdev * std::sqrt((kurtosis - 1.0) / (4.0 * sim.paths)));
  const double z_tail[] = {-1.6448536269514722, -2.3263478740408408};  // z_{1-a}
  for (int i = 0; i < 2; ++i) {
    const double a = risk.levels[i].value, z = z_tail[i];
    const double var = v0 * (1.0 - std::exp(mu * t + sigma * std::sqrt(t) * z));
    const double phi = 0.5 * std::erfc(-(z - sigma * std::sqrt(t)) / std::sqrt(2.0));
    const double es = v0 * (1.0 - std::exp(mu * t + 0.5 * sigma * sigma * t) * phi / (1.0 - a));
    const TailRisk& got = r.unhedged.tails[i];
    EXPECT_NEAR(got.var, var, 4.0 * got.var_se) << "level " << a;
    EXPECT_NEAR(got.es, es, 4.0 * got.es_se) << "level " << a;
    EXPECT_GT(got.var_se, 0.0);
    EXPECT_LT(got.var_se, 0.02 * var);
  }
}

}  // namespace
}  // namespace betahedge
