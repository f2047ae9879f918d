// The several-leg hedge vector: the min-variance vector against the lognormal closed form and
// its robust standard errors against the spread over seeds, the min-ES vector against a brute
// force search, the ES at a vector against the engine's estimator, and the reductions the same
// bits for any batch, thread or rank split.
#include "stats/hedge_vector.hpp"

#include <gtest/gtest.h>
#include <omp.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include "betahedge/error.hpp"
#include "stats/outcome_reduction.hpp"
#include "stats/risk_statistics.hpp"

namespace betahedge {
namespace {

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

/// Per-path columns of a book and its legs: u, m_l, k_l.
struct Columns {
  std::vector<double> u;
  std::vector<std::vector<double>> m, k;
  explicit Columns(int legs, std::size_t n) : u(n), m(legs, std::vector<double>(n)), k(legs, std::vector<double>(n)) {}
  std::size_t size() const { return u.size(); }
  int legs() const { return static_cast<int>(m.size()); }
  /// Pointers to paths [first, ...) of each leg's columns.
  std::vector<const double*> marks(std::size_t first = 0) const {
    std::vector<const double*> p;
    for (const auto& c : m) p.push_back(c.data() + first);
    return p;
  }
  std::vector<const double*> costs(std::size_t first = 0) const {
    std::vector<const double*> p;
    for (const auto& c : k) p.push_back(c.data() + first);
    return p;
  }
};

/// Adds paths [first, first + count) of `c` to a reduction (HedgeMoments or HedgeRows).
template <class Reduction>
void add_paths(Reduction& r, const Columns& c, std::size_t first, std::size_t count) {
  const auto m = c.marks(first), k = c.costs(first);
  r.add(first, count, c.u.data() + first, m.data(), k.data());
}

/// One-step exact lognormal prices of four correlated assets; the book holds assets 0 and 1,
/// the legs short assets 2 and 3 at ratio 1 (notional V each): u = sum_i h_i (S_i(T) - S_i(0)),
/// x_l = -(V / S_l(0)) (S_l(T) - S_l(0)). No costs.
struct LognormalMarket {
  std::array<double, 4> spot{100.0, 50.0, 200.0, 80.0};
  std::array<double, 4> vol{0.8, 0.9, 0.6, 0.7};    // annual
  std::array<double, 4> drift{0.05, 0.10, -0.02, 0.03};
  std::array<double, 2> holdings{400.0, 1000.0};
  double horizon = 30.0 / 365.0;
  Eigen::Matrix4d corr;
  LognormalMarket() {
    corr << 1.0, 0.6, 0.7, 0.5,  //
        0.6, 1.0, 0.5, 0.75,     //
        0.7, 0.5, 1.0, 0.6,      //
        0.5, 0.75, 0.6, 1.0;
  }
  double value() const { return holdings[0] * spot[0] + holdings[1] * spot[1]; }
  /// Cov(S_i(T), S_j(T)) = S_i S_j e^{(mu_i + mu_j) T} (e^{rho_ij s_i s_j T} - 1).
  double price_cov(int i, int j) const {
    return spot[i] * spot[j] * std::exp((drift[i] + drift[j]) * horizon) *
           std::expm1(corr(i, j) * vol[i] * vol[j] * horizon);
  }
  /// Sigma of z = (u, x_0, x_1).
  Eigen::Matrix3d sigma() const {
    Eigen::Matrix<double, 3, 4> weights = Eigen::Matrix<double, 3, 4>::Zero();  // z = weights (S(T) - S(0))
    weights(0, 0) = holdings[0];
    weights(0, 1) = holdings[1];
    weights(1, 2) = -value() / spot[2];
    weights(2, 3) = -value() / spot[3];
    Eigen::Matrix4d cov;
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) cov(i, j) = price_cov(i, j);
    return weights * cov * weights.transpose();
  }
  Columns draw(std::size_t n, std::uint64_t seed) const {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal;
    const Eigen::Matrix4d chol = corr.llt().matrixL();
    Columns c(2, n);
    for (std::size_t i = 0; i < n; ++i) {
      Eigen::Vector4d e;
      for (int a = 0; a < 4; ++a) e(a) = normal(rng);
      const Eigen::Vector4d z = chol * e;
      std::array<double, 4> change;
      for (int a = 0; a < 4; ++a)
        change[a] = spot[a] * std::expm1((drift[a] - 0.5 * vol[a] * vol[a]) * horizon + vol[a] * std::sqrt(horizon) * z(a));
      c.u[i] = holdings[0] * change[0] + holdings[1] * change[1];
      c.m[0][i] = -value() / spot[2] * change[2];
      c.m[1][i] = -value() / spot[3] * change[3];
    }
    return c;
  }
};

HedgeMoments moments_of(const Columns& c) {
  HedgeMoments moments(c.legs());
  add_paths(moments, c, 0, c.size());
  return moments;
}

HedgeRows rows_of(const Columns& c) {
  HedgeRows rows(c.legs());
  add_paths(rows, c, 0, c.size());
  return rows;
}

/// A book and two legs with fat tails and per-path costs: u = -(a market move) + noise, the legs
/// gain with the market and a second factor, costs a rate times the notional at start and end.
Columns fat_tailed_book(std::size_t n, std::uint64_t seed, double cost_rate) {
  std::mt19937_64 rng(seed);
  std::student_t_distribution<double> fat(3.0);
  std::normal_distribution<double> normal;
  Columns c(2, n);
  for (std::size_t i = 0; i < n; ++i) {
    const double market = 0.03 * fat(rng), second = 0.02 * normal(rng), noise = 0.01 * fat(rng);
    c.u[i] = 1e6 * (market + 0.5 * second + noise);
    c.m[0][i] = -1e6 * (market + 0.1 * normal(rng) * 0.03);
    c.m[1][i] = -1e6 * (0.7 * market + second + 0.01 * normal(rng));
    c.k[0][i] = cost_rate * 1e6 * (2.0 + market);
    c.k[1][i] = 2.0 * cost_rate * 1e6 * (2.0 + 0.7 * market);
  }
  return c;
}

// r* = -Sigma_xx^{-1} Sigma_xu from Sigma in closed form: within 4 robust standard errors per
// component at 2^20 paths.
TEST(MinVarianceVector, MatchesTheLognormalClosedForm) {
  const LognormalMarket market;
  const Eigen::Matrix3d s = market.sigma();
  const Eigen::Vector2d exact = -s.bottomRightCorner<2, 2>().ldlt().solve(s.block<2, 1>(1, 0));
  const MinVarianceHedge hedge = min_variance_vector(moments_of(market.draw(std::size_t{1} << 20, 11)));
  EXPECT_EQ(hedge.system, HedgeSystem::regular);
  for (int l = 0; l < 2; ++l) {
    EXPECT_GT(hedge.standard_errors[l], 0.0);
    EXPECT_LT(hedge.standard_errors[l], 0.05 * std::fabs(exact(l)));  // resolves the ratios
    EXPECT_NEAR(hedge.ratios[l], exact(l), 4.0 * hedge.standard_errors[l]) << "leg " << l;
  }
  EXPECT_GT(exact(0), 0.1);  // both legs carry weight, so the test reads both
  EXPECT_GT(exact(1), 0.1);
}

// The sandwich standard errors against the spread of r* over 50 independent seeds (the sample
// standard deviation of 50 draws is within 30% of the true one with probability > 0.997), and
// the hedged variance's mean over the seeds against Var u - S_ux S_xx^{-1} S_xu within 4 of its
// standard errors.
TEST(MinVarianceVector, RobustStandardErrorsMatchTheSpreadOverSeeds) {
  const LognormalMarket market;
  const Eigen::Matrix3d s = market.sigma();
  const double exact_hedged_variance =
      s(0, 0) - s.block<1, 2>(0, 1) * s.bottomRightCorner<2, 2>().ldlt().solve(s.block<2, 1>(1, 0));
  constexpr int kSeeds = 50;
  std::vector<std::array<double, 2>> ratio(kSeeds), se(kSeeds);
  std::vector<double> hedged_variance(kSeeds);
  for (int seed = 0; seed < kSeeds; ++seed) {
    const MinVarianceHedge h = min_variance_vector(moments_of(market.draw(1 << 15, 1000 + seed)));
    ratio[seed] = {h.ratios[0], h.ratios[1]};
    se[seed] = {h.standard_errors[0], h.standard_errors[1]};
    hedged_variance[seed] = h.hedged_variance;
  }
  const auto mean_sd = [](const std::vector<double>& x) {
    const double mean = std::accumulate(x.begin(), x.end(), 0.0) / x.size();
    double ss = 0.0;
    for (double v : x) ss += (v - mean) * (v - mean);
    return std::make_pair(mean, std::sqrt(ss / (x.size() - 1)));
  };
  for (int l = 0; l < 2; ++l) {
    std::vector<double> r(kSeeds), e(kSeeds);
    for (int i = 0; i < kSeeds; ++i) r[i] = ratio[i][l], e[i] = se[i][l];
    const double spread = mean_sd(r).second, reported = mean_sd(e).first;
    EXPECT_NEAR(spread / reported, 1.0, 0.3) << "leg " << l << ": spread " << spread << ", reported se " << reported;
  }
  const auto [mean_var, sd_var] = mean_sd(hedged_variance);
  EXPECT_NEAR(mean_var, exact_hedged_variance, 4.0 * sd_var / std::sqrt(kSeeds));
}

// Against an independent least-squares fit on heteroskedastic data with costs (the book's
// residual risk grows with the market move): regress u on (1, x_1, x_2), x = m - k, by Eigen;
// r* = minus the slopes, and the sandwich covariance (X'X)^{-1} X' diag(e^2) X (X'X)^{-1}
// computed row by row (its slope block is the moment formula's, by Frisch-Waugh-Lovell), both
// to 1e-9 relative.
TEST(MinVarianceVector, EqualsALeastSquaresFitWithItsSandwich) {
  Columns c = fat_tailed_book(50000, 17, 0.004);
  std::mt19937_64 rng(18);
  std::normal_distribution<double> normal;
  for (std::size_t i = 0; i < c.size(); ++i) c.u[i] += c.m[0][i] * normal(rng);
  const std::size_t n = c.size();
  Eigen::MatrixXd x(n, 3);
  Eigen::VectorXd y(n);
  for (std::size_t i = 0; i < n; ++i) {
    x(i, 0) = 1.0;
    for (int l = 0; l < 2; ++l) x(i, 1 + l) = c.m[l][i] - c.k[l][i];
    y(i) = c.u[i];
  }
  const Eigen::Matrix3d gram_inverse = (x.transpose() * x).inverse();
  const Eigen::Vector3d slopes = gram_inverse * (x.transpose() * y);
  const Eigen::VectorXd residual = y - x * slopes;
  Eigen::Matrix3d meat = Eigen::Matrix3d::Zero();
  for (std::size_t i = 0; i < n; ++i) meat += residual(i) * residual(i) * x.row(i).transpose() * x.row(i);
  const Eigen::Matrix3d sandwich = gram_inverse * meat * gram_inverse;

  const MinVarianceHedge h = min_variance_vector(moments_of(c));
  for (int l = 0; l < 2; ++l) {
    EXPECT_NEAR(h.ratios[l], -slopes(1 + l), 1e-9 * std::fabs(slopes(1 + l)));
    for (int j = 0; j < 2; ++j)
      EXPECT_NEAR(h.covariance[l * 2 + j], sandwich(1 + l, 1 + j), 1e-9 * std::fabs(sandwich(1 + l, 1 + j)));
  }
  // The data are heteroskedastic enough that the classical s^2 (X'X)^{-1} is not the sandwich.
  const double classical = residual.squaredNorm() / (n - 3) * gram_inverse(1, 1);
  EXPECT_GT(std::fabs(sandwich(1, 1) / classical - 1.0), 0.2);
}

// One leg: -Cov(u, x) / Var(x) computed naively (two passes in long double), x = m - k.
TEST(MinVarianceVector, OneLegIsMinusCovOverVar) {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal;
  Columns c(1, 30000);
  for (std::size_t i = 0; i < c.size(); ++i) {
    const double market = normal(rng);
    c.u[i] = 1000.0 * (0.8 * market + 0.6 * normal(rng)) + 25.0;
    c.m[0][i] = -900.0 * market + 3.0;
    c.k[0][i] = 2.0 + 0.5 * std::fabs(market);
  }
  long double mean_u = 0.0L, mean_x = 0.0L;
  for (std::size_t i = 0; i < c.size(); ++i) mean_u += c.u[i], mean_x += c.m[0][i] - c.k[0][i];
  mean_u /= c.size(), mean_x /= c.size();
  long double cov = 0.0L, var = 0.0L;
  for (std::size_t i = 0; i < c.size(); ++i) {
    const long double x = c.m[0][i] - c.k[0][i] - mean_x;
    cov += (c.u[i] - mean_u) * x;
    var += x * x;
  }
  const MinVarianceHedge h = min_variance_vector(moments_of(c));
  EXPECT_NEAR(h.ratios[0], static_cast<double>(-cov / var), 1e-13 * std::fabs(static_cast<double>(cov / var)));
  EXPECT_EQ(h.system, HedgeSystem::regular);
  EXPECT_EQ(h.condition_number, 1.0);
  // Var(u + r x) at r = -cov/var is Var u - cov^2/var.
  long double var_u = 0.0L;
  for (double u : c.u) var_u += (u - mean_u) * (u - mean_u);
  EXPECT_NEAR(h.hedged_variance, static_cast<double>((var_u - cov * cov / var) / (c.size() - 1)), 1e-9 * h.hedged_variance);
}

// And bit for bit the one-leg optimiser's closed form: the sums OutcomeReduction keeps for the
// grid program (u, and g = the ratio-1 hedge without margin action, here m - k) put into
// risk_job.cpp's expression -Cov(u, g) / Var(g).
TEST(MinVarianceVector, OneLegIsTheOneLegOptimisersClosedFormBitForBit) {
  const Columns two = fat_tailed_book(3 * kReductionBlock + 100, 23, 0.004);
  Columns c(1, two.size());
  c.u = two.u, c.m[0] = two.m[1], c.k[0] = two.k[1];
  const std::uint64_t n = c.size();
  constexpr int kGrid = 1;
  const int columns = kNumOutcomeFields + RatioGridColumns::total(kGrid);
  std::vector<double> buffer(columns * n, 0.0);
  const auto column = [&](int j) { return buffer.data() + j * n; };
  for (std::uint64_t i = 0; i < n; ++i) {
    column(static_cast<int>(OutcomeField::pnl_unhedged))[i] = c.u[i];
    column(static_cast<int>(OutcomeField::first_call_step))[i] = -1.0;
    column(kNumOutcomeFields + RatioGridColumns::unit_hedge_pnl(kGrid))[i] = c.m[0][i] - c.k[0][i];
  }
  ReductionPlan plan;
  plan.paths = n;
  plan.levels = {{"0.99", 0.99}};
  plan.grid_count = kGrid;
  OutcomeReduction reduced(plan);
  reduced.add(OutcomeBatch{0, n, columns, buffer.data(), n});
  const long double nl = static_cast<long double>(n);
  const long double su = reduced.sum(OutcomeSum::u).extended_value(), sg = reduced.unit_hedge_sum().extended_value();
  const long double cov_ug = reduced.unhedged_times_unit_hedge().extended_value() - su * sg / nl;
  const long double var_g = reduced.unit_hedge_squares().extended_value() - sg * sg / nl;
  const double closed_form = static_cast<double>(-cov_ug / var_g);
  EXPECT_TRUE(same_bits(min_variance_vector(moments_of(c)).ratios[0], closed_form));
}

TEST(MinVarianceVector, FlagsIdenticalAndNearlyCollinearLegs) {
  const LognormalMarket market;
  const Columns two = market.draw(50000, 3);
  Columns one(1, two.size()), same(2, two.size()), near(2, two.size()), dead(2, two.size());
  std::mt19937_64 rng(9);
  std::normal_distribution<double> normal;
  for (std::size_t i = 0; i < two.size(); ++i) {
    one.u[i] = same.u[i] = near.u[i] = dead.u[i] = two.u[i];
    one.m[0][i] = same.m[0][i] = same.m[1][i] = near.m[0][i] = dead.m[0][i] = two.m[0][i];
    near.m[1][i] = two.m[0][i] + 0.5 * normal(rng);  // sd 0.5 against ~1.5e4: correlation 1 - 5e-10, kappa ~ 4e9
    dead.m[1][i] = 0.0;
  }
  const MinVarianceHedge single = min_variance_vector(moments_of(one));

  const MinVarianceHedge identical = min_variance_vector(moments_of(same));
  EXPECT_EQ(identical.system, HedgeSystem::singular);
  EXPECT_NEAR(identical.ratios[0], 0.5 * single.ratios[0], 1e-9 * std::fabs(single.ratios[0]));  // shared equally
  EXPECT_NEAR(identical.ratios[1], 0.5 * single.ratios[0], 1e-9 * std::fabs(single.ratios[0]));
  EXPECT_NEAR(identical.hedged_variance, single.hedged_variance, 1e-9 * single.hedged_variance);
  EXPECT_TRUE(std::isnan(identical.standard_errors[0]) && std::isnan(identical.standard_errors[1]));

  const MinVarianceHedge collinear = min_variance_vector(moments_of(near));
  EXPECT_EQ(collinear.system, HedgeSystem::ill_conditioned) << collinear.condition_number;
  EXPECT_GT(collinear.standard_errors[0], 100.0 * single.standard_errors[0]);  // the split is not identified

  const MinVarianceHedge zero = min_variance_vector(moments_of(dead));
  EXPECT_EQ(zero.system, HedgeSystem::singular);
  EXPECT_EQ(zero.condition_number, std::numeric_limits<double>::infinity());
  EXPECT_EQ(zero.ratios[1], 0.0);
  EXPECT_NEAR(zero.ratios[0], single.ratios[0], 1e-12 * std::fabs(single.ratios[0]));
}

/// ES_a of the losses -(u + sum_l r_l m_l - |r_l| k_l) written out on its own: the k = ceil(a n)
/// smallest losses found by selection, then (sum_{i > k} L(i) + (k - a n) L(k)) / (n (1 - a))
/// in long double.
double direct_es(const Columns& c, const std::vector<double>& r, double a) {
  std::vector<double> loss(c.size());
  for (std::size_t i = 0; i < c.size(); ++i) {
    long double p = c.u[i];
    for (int l = 0; l < c.legs(); ++l) p += r[l] * static_cast<long double>(c.m[l][i]) - std::fabs(r[l]) * static_cast<long double>(c.k[l][i]);
    loss[i] = static_cast<double>(-p);
  }
  const double n = static_cast<double>(c.size());
  const std::size_t k = static_cast<std::size_t>(std::ceil(a * n - 1e-6));
  std::nth_element(loss.begin(), loss.begin() + (k - 1), loss.end());
  long double tail = 0.0L;
  for (std::size_t i = k; i < c.size(); ++i) tail += loss[i];
  return static_cast<double>((tail + (k - a * n) * static_cast<long double>(loss[k - 1])) / (n * (1.0 - a)));
}

/// The least ES over the box by brute force: a 41 x 41 grid, then grids of 21 x 21 around the
/// best point, shrinking fivefold 7 times (final spacing ~1e-6 of the box).
std::pair<std::vector<double>, double> brute_force_min_es(const Columns& c, double level,
                                                          const std::vector<double>& lower,
                                                          const std::vector<double>& upper) {
  std::vector<double> best{lower[0], lower[1]};
  double best_es = direct_es(c, best, level);
  std::array<double, 2> step{(upper[0] - lower[0]) / 40.0, (upper[1] - lower[1]) / 40.0};
  std::array<double, 2> centre{0.5 * (lower[0] + upper[0]), 0.5 * (lower[1] + upper[1])};
  int half = 20;
  for (int round = 0; round < 8; ++round) {
    for (int i = -half; i <= half; ++i)
      for (int j = -half; j <= half; ++j) {
        const std::vector<double> r{std::clamp(centre[0] + i * step[0], lower[0], upper[0]),
                                    std::clamp(centre[1] + j * step[1], lower[1], upper[1])};
        const double es = direct_es(c, r, level);
        if (es < best_es) best_es = es, best = r;
      }
    centre = {best[0], best[1]};
    step = {step[0] / 5.0, step[1] / 5.0};
    half = 10;
  }
  return {best, best_es};
}

// The min-ES vector against the brute force search, without and with costs, in a box that
// straddles 0 (the costs' kink) and in one whose edge binds. The optimiser certifies a lower
// bound; the brute force's least ES is a feasible value, so lower_bound <= brute force, and
// es <= brute force + the tolerance; the brute force comes within 1e-6 of the scale of it.
TEST(MinEsVector, MatchesABruteForceSearch) {
  struct Case {
    double cost_rate;
    std::vector<double> lower, upper;
    std::vector<BoxSide> sides;
  };
  const BoxSide in = BoxSide::interior, up = BoxSide::upper;
  for (const Case& c : {Case{0.0, {-0.5, -0.5}, {2.0, 2.0}, {in, in}}, Case{0.004, {-0.5, -0.5}, {2.0, 2.0}, {in, in}},
                        Case{0.004, {0.0, 0.0}, {0.4, 1.5}, {up, in}},
                        Case{0.004, {-1.0, -1.0}, {0.5, -0.1}, {up, up}}}) {  // one box of negative ratios only
    const Columns columns = fat_tailed_book(20000, 21, c.cost_rate);
    const HedgeRows rows = rows_of(columns);
    for (double level : {0.95, 0.99}) {
      SCOPED_TRACE("cost rate " + std::to_string(c.cost_rate) + ", level " + std::to_string(level) + ", upper " +
                   std::to_string(c.upper[0]));
      const MinEsHedge best = min_es_vector(rows, level, c.lower, c.upper);
      const auto [brute, brute_es] = brute_force_min_es(columns, level, c.lower, c.upper);
      const double scale = best.tolerance / 1e-9;
      EXPECT_TRUE(best.converged) << best.es - best.lower_bound;
      EXPECT_EQ(best.es, hedged_es(rows, best.ratios, level));
      EXPECT_LE(best.lower_bound, brute_es);
      EXPECT_LE(best.es, brute_es + best.tolerance);
      EXPECT_LT(brute_es - best.es, 1e-6 * scale);
      EXPECT_NEAR(best.ratios[0], brute[0], 1e-3);
      EXPECT_NEAR(best.ratios[1], brute[1], 1e-3);
      EXPECT_EQ(best.side, c.sides);
      EXPECT_EQ(best.on_edge, (c.sides != std::vector<BoxSide>{in, in}));
    }
  }
}

// A leg whose box is one point is a constant of the book: the same optimum as the two legs
// left, with that leg's hedge added to u.
TEST(MinEsVector, AFixedLegIsPartOfTheBook) {
  const Columns two = fat_tailed_book(20000, 31, 0.004);
  Columns three(3, two.size()), folded = two;
  std::mt19937_64 rng(32);
  std::normal_distribution<double> normal;
  for (std::size_t i = 0; i < two.size(); ++i) {
    three.u[i] = two.u[i];
    for (int l = 0; l < 2; ++l) three.m[l][i] = two.m[l][i], three.k[l][i] = two.k[l][i];
    three.m[2][i] = -0.5 * two.u[i] + 3000.0 * normal(rng);
    three.k[2][i] = 500.0;
    folded.u[i] = two.u[i] + (-0.3 * three.m[2][i] - 0.3 * three.k[2][i]);  // r_2 = -0.3
  }
  const MinEsHedge with_fixed = min_es_vector(rows_of(three), 0.99, {-0.5, -0.5, -0.3}, {2.0, 2.0, -0.3});
  const MinEsHedge without = min_es_vector(rows_of(folded), 0.99, {-0.5, -0.5}, {2.0, 2.0});
  EXPECT_TRUE(with_fixed.converged && without.converged)
      << with_fixed.es - with_fixed.lower_bound << ", " << without.es - without.lower_bound;
  EXPECT_EQ(with_fixed.ratios[2], -0.3);
  EXPECT_EQ(with_fixed.side[2], BoxSide::interior);
  EXPECT_NEAR(with_fixed.es, without.es, with_fixed.tolerance + without.tolerance);
  EXPECT_NEAR(with_fixed.ratios[0], without.ratios[0], 1e-6);
  EXPECT_NEAR(with_fixed.ratios[1], without.ratios[1], 1e-6);
}

// A leg with costs and no hedging value: its best ratio is exactly 0, the kink of |r| k.
TEST(MinEsVector, AUselessCostlyLegStaysAtZero) {
  Columns c = fat_tailed_book(20000, 4, 0.004);
  std::mt19937_64 rng(8);
  std::normal_distribution<double> normal;
  for (std::size_t i = 0; i < c.size(); ++i) c.m[1][i] = 1e4 * normal(rng);  // independent of the book
  const HedgeRows rows = rows_of(c);
  const MinEsHedge best = min_es_vector(rows, 0.99, {-1.0, -1.0}, {2.0, 2.0});
  EXPECT_TRUE(best.converged);
  EXPECT_EQ(best.ratios[1], 0.0);
  EXPECT_EQ(best.side[1], BoxSide::interior);
  const auto [brute, brute_es] = brute_force_min_es(c, 0.99, {-1.0, -1.0}, {2.0, 2.0});
  EXPECT_LE(best.lower_bound, brute_es);
  EXPECT_LE(best.es, brute_es + best.tolerance);
}

// Enough rows (2^17) that the optimiser's full passes run in parallel.
TEST(MinEsVector, TheSameBitsForAnyThreadCount) {
  const HedgeRows rows = rows_of(fat_tailed_book(std::size_t{1} << 17, 2, 0.004));
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const MinEsHedge one = min_es_vector(rows, 0.975, {-0.5, -0.5}, {2.0, 2.0});
  omp_set_num_threads(2);
  const MinEsHedge two = min_es_vector(rows, 0.975, {-0.5, -0.5}, {2.0, 2.0});
  omp_set_num_threads(threads);
  EXPECT_TRUE(same_bits(one.ratios[0], two.ratios[0]));
  EXPECT_TRUE(same_bits(one.ratios[1], two.ratios[1]));
  EXPECT_TRUE(same_bits(one.es, two.es));
  EXPECT_TRUE(same_bits(one.lower_bound, two.lower_bound));
}

// hedged_es and hedged_var are the engine's estimator on the losses -(u + r.m - |r|.k): bit for
// bit estimate_pnl_statistics on the same values, and the Acerbi-Tasche formula from a sort.
TEST(HedgedEs, IsTheEnginesEstimatorOnTheSameLosses) {
  const Columns c = fat_tailed_book(12345, 6, 0.004);
  const HedgeRows rows = rows_of(c);
  const std::vector<RiskLevel> levels{{"0.95", 0.95}, {"0.99", 0.99}, {"0.975", 0.975}};
  for (const std::vector<double>& r : {std::vector<double>{0.8, 0.3}, std::vector<double>{-0.4, 1.1}}) {
    std::vector<double> losses(c.size());
    for (std::size_t i = 0; i < c.size(); ++i) {
      double p = c.u[i];
      for (int l = 0; l < 2; ++l) p += r[l] * c.m[l][i] - std::fabs(r[l]) * c.k[l][i];
      losses[i] = -p;
    }
    const PnlStatistics engine = estimate_pnl_statistics(losses, levels);
    const PnlStatistics mine = hedged_statistics(rows, r, levels);
    std::vector<double> sorted = losses;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t t = 0; t < levels.size(); ++t) {
      const double a = levels[t].value;
      EXPECT_TRUE(same_bits(hedged_es(rows, r, a), engine.tails[t].es));
      EXPECT_TRUE(same_bits(hedged_var(rows, r, a), engine.tails[t].var));
      EXPECT_TRUE(same_bits(mine.tails[t].es, engine.tails[t].es));
      EXPECT_TRUE(same_bits(mine.tails[t].es_se, engine.tails[t].es_se));
      // ES = (sum_{i > k} L(i) + (k - a n) L(k)) / (n (1 - a)), k = ceil(a n), 1-based.
      const double n = static_cast<double>(c.size());
      const std::size_t k = static_cast<std::size_t>(std::ceil(a * n));
      long double tail = 0.0L;
      for (std::size_t i = k; i < c.size(); ++i) tail += sorted[i];
      const double es = static_cast<double>((tail + (k - a * n) * sorted[k - 1]) / (n * (1.0 - a)));
      EXPECT_NEAR(hedged_es(rows, r, a), es, 1e-12 * std::fabs(es));
      EXPECT_EQ(hedged_var(rows, r, a), sorted[k - 1]);
    }
  }
}

