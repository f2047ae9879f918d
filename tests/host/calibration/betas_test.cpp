#include "calibration/betas.hpp"

#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "market/prices_csv.hpp"
#include "market/returns.hpp"
#include "test_support.hpp"

namespace betahedge {
namespace {

// y = (1, 3, 2, 5) on x = (1, 2, 3, 4), by hand: Sxx = 5, Sxy = 5.5, beta = 1.1, alpha = 0,
// residuals (-0.1, 0.8, -1.3, 0.6), RSS = 2.7, TSS = 8.75.
TEST(OlsBeta, MatchesAHandComputedRegression) {
  Eigen::VectorXd x(4), y(4);
  x << 1, 2, 3, 4;
  y << 1, 3, 2, 5;
  const OlsBeta fit = ols_beta(y, x);
  EXPECT_NEAR(fit.beta, 1.1, 1e-14);
  EXPECT_NEAR(fit.alpha, 0.0, 1e-14);
  EXPECT_NEAR(fit.beta_se, std::sqrt(2.7 / 2.0 / 5.0), 1e-14);
  EXPECT_NEAR(fit.r_squared, 1.0 - 2.7 / 8.75, 1e-14);
  EXPECT_EQ(fit.nobs, 4);
}

/// Printed by scripts/ols_reference.py (numpy.linalg.lstsq) from ../shared/data.
struct NumpyOls {
  const char* file;
  const char* benchmark;
  const char* asset;
  int nobs;
  double alpha, beta, beta_se, r_squared;
};
const NumpyOls kNumpy[] = {
    {"crypto_daily_close_yahoo_2014_2025.csv", "BTC", "ETH", 1768, 1.815530774269459e-05, 1.0510160941653837,
     0.018281064748980298, 0.65176836738849908},
    {"crypto_daily_close_yahoo_2014_2025.csv", "BTC", "SOL", 1768, 0.0013656194865576542, 1.1083399854016087,
     0.042761446359089773, 0.27557690510435295},
    {"sp500_index_plus_stocks_subset_2015_2020_pob.csv", "SP500_INDEX", "AAPL", 1439, 0.00066328245370779666,
     1.1597788902262669, 0.027518268504849678, 0.55279156625687798},
    {"sp500_index_plus_stocks_subset_2015_2020_pob.csv", "SP500_INDEX", "XOM", 1439, -0.00082248370928849517,
     1.0037221052985164, 0.025964123527088375, 0.50979790087398058},
};

TEST(OlsBeta, MatchesNumpyOnSharedData) {
  if (!test::have_shared_data()) GTEST_SKIP() << "no ../shared/data";
  for (const NumpyOls& ref : kNumpy) {
    SCOPED_TRACE(std::string(ref.file) + " " + ref.asset);
    const PriceTable table = read_prices_csv(test::shared_dir() / "data" / ref.file);
    ReturnWindowOptions o;
    o.benchmark = ref.benchmark;
    o.assets = {ref.benchmark, ref.asset};
    // numpy took the window where the benchmark and every asset of its case are listed.
    if (std::string(ref.benchmark) == "BTC" && std::string(ref.asset) != "SOL") o.assets.push_back("SOL");
    const ReturnData d = log_returns_on_common_window(table, o);
    ASSERT_EQ(d.num_returns(), ref.nobs);
    const OlsBeta fit = ols_beta(d.log_returns.col(1), d.log_returns.col(0));
    EXPECT_NEAR(fit.beta, ref.beta, 1e-11 * std::abs(ref.beta));
    EXPECT_NEAR(fit.alpha, ref.alpha, 1e-9 * std::abs(ref.alpha));
    EXPECT_NEAR(fit.beta_se, ref.beta_se, 1e-10 * ref.beta_se);
    EXPECT_NEAR(fit.r_squared, ref.r_squared, 1e-11);
  }
}

struct Pair {
  Eigen::VectorXd y, x;
};

Pair correlated_returns(int n, double beta, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  Pair p{Eigen::VectorXd(n), Eigen::VectorXd(n)};
  for (int t = 0; t < n; ++t) {
    p.x[t] = 0.02 * normal(rng);
    p.y[t] = 0.0005 + beta * p.x[t] + 0.01 * normal(rng);
  }
  return p;
}

TEST(RollingBeta, EachValueIsTheOlsBetaOfItsWindow) {
  const Pair p = correlated_returns(200, 1.3, 7);
  const std::vector<double> rolling = rolling_beta(p.y, p.x, 60);
  ASSERT_EQ(rolling.size(), 141u);
  for (int end : {60, 61, 130, 200})
    EXPECT_NEAR(rolling[end - 60], ols_beta(p.y.segment(end - 60, 60), p.x.segment(end - 60, 60)).beta, 1e-12);
  EXPECT_TRUE(rolling_beta(p.y, p.x, 201).empty());
}

// beta_T = (lambda^T C0 + (1 - lambda) sum_s lambda^(T-1-s) x_s y_s) / (same with x_s^2),
// the closed form of the recursion, summed directly.
TEST(EwmaBeta, EqualsTheExplicitlyWeightedSums) {
  const Pair p = correlated_returns(300, 0.8, 11);
  const double lambda = 0.94;
  const std::vector<double> ewma = ewma_beta(p.y, p.x, lambda);
  ASSERT_EQ(ewma.size(), 300u);
  const double c0 = (p.x.head(20).array() * p.y.head(20).array()).sum() / 20.0;
  const double v0 = p.x.head(20).squaredNorm() / 20.0;
  for (int t : {0, 19, 150, 299}) {
    double cov = std::pow(lambda, t + 1) * c0;
    double var = std::pow(lambda, t + 1) * v0;
    for (int s = 0; s <= t; ++s) {
      cov += (1.0 - lambda) * std::pow(lambda, t - s) * p.x[s] * p.y[s];
      var += (1.0 - lambda) * std::pow(lambda, t - s) * p.x[s] * p.x[s];
    }
    EXPECT_NEAR(ewma[t], cov / var, 1e-12) << "t = " << t;
  }
}

TEST(EwmaBeta, ExactLinearRelationGivesItsSlopeEveryDay) {
  const Pair p = correlated_returns(50, 1.0, 3);
  const Eigen::VectorXd y = 1.7 * p.x;
  for (double b : ewma_beta(y, p.x, 0.97)) EXPECT_NEAR(b, 1.7, 1e-13);
}

// With no beta noise (Q = 0) and a diffuse prior the Kalman filter is recursive least squares:
// its last state is the OLS fit, and the sum of squared standardised innovations is the OLS RSS,
// so L(R1) - L(R2) = -(m/2) log(R1/R2) - (RSS/2)(1/R1 - 1/R2), m = n - 2.
TEST(KalmanBeta, WithoutBetaNoiseItIsOls) {
  const Pair p = correlated_returns(500, 1.2, 5);
  const OlsBeta ols = ols_beta(p.y, p.x);
  const KalmanBeta k1 = kalman_beta_filter(p.y, p.x, 0.0, 1e-4);
  EXPECT_NEAR(k1.beta_filtered.back(), ols.beta, 1e-7);
  EXPECT_NEAR(k1.alpha, ols.alpha, 1e-8);
  const double rss = ols.beta_se * ols.beta_se * (500 - 2) * (p.x.array() - p.x.mean()).square().sum();
  const KalmanBeta k2 = kalman_beta_filter(p.y, p.x, 0.0, 3e-4);
  const double m = 498.0;
  const double expected = -0.5 * m * std::log(1e-4 / 3e-4) - 0.5 * rss * (1.0 / 1e-4 - 1.0 / 3e-4);
  EXPECT_NEAR(k1.loglik - k2.loglik, expected, 1e-6 * std::abs(expected));
}

// beta_t a random walk with known Q and R; the ML fit recovers them within 4 standard errors
// and the filtered path tracks the true beta about as closely as the steady-state filter should.
TEST(KalmanBeta, RecoversASimulatedRandomWalkBeta) {
  const int n = 5000;
  const double q = 1e-4;    // beta moves 0.01 a day
  const double r = 1e-4;    // 1% idiosyncratic noise
  const double sx = 0.02;
  std::mt19937_64 rng(2024);
  std::normal_distribution<double> normal;
  Eigen::VectorXd x(n), y(n), truth(n);
  double beta = 1.0;
  for (int t = 0; t < n; ++t) {
    if (t > 0) beta += std::sqrt(q) * normal(rng);
    truth[t] = beta;
    x[t] = sx * normal(rng);
    y[t] = 0.0002 + beta * x[t] + std::sqrt(r) * normal(rng);
  }
  const KalmanBeta fit = kalman_beta_fit(y, x);
  ASSERT_TRUE(std::isfinite(fit.log_ratio_se));
  const double log_ratio = std::log(fit.beta_variance / fit.noise_variance);
  EXPECT_NEAR(log_ratio, std::log(q / r), 4.0 * fit.log_ratio_se) << "se " << fit.log_ratio_se;
  // R-hat given the ratio: a variance estimate from n terms, se ~ R sqrt(2 / n).
  EXPECT_NEAR(fit.noise_variance, r, 4.0 * r * std::sqrt(2.0 / n));

  // Steady-state filter variance of the scalar model with x_t^2 replaced by its mean.
  double p_ss = q;
  for (int i = 0; i < 10000; ++i) {
    const double prior = p_ss + q;
    p_ss = prior * r / (prior * sx * sx + r);
  }
  double squared_error = 0.0;
  double ols_squared_error = 0.0;
  const double ols = ols_beta(y, x).beta;
  for (int t = 100; t < n; ++t) {
    squared_error += std::pow(fit.beta_filtered[t] - truth[t], 2);
    ols_squared_error += std::pow(ols - truth[t], 2);
  }
  const double rmse = std::sqrt(squared_error / (n - 100));
  EXPECT_GT(rmse, 0.7 * std::sqrt(p_ss));
  EXPECT_LT(rmse, 1.4 * std::sqrt(p_ss));
  EXPECT_LT(rmse, 0.5 * std::sqrt(ols_squared_error / (n - 100)));
}

TEST(RegimeBeta, IsRhoTimesVolRatio) {
  Eigen::MatrixXd cov(2, 2);
  cov << 4.0, 1.2, 1.2, 1.0;  // sigma = (2, 1), rho = 0.6
  EXPECT_DOUBLE_EQ(regime_beta(cov, 0, 1), 0.6 * 2.0 / 1.0);
  EXPECT_DOUBLE_EQ(regime_beta(cov, 1, 0), 0.6 * 1.0 / 2.0);
}

}  // namespace
}  // namespace betahedge
