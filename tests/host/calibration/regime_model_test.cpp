#include "calibration/regime_model.hpp"

#include <omp.h>

#include <cmath>
#include <fstream>
#include <numbers>
#include <random>
#include <string>

#include <Eigen/Eigenvalues>
#include <gtest/gtest.h>

#include "betahedge/error.hpp"
#include "engine/return_history.hpp"
#include "market/prices_csv.hpp"
#include "market/returns.hpp"
#include "test_support.hpp"

namespace betahedge {
namespace {

constexpr double kEulerGamma = 0.57721566490153286;

TEST(Digamma, MatchesClosedForms) {
  EXPECT_NEAR(digamma(1.0), -kEulerGamma, 1e-13);
  EXPECT_NEAR(digamma(0.5), -kEulerGamma - 2.0 * std::log(2.0), 1e-13);
  // psi(n) = H_{n-1} - gamma.
  double harmonic = 0.0;
  for (int k = 1; k <= 9; ++k) harmonic += 1.0 / k;
  EXPECT_NEAR(digamma(10.0), harmonic - kEulerGamma, 1e-13);
  EXPECT_NEAR(digamma(200.5), std::log(200.5) - 1.0 / (2 * 200.5) - 1.0 / (12 * 200.5 * 200.5), 1e-10);
}

TEST(StationaryDistribution, TwoStateClosedFormAndBalance) {
  Eigen::MatrixXd a(2, 2);
  a << 0.97, 0.03, 0.10, 0.90;
  const Eigen::VectorXd pi = stationary_distribution(a);
  EXPECT_NEAR(pi[0], 0.10 / 0.13, 1e-15);
  EXPECT_NEAR(pi[1], 0.03 / 0.13, 1e-15);
  Eigen::MatrixXd b(3, 3);
  b << 0.8, 0.15, 0.05, 0.1, 0.7, 0.2, 0.3, 0.3, 0.4;
  const Eigen::VectorXd p = stationary_distribution(b);
  EXPECT_NEAR((p.transpose() * b - p.transpose()).cwiseAbs().maxCoeff(), 0.0, 1e-15);
  EXPECT_NEAR(p.sum(), 1.0, 1e-15);
}

Eigen::MatrixXd read_fedfunds() {
  std::ifstream in(test::shared_dir() / "reference" / "fedfunds.csv");
  std::string line;
  std::getline(in, line);
  std::vector<double> v;
  while (std::getline(in, line)) v.push_back(std::stod(line.substr(line.find(',') + 1)));
  Eigen::MatrixXd x(static_cast<Eigen::Index>(v.size()), 1);
  for (std::size_t i = 0; i < v.size(); ++i) x(static_cast<Eigen::Index>(i), 0) = v[i];
  return x;
}

// statsmodels' TestFedFundsConst (= Stata): two regimes, switching mean, one common variance,
// stationary initial distribution. Published to the digits given in ../shared/reference.
TEST(RegimeModel, ReproducesStataFedfunds) {
  if (!std::filesystem::exists(test::shared_dir() / "reference" / "fedfunds.csv")) GTEST_SKIP();
  const Eigen::MatrixXd x = read_fedfunds();
  ASSERT_EQ(x.rows(), 226);
  RegimeFitOptions o;
  o.num_regimes = 2;
  o.shared_covariance = true;
  o.initial = InitialDistribution::stationary;
  o.tolerance = 1e-12;
  o.max_iterations = 10000;
  RegimeFit fit = fit_regime_model(x, o);
  order_regimes_by_volatility(fit, 0);  // equal variances: lower mean first
  ASSERT_TRUE(fit.converged);
  EXPECT_NEAR(fit.filter.loglik, -508.63592, 1e-5);
  EXPECT_NEAR(fit.params.transition(0, 0), 0.9820939, 1e-6);
  EXPECT_NEAR(fit.params.transition(1, 0), 0.0503587, 1e-6);
  EXPECT_NEAR(fit.params.mean[0][0], 3.70877, 1e-5);
  EXPECT_NEAR(fit.params.mean[1][0], 9.556793, 5e-6);
  EXPECT_NEAR(std::sqrt(fit.params.scale[0](0, 0)), 2.107562, 1e-6);
  EXPECT_EQ(fit.params.scale[0], fit.params.scale[1]);
  EXPECT_NEAR((fit.params.initial - stationary_distribution(fit.params.transition)).norm(), 0.0, 1e-14);
  EXPECT_EQ(fit.num_parameters, 5);  // 2 means, 1 variance, 2 transitions
  EXPECT_NEAR(fit.bic, 2 * 508.63592 + 5 * std::log(226.0), 1e-4);
  // Every start finds the same maximum on this well-separated series.
  for (double l : fit.start_logliks) EXPECT_NEAR(l, fit.filter.loglik, 1e-6);
}

// hmmlearn's forward-backward (an independent implementation) at hand-chosen parameters on the
// BTC/ETH/SOL returns; numbers printed by scripts/hmmlearn_reference.py.
TEST(RegimeModel, ForwardBackwardMatchesHmmlearn) {
  if (!test::have_shared_data()) GTEST_SKIP() << "no ../shared/data";
  const PriceTable table = read_prices_csv(test::shared_dir() / "data" / "crypto_daily_close_yahoo_2014_2025.csv");
  ReturnWindowOptions window;
  window.benchmark = "BTC";
  window.assets = {"BTC", "ETH", "SOL"};
  const ReturnData data = log_returns_on_common_window(table, window);
  ASSERT_EQ(data.num_returns(), 1768);
  RegimeParameters p;
  const double vols[2][3] = {{0.02, 0.025, 0.04}, {0.045, 0.06, 0.09}};
  const double corrs[2][3] = {{0.8, 0.7, 0.75}, {0.75, 0.5, 0.55}};  // (0,1), (0,2), (1,2)
  p.mean = {Eigen::Vector3d(0.001, 0.001, 0.002), Eigen::Vector3d(-0.002, -0.003, -0.004)};
  for (int k = 0; k < 2; ++k) {
    Eigen::Matrix3d c;
    c << 1, corrs[k][0], corrs[k][1], corrs[k][0], 1, corrs[k][2], corrs[k][1], corrs[k][2], 1;
    const Eigen::Vector3d v(vols[k][0], vols[k][1], vols[k][2]);
    p.scale.push_back(v.asDiagonal() * c * v.asDiagonal());
  }
  p.transition.resize(2, 2);
  p.transition << 0.9, 0.1, 0.15, 0.85;
  p.initial = Eigen::Vector2d(0.6, 0.4);
  const RegimeFilter f = filter_regimes(data.log_returns, p, Distribution::gaussian);
  EXPECT_NEAR(f.loglik, 11116.386619897732, 1e-8);
  EXPECT_NEAR(f.smoothed(500, 0), 0.95442839722471717, 1e-10);
  EXPECT_NEAR(f.smoothed(1000, 0), 0.99159477697463838, 1e-10);
  EXPECT_NEAR(f.smoothed(1767, 0), 0.98420852831565808, 1e-10);
  EXPECT_NEAR(f.smoothed(0, 0), 4.2408974695200609e-12, 1e-15);
  EXPECT_NEAR(f.filtered(500, 0), 0.95898150214941935, 1e-10);
  EXPECT_NEAR(f.filtered(1000, 0), 0.98694322286956659, 1e-10);
  EXPECT_NEAR(f.filtered(0, 0), 3.550010756044753e-11, 1e-15);
  EXPECT_NEAR(f.filtered(1767, 0), f.smoothed(1767, 0), 1e-14);
}

// One regime is the i.i.d. Gaussian: the MLE is the sample mean and the sample covariance
// (divided by T), and L = -T/2 (N log 2 pi + log |S| + N).
TEST(RegimeModel, OneGaussianRegimeIsTheSampleMoments) {
  std::mt19937_64 rng(1);
  std::normal_distribution<double> normal;
  Eigen::MatrixXd x(400, 3);
  for (int t = 0; t < 400; ++t) {
    const double common = normal(rng);
    for (int i = 0; i < 3; ++i) x(t, i) = 0.001 * i + 0.01 * (i + 1) * (0.7 * common + 0.7 * normal(rng));
  }
  RegimeFitOptions o;
  o.num_regimes = 1;
  const RegimeFit fit = fit_regime_model(x, o);
  const Eigen::VectorXd mean = x.colwise().mean().transpose();
  const Eigen::MatrixXd centered = x.rowwise() - mean.transpose();
  const Eigen::MatrixXd s = centered.transpose() * centered / 400.0;
  EXPECT_NEAR((fit.params.mean[0] - mean).cwiseAbs().maxCoeff(), 0.0, 1e-15);
  EXPECT_NEAR((fit.params.scale[0] - s).cwiseAbs().maxCoeff(), 0.0, 1e-15);
  const double expected = -200.0 * (3 * std::log(2 * std::numbers::pi) + std::log(s.determinant()) + 3);
  EXPECT_NEAR(fit.filter.loglik, expected, 1e-9 * std::abs(expected));
  EXPECT_TRUE(fit.converged);
  EXPECT_EQ(fit.num_parameters, 3 + 6);
}

Model three_asset_model(Distribution distribution) {
  Model m;
  m.assets = {"BTC", "ETH", "SOL"};
  m.benchmark = "BTC";
  m.distribution = distribution;
  Regime calm{"calm", {0.0005, 0.0008, 0.001}, {0.02, 0.03, 0.045}, {1, .6, .5, .6, 1, .55, .5, .55, 1}, {}};
  Regime stressed{"stressed", {-0.002, -0.003, -0.004}, {0.05, 0.07, 0.09}, {1, .85, .8, .85, 1, .82, .8, .82, 1}, {}};
  if (distribution == Distribution::student_t) {
    calm.dof = 8.0;
    stressed.dof = 5.0;
  }
  m.regimes = {calm, stressed};
  m.transition = {{0.98, 0.02}, {0.05, 0.95}};
  m.initial_probabilities = {5.0 / 7.0, 2.0 / 7.0};  // stationary
  m.spot = {50000.0, 3000.0, 150.0};
  return m;
}

void expect_monotone(const RegimeFit& fit) {
  ASSERT_TRUE(fit.reseeded_at.empty());
  ASSERT_GE(fit.loglik_trace.size(), 3u);
  for (std::size_t i = 1; i < fit.loglik_trace.size(); ++i)
    EXPECT_GE(fit.loglik_trace[i] - fit.loglik_trace[i - 1], -1e-10 * std::abs(fit.loglik_trace[i]))
        << "iteration " << i;
}

struct MonotoneCase {
  Distribution distribution;
  InitialDistribution initial;
  bool shared;
  int num_regimes;
};

TEST(RegimeModel, EmLikelihoodNeverDecreases) {
  const ReturnHistory g = simulate_return_history(three_asset_model(Distribution::gaussian), 3000, 17);
  const ReturnHistory t = simulate_return_history(three_asset_model(Distribution::student_t), 3000, 18);
  const MonotoneCase cases[] = {
      {Distribution::gaussian, InitialDistribution::stationary, false, 2},
      {Distribution::gaussian, InitialDistribution::estimated, false, 3},
      {Distribution::gaussian, InitialDistribution::stationary, true, 3},
      {Distribution::student_t, InitialDistribution::stationary, false, 2},
      {Distribution::student_t, InitialDistribution::estimated, true, 2},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::to_string(c.num_regimes) + " regimes, dist " + std::to_string(int(c.distribution)) +
                 ", initial " + std::to_string(int(c.initial)) + ", shared " + std::to_string(c.shared));
    RegimeFitOptions o;
    o.num_regimes = c.num_regimes;
    o.distribution = c.distribution;
    o.initial = c.initial;
    o.shared_covariance = c.shared;
    o.num_starts = 3;
    o.tolerance = 1e-12;
    o.max_iterations = 300;
    const RegimeFit fit = fit_regime_model(c.distribution == Distribution::gaussian ? g.log_returns : t.log_returns, o);
    expect_monotone(fit);
  }
}

/// Expected days spent in each regime of a fit (smoothed probabilities summed).
Eigen::VectorXd regime_days(const RegimeFit& fit) { return fit.filter.smoothed.colwise().sum().transpose(); }

// 20,000 days simulated by the engine's own path code; every mean, vol, correlation and
// transition probability recovered within 5 standard errors. The standard errors are the
// i.i.d. ones given the expected days n_k in each regime (mean: vol / sqrt(n_k); vol:
// vol / sqrt(2 n_k); correlation: (1 - rho^2) / sqrt(n_k); p_ij: sqrt(p (1 - p) / n_i)); they
// ignore the uncertainty of the regime path, hence 5 rather than 3.
void expect_recovered(const Model& truth, const RegimeFit& fit) {
  const Eigen::VectorXd days = regime_days(fit);
  const int n = truth.num_assets();
  for (int k = 0; k < 2; ++k) {
    const Regime& r = truth.regimes[k];
    const Eigen::MatrixXd cov = fit.params.covariance(k);
    SCOPED_TRACE("regime " + r.name + ", expected days " + std::to_string(days[k]));
    for (int i = 0; i < n; ++i) {
      EXPECT_NEAR(fit.params.mean[k][i], r.mean[i], 5.0 * r.vol[i] / std::sqrt(days[k])) << "mean " << i;
      EXPECT_NEAR(std::sqrt(cov(i, i)), r.vol[i], 5.0 * r.vol[i] / std::sqrt(2.0 * days[k])) << "vol " << i;
      for (int j = 0; j < i; ++j) {
        const double rho = r.corr[i * n + j];
        EXPECT_NEAR(cov(i, j) / std::sqrt(cov(i, i) * cov(j, j)), rho, 5.0 * (1 - rho * rho) / std::sqrt(days[k]))
            << "corr " << i << "," << j;
      }
    }
    const double p = truth.transition[k][1 - k];
    EXPECT_NEAR(fit.params.transition(k, 1 - k), p, 5.0 * std::sqrt(p * (1 - p) / days[k])) << "switch";
  }
}

TEST(RegimeModel, RecoversGaussianParametersFromTheEnginesSimulation) {
  const Model truth = three_asset_model(Distribution::gaussian);
  const ReturnHistory h = simulate_return_history(truth, 20000, 20261121);
  RegimeFitOptions o;
  o.num_regimes = 2;
  RegimeFit fit = fit_regime_model(h.log_returns, o);
  order_regimes_by_volatility(fit, 0);
  ASSERT_TRUE(fit.converged);
  expect_recovered(truth, fit);
  // The smoothed probabilities are calibrated: the days on which the more probable regime is
  // the simulated one number about sum_t max_k P(s_t = k | data), with variance sum p (1 - p).
  int agree = 0;
  double expected = 0.0;
  double variance = 0.0;
  for (int t = 0; t < 20000; ++t) {
    agree += (fit.filter.smoothed(t, 1) > 0.5) == (h.regimes[t] == 1);
    const double p = fit.filter.smoothed.row(t).maxCoeff();
    expected += p;
    variance += p * (1 - p);
  }
  // Days are treated as independent here; misclassified days come in runs, so 5 sd, not 3.
  EXPECT_NEAR(agree, expected, 5.0 * std::sqrt(variance));
  EXPECT_GT(agree, 0.95 * 20000);
}

// Same for Student-t emissions; each dof within 5 standard errors, the standard error taken
// from the curvature of the log-likelihood in that dof (the other parameters held at the MLE).
TEST(RegimeModel, RecoversStudentTParametersFromTheEnginesSimulation) {
  const Model truth = three_asset_model(Distribution::student_t);
  const ReturnHistory h = simulate_return_history(truth, 20000, 99);
  RegimeFitOptions o;
  o.num_regimes = 2;
  o.distribution = Distribution::student_t;
  RegimeFit fit = fit_regime_model(h.log_returns, o);
  order_regimes_by_volatility(fit, 0);
  ASSERT_TRUE(fit.converged);
  expect_recovered(truth, fit);
  for (int k = 0; k < 2; ++k) {
    const double nu = fit.params.dof[k];
    const double step = 0.01 * nu;
    auto loglik_at = [&](double dof) {
      RegimeParameters p = fit.params;
      p.dof[k] = dof;
      return filter_regimes(h.log_returns, p, Distribution::student_t).loglik;
    };
    const double l0 = loglik_at(nu);
    const double lp = loglik_at(nu + step);
    const double lm = loglik_at(nu - step);
    const double curvature = (lp - 2 * l0 + lm) / (step * step);
    ASSERT_LT(curvature, 0.0);
    const double se = 1.0 / std::sqrt(-curvature);
    EXPECT_NEAR(nu, *truth.regimes[k].dof, 5.0 * se) << "regime " << k << " se " << se;
    // ECME converged onto the likelihood's maximum in dof: the score is ~0 against the curvature.
    EXPECT_LT(std::abs((lp - lm) / (2 * step)), 0.05 / se) << "regime " << k;
  }
}

TEST(RegimeModel, SameSeedSameResultWhateverTheThreadCount) {
  const ReturnHistory h = simulate_return_history(three_asset_model(Distribution::gaussian), 1500, 5);
  RegimeFitOptions o;
  o.num_regimes = 3;
  o.num_starts = 6;
  o.seed = 123;
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const RegimeFit one = fit_regime_model(h.log_returns, o);
  omp_set_num_threads(std::max(2, threads));
  const RegimeFit many = fit_regime_model(h.log_returns, o);
  omp_set_num_threads(threads);
  EXPECT_EQ(one.start_logliks, many.start_logliks);
  EXPECT_EQ(one.best_start, many.best_start);
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(one.params.mean[k], many.params.mean[k]);
    EXPECT_EQ(one.params.scale[k], many.params.scale[k]);
  }
  EXPECT_EQ(one.params.transition, many.params.transition);
  o.seed = 124;
  const RegimeFit other = fit_regime_model(h.log_returns, o);
  EXPECT_NE(one.start_logliks, other.start_logliks);  // the seed does reach the starts
}