TEST(EsSurface, HoldsTheEsOfEachGridPoint) {
  Columns two = fat_tailed_book(8000, 7, 0.004);
  Columns c(3, two.size());
  c.u = two.u;
  c.m[0] = two.m[1], c.m[1] = two.m[0], c.m[2] = two.m[0];
  c.k[0] = two.k[1], c.k[1] = two.k[0], c.k[2] = two.k[0];
  const HedgeRows rows = rows_of(c);
  const std::vector<double> a{0.0, 0.5, 1.0}, b{-0.25, 0.25};
  const EsSurface surface = es_surface(rows, a, b, 0.99, {0.0, 0.0, 0.3}, 2, 0);
  ASSERT_EQ(surface.es.size(), 6u);
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t j = 0; j < b.size(); ++j)
      EXPECT_EQ(surface.es[i * b.size() + j], hedged_es(rows, {b[j], 0.0, a[i]}, 0.99));
}

// The moments' figures for any split of the path ids into batches, threads and ranks, the ranks'
// states passed as bytes: the same bits.
TEST(HedgeMoments, TheSameBitsForAnyBatchThreadOrRankSplit) {
  const Columns c = fat_tailed_book(5 * kReductionBlock + 777, 12, 0.004);
  const std::size_t n = c.size();
  const MinVarianceHedge whole = min_variance_vector(moments_of(c));

  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  HedgeMoments batches(2);
  for (std::size_t first = 0; first < n; first += 2 * kReductionBlock)
    add_paths(batches, c, first, std::min<std::size_t>(2 * kReductionBlock, n - first));
  omp_set_num_threads(threads);

  HedgeMoments rank0(2), rank1(2), rank2(2);  // shares on block boundaries, merged out of order
  add_paths(rank0, c, 0, kReductionBlock);
  add_paths(rank1, c, kReductionBlock, 3 * kReductionBlock);
  add_paths(rank2, c, 4 * kReductionBlock, n - 4 * kReductionBlock);
  HedgeMoments gathered = HedgeMoments::decode(rank2.encode());
  gathered.merge(HedgeMoments::decode(rank0.encode()));
  gathered.merge(HedgeMoments::decode(rank1.encode()));

  for (const HedgeMoments* split : {&batches, &gathered}) {
    EXPECT_EQ(split->paths(), n);
    const MinVarianceHedge h = min_variance_vector(*split);
    for (int l = 0; l < 2; ++l) {
      EXPECT_TRUE(same_bits(h.ratios[l], whole.ratios[l]));
      EXPECT_TRUE(same_bits(h.standard_errors[l], whole.standard_errors[l]));
    }
    EXPECT_TRUE(same_bits(h.hedged_variance, whole.hedged_variance));
    EXPECT_TRUE(same_bits(split->sum({2, 1, 0, 1}).value(), moments_of(c).sum({0, 1, 1, 2}).value()));
  }
  EXPECT_THROW(add_paths(rank0, c, 100, 10), std::logic_error);  // not on a block boundary
}

