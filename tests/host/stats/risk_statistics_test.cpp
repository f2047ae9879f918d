#include <gtest/gtest.h>

#include <omp.h>

#include <cmath>
#include <numeric>
#include <random>

#include "stats/risk_statistics.hpp"

namespace betahedge {
namespace {

TEST(RiskStatistics, VarAndEsOnHandCountedSamples) {
  // Losses 1..100: VaR_0.95 = L(95) = 95; ES_0.95 = mean(96..100) = 98.
  std::vector<double> losses(100);
  std::iota(losses.begin(), losses.end(), 1.0);
  const PnlStatistics s = estimate_pnl_statistics(losses, {{"0.95", 0.95}});
  EXPECT_DOUBLE_EQ(s.tails[0].var, 95.0);
  EXPECT_NEAR(s.tails[0].es, 98.0, 1e-12 * 98.0);  // n (1 - a) = 5 up to rounding
  EXPECT_DOUBLE_EQ(s.mean, -50.5);
  EXPECT_NEAR(s.stdev, std::sqrt(100.0 * 101.0 / 12.0), 1e-12);

  // Ten losses 1..10 at 0.95: k = ceil(9.5) = 10, and ES weights L(10) by (k - a n) / (n (1 - a)) = 1.
  std::vector<double> ten(10);
  std::iota(ten.begin(), ten.end(), 1.0);
  const PnlStatistics t = estimate_pnl_statistics(ten, {{"0.95", 0.95}});
  EXPECT_DOUBLE_EQ(t.tails[0].var, 10.0);
  EXPECT_NEAR(t.tails[0].es, 10.0, 1e-12 * 10.0);
  // At 0.85: k = ceil(8.5) = 9; ES = (10 + 0.5 * 9) / 1.5.
  const PnlStatistics u = estimate_pnl_statistics(ten, {{"0.85", 0.85}});
  EXPECT_DOUBLE_EQ(u.tails[0].var, 9.0);
  EXPECT_NEAR(u.tails[0].es, (10.0 + 0.5 * 9.0) / 1.5, 1e-12);
}

// For N(0,1) losses the standard errors have closed forms: se(VaR_a) = sqrt(a(1-a)/n)/phi(z_a),
// se(ES_a) from Var(L | L > z) = 1 + z lambda - lambda^2 with lambda = phi(z)/(1-a).
TEST(RiskStatistics, StandardErrorsMatchNormalClosedForms) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal;
  const int n = 400000;
  std::vector<double> losses(n);
  for (double& x : losses) x = normal(rng);
  const PnlStatistics s = estimate_pnl_statistics(losses, {{"0.99", 0.99}});
  const double a = 0.99, z = 2.3263478740408408, phi = std::exp(-0.5 * z * z) / std::sqrt(2 * M_PI);
  const double lambda = phi / (1 - a);
  const double var_se = std::sqrt(a * (1 - a) / n) / phi;
  const double es_se = std::sqrt((1 + z * lambda - lambda * lambda + a * (lambda - z) * (lambda - z)) / (n * (1 - a)));
  EXPECT_NEAR(s.tails[0].var, z, 4 * var_se);
  EXPECT_NEAR(s.tails[0].es, lambda, 4 * es_se);
  EXPECT_NEAR(s.tails[0].var_se / var_se, 1.0, 0.15);
  EXPECT_NEAR(s.tails[0].es_se / es_se, 1.0, 0.15);
}

TEST(RiskStatistics, OrderedSumDoesNotDependOnThreadCount) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(-1e6, 1e6);
  std::vector<double> x(1000003);
  for (double& v : x) v = u(rng);
  omp_set_num_threads(1);
  const double one = ordered_sum(x.data(), x.size());
  omp_set_num_threads(2);
  const double two = ordered_sum(x.data(), x.size());
  EXPECT_EQ(one, two);
}

}  // namespace
}  // namespace betahedge