// Ten identical days would let a regime collapse onto them (a singular covariance and an
// unbounded likelihood); the floor keeps every regime's covariance >= floor x sample variances.
TEST(RegimeModel, CovarianceFloorPreventsCollapse) {
  std::mt19937_64 rng(8);
  std::normal_distribution<double> normal;
  Eigen::MatrixXd x(510, 2);
  for (int t = 0; t < 500; ++t) x.row(t) << 0.01 * normal(rng), 0.02 * normal(rng);
  for (int t = 500; t < 510; ++t) x.row(t) << 0.03, 0.06;
  RegimeFitOptions o;
  o.num_regimes = 3;
  o.covariance_floor = 1e-3;
  const RegimeFit fit = fit_regime_model(x, o);
  ASSERT_TRUE(std::isfinite(fit.filter.loglik));
  const Eigen::MatrixXd centered = x.rowwise() - x.colwise().mean();
  const Eigen::VectorXd sd = (centered.colwise().squaredNorm() / 510.0).cwiseSqrt().transpose();
  for (int k = 0; k < 3; ++k) {
    const Eigen::MatrixXd standardised = sd.cwiseInverse().asDiagonal() * fit.params.scale[k] * sd.cwiseInverse().asDiagonal();
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(standardised);
    EXPECT_GE(eig.eigenvalues().minCoeff(), 1e-3 * (1 - 1e-9)) << "regime " << k;
  }
  // Some regime does sit on the floor: without it, it would have collapsed onto the ten days.
  double smallest = 1.0;
  for (int k = 0; k < 3; ++k) {
    const Eigen::MatrixXd standardised = sd.cwiseInverse().asDiagonal() * fit.params.scale[k] * sd.cwiseInverse().asDiagonal();
    smallest = std::min(smallest, Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(standardised).eigenvalues().minCoeff());
  }
  EXPECT_NEAR(smallest, 1e-3, 1e-9);
}