// The rows kept are the prefix [0, capacity) of the path ids, whatever the batches and ranks.
TEST(HedgeRows, KeepThePrefixForAnyBatchOrRankSplit) {
  const Columns c = fat_tailed_book(20000, 13, 0.004);
  constexpr std::uint64_t kCapacity = 12000;
  HedgeRows whole(2, kCapacity);
  add_paths(whole, c, 0, c.size());
  ASSERT_EQ(whole.paths(), kCapacity);

  HedgeRows batches(2, kCapacity);
  for (std::size_t first : {15000, 5000, 0, 10000}) add_paths(batches, c, first, 5000);  // any order
  HedgeRows rank0(2, kCapacity), rank1(2, kCapacity), rank2(2, kCapacity);
  add_paths(rank0, c, 0, 7000);
  add_paths(rank1, c, 7000, 7000);
  add_paths(rank2, c, 14000, 6000);  // holds nothing: its paths are beyond the capacity
  HedgeRows gathered = HedgeRows::decode(rank2.encode());
  EXPECT_EQ(gathered.paths(), 0u);
  gathered.merge(HedgeRows::decode(rank1.encode()));
  EXPECT_THROW(gathered.paths(), std::logic_error);  // [7000, 12000) alone is no prefix
  gathered.merge(HedgeRows::decode(rank0.encode()));

  for (const HedgeRows* split : {&batches, &gathered}) {
    ASSERT_EQ(split->paths(), kCapacity);
    EXPECT_EQ(std::memcmp(split->unhedged(), c.u.data(), kCapacity * sizeof(double)), 0);
    for (int l = 0; l < 2; ++l) {
      EXPECT_EQ(std::memcmp(split->marks(l), c.m[l].data(), kCapacity * sizeof(double)), 0);
      EXPECT_EQ(std::memcmp(split->costs(l), c.k[l].data(), kCapacity * sizeof(double)), 0);
    }
    EXPECT_EQ(hedged_es(*split, {0.7, 0.2}, 0.99), hedged_es(whole, {0.7, 0.2}, 0.99));
  }
  EXPECT_THROW(add_paths(gathered, c, 5000, 10), std::logic_error);  // rows already held
}

}  // namespace
}  // namespace betahedge