// A start whose second regime explains no observation: the guard moves it onto the worst-explained
// day and EM still finds both regimes (the multi-start optimum).
TEST(RegimeModel, EmptyRegimeIsReseeded) {
  const Model truth = three_asset_model(Distribution::gaussian);
  const ReturnHistory h = simulate_return_history(truth, 3000, 77);
  RegimeFitOptions o;
  o.num_regimes = 2;
  o.tolerance = 1e-10;
  const RegimeFit best = fit_regime_model(h.log_returns, o);

  RegimeParameters start;
  const Eigen::MatrixXd centered = h.log_returns.rowwise() - h.log_returns.colwise().mean();
  const Eigen::MatrixXd cov = centered.transpose() * centered / 3000.0;
  start.mean = {h.log_returns.colwise().mean().transpose(), Eigen::VectorXd::Constant(3, 100.0)};
  start.scale = {cov, cov};
  start.transition = Eigen::MatrixXd::Constant(2, 2, 0.5);
  start.initial = Eigen::VectorXd::Constant(2, 0.5);
  const RegimeFit fit = fit_regime_model_from(h.log_returns, start, o);
  ASSERT_FALSE(fit.reseeded_at.empty());
  EXPECT_EQ(fit.reseeded_at.front(), 0);
  EXPECT_NEAR(fit.filter.loglik, best.filter.loglik, 1e-4 * std::abs(best.filter.loglik));
  EXPECT_GT(regime_days(fit).minCoeff(), 300.0);
}

TEST(RegimeModel, InitialDistributionConventions) {
  const ReturnHistory h = simulate_return_history(three_asset_model(Distribution::gaussian), 2000, 3);
  RegimeFitOptions o;
  o.num_regimes = 2;
  o.tolerance = 1e-12;
  o.initial = InitialDistribution::estimated;
  const RegimeFit est = fit_regime_model(h.log_returns, o);
  // hmmlearn's convention: at the fixed point the initial distribution is P(s_1 | all data).
  EXPECT_NEAR((est.params.initial - est.filter.smoothed.row(0).transpose()).norm(), 0.0, 1e-6);
  EXPECT_EQ(est.num_parameters, 6 + 12 + 2 + 1);
  o.initial = InitialDistribution::stationary;
  const RegimeFit sta = fit_regime_model(h.log_returns, o);
  EXPECT_NEAR((sta.params.initial - stationary_distribution(sta.params.transition)).norm(), 0.0, 1e-14);
  EXPECT_EQ(sta.num_parameters, 6 + 12 + 2);
}

TEST(RegimeModel, OrderingPutsTheCalmestRegimeFirst) {
  const ReturnHistory h = simulate_return_history(three_asset_model(Distribution::gaussian), 2000, 4);
  RegimeFitOptions o;
  o.num_regimes = 3;
  RegimeFit fit = fit_regime_model(h.log_returns, o);
  const Eigen::MatrixXd before_filtered = fit.filter.filtered;
  const double before_loglik = filter_regimes(h.log_returns, fit.params, Distribution::gaussian).loglik;
  order_regimes_by_volatility(fit, 0);
  for (int k = 1; k < 3; ++k) EXPECT_LT(fit.params.scale[k - 1](0, 0), fit.params.scale[k](0, 0));
  // A relabelling: the likelihood and the probabilities (up to the column permutation) are unchanged.
  const RegimeFilter after = filter_regimes(h.log_returns, fit.params, Distribution::gaussian);
  EXPECT_NEAR(after.loglik, before_loglik, 1e-9 * std::abs(before_loglik));
  EXPECT_NEAR((after.filtered - fit.filter.filtered).cwiseAbs().maxCoeff(), 0.0, 1e-12);
  EXPECT_NEAR(before_filtered.rowwise().sum().maxCoeff(), 1.0, 1e-12);
}

// The fit's own check, under calibration's: it names the asset when given the names.
TEST(RegimeModel, AColumnThatDoesNotMoveIsNamed) {
  std::mt19937_64 rng(2);
  std::normal_distribution<double> normal;
  Eigen::MatrixXd x(100, 2);
  for (int t = 0; t < 100; ++t) x(t, 0) = 0.01 * normal(rng);
  x.col(1).setZero();
  RegimeFitOptions o;
  o.num_regimes = 1;
  o.column_names = {"BTC", "USDT"};
  try {
    fit_regime_model(x, o);
    FAIL() << "fitted a column without variance";
  } catch (const NumericalError& e) {
    EXPECT_NE(std::string(e.what()).find("asset 'USDT' does not move"), std::string::npos) << e.what();
  }
  o.column_names.clear();
  EXPECT_THROW(fit_regime_model(x, o), NumericalError);
}

}  // namespace
}  // namespace betahedge
