#include "scenario/nearest_correlation.hpp"

#include <gtest/gtest.h>

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "betahedge/error.hpp"
#include "test_support.hpp"

namespace betahedge {
namespace {

// Higham (2002), section 4: the unit-diagonal matrix [[1,1,0],[1,1,1],[0,1,1]].
Eigen::MatrixXd higham_example() {
  Eigen::MatrixXd a(3, 3);
  a << 1, 1, 0,
       1, 1, 1,
       0, 1, 1;
  return a;
}

// A square CSV of numbers under one header line (quoted names allowed).
Eigen::MatrixXd read_matrix_csv(const std::filesystem::path& path) {
  std::ifstream file(path);
  std::string line;
  std::getline(file, line);
  std::vector<std::vector<double>> rows;
  while (std::getline(file, line)) {
    if (line.empty()) continue;
    std::vector<double> row;
    std::stringstream fields(line);
    for (std::string cell; std::getline(fields, cell, ',');) row.push_back(std::stod(cell));
    rows.push_back(row);
  }
  Eigen::MatrixXd m(rows.size(), rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].size(), rows.size()) << "row " << i << " of " << path;
    for (std::size_t j = 0; j < rows.size(); ++j) m(i, j) = rows[i].at(j);
  }
  return m;
}

double min_eigenvalue(const Eigen::MatrixXd& a) {
  return Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(a, Eigen::EigenvaluesOnly).eigenvalues().minCoeff();
}

// Symmetric, unit off-diagonals uniform in [-1, 1]: almost surely indefinite at n = 10.
Eigen::MatrixXd random_pseudo_correlation(int n, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  Eigen::MatrixXd a = Eigen::MatrixXd::Identity(n, n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < i; ++j) a(i, j) = a(j, i) = uniform(rng);
  return a;
}

// D^{-1/2} G D^{-1/2} of a random Gram matrix G: a correlation matrix.
Eigen::MatrixXd random_correlation(int n, std::mt19937_64& rng) {
  std::normal_distribution<double> normal;
  Eigen::MatrixXd f(n, n);
  for (int i = 0; i < f.size(); ++i) f.data()[i] = normal(rng);
  const Eigen::MatrixXd g = f * f.transpose();
  const Eigen::VectorXd inv_sd = g.diagonal().cwiseSqrt().cwiseInverse();
  Eigen::MatrixXd c = inv_sd.asDiagonal() * g * inv_sd.asDiagonal();
  c.diagonal().setOnes();
  return c;
}

void expect_correlation_matrix(const Eigen::MatrixXd& c, double eigenvalue_tolerance) {
  ASSERT_EQ(c.rows(), c.cols());
  for (int i = 0; i < c.rows(); ++i) EXPECT_EQ(c(i, i), 1.0) << "diagonal " << i;
  EXPECT_EQ((c - c.transpose()).cwiseAbs().maxCoeff(), 0.0) << "not symmetric";
  EXPECT_GE(min_eigenvalue(c), -eigenvalue_tolerance);
}

TEST(NearestCorrelation, ReproducesHigham2002Example) {
  const auto path = test::shared_dir() / "reference" / "higham2002_3x3_nearPD.csv";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "no reference data at " << path;
  const Eigen::MatrixXd expected = read_matrix_csv(path);
  ASSERT_EQ(expected.rows(), 3);

  const NearestCorrelationResult result = nearest_correlation(higham_example());
  EXPECT_TRUE(result.changed);
  EXPECT_GT(result.iterations, 0);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) EXPECT_NEAR(result.corr(i, j), expected(i, j), 1e-8) << i << "," << j;
  // Printed to six decimals in the paper.
  EXPECT_NEAR(result.distance, 0.527790, 5e-7);
  EXPECT_NEAR(result.distance, (result.corr - higham_example()).norm(), 1e-15);
}

TEST(NearestCorrelation, ResultIsPositiveSemidefiniteWithUnitDiagonal) {
  expect_correlation_matrix(nearest_correlation(higham_example()).corr, 1e-10);
  std::mt19937_64 rng(2002);
  for (int trial = 0; trial < 5; ++trial) {
    SCOPED_TRACE(trial);
    expect_correlation_matrix(nearest_correlation(random_pseudo_correlation(10, rng)).corr, 1e-10);
  }
}

TEST(NearestCorrelation, CorrelationMatrixIsReturnedUnchanged) {
  std::mt19937_64 rng(7);
  const Eigen::MatrixXd c = random_correlation(6, rng);
  ASSERT_GT(min_eigenvalue(c), 0.0);
  const NearestCorrelationResult nearest = nearest_correlation(c);
  EXPECT_FALSE(nearest.changed);
  EXPECT_EQ(nearest.iterations, 0);
  EXPECT_EQ(nearest.distance, 0.0);
  EXPECT_EQ(nearest.corr, c);

  const NearestCorrelationResult repaired = repair_correlation(c);
  EXPECT_FALSE(repaired.changed);
  EXPECT_EQ(repaired.distance, 0.0);
  EXPECT_EQ(repaired.corr, c);
}

TEST(NearestCorrelation, IsIdempotent) {
  std::mt19937_64 rng(11);
  for (const Eigen::MatrixXd& a : {higham_example(), random_pseudo_correlation(10, rng)}) {
    const NearestCorrelationResult once = nearest_correlation(a);
    const NearestCorrelationResult twice = nearest_correlation(once.corr);
    EXPECT_LT(twice.distance, 1e-10);
    EXPECT_LT((twice.corr - once.corr).cwiseAbs().maxCoeff(), 1e-10);

    const NearestCorrelationResult repaired = repair_correlation(a);
    const NearestCorrelationResult again = repair_correlation(repaired.corr);
    EXPECT_FALSE(again.changed);
    EXPECT_EQ(again.corr, repaired.corr);
  }
}

// Optimality certificate (Higham 2002, theorem 2.4, W = I): X is the nearest correlation
// matrix to A iff A - X = diag(theta) - P with P positive semidefinite and P X = 0. Since
// X_ii = 1, P X = 0 forces theta_i = ((A - X) X)_ii, so P is determined and checkable.
void expect_optimal(const Eigen::MatrixXd& a, const Eigen::MatrixXd& x) {
  const Eigen::MatrixXd gap = a - x;
  const Eigen::VectorXd theta = (gap * x).diagonal();
  const Eigen::MatrixXd p = Eigen::MatrixXd(theta.asDiagonal()) - gap;
  EXPECT_GE(min_eigenvalue(p), -1e-9);
  EXPECT_LT((p * x).cwiseAbs().maxCoeff(), 1e-9);
}

TEST(NearestCorrelation, HighamExampleSatisfiesTheOptimalityConditions) {
  expect_optimal(higham_example(), nearest_correlation(higham_example()).corr);
}

TEST(NearestCorrelation, RandomIndefinite10x10ConvergesToTheNearestPoint) {
  std::mt19937_64 rng(42);
  const Eigen::MatrixXd a = random_pseudo_correlation(10, rng);
  ASSERT_LT(min_eigenvalue(a), -0.1) << "the test needs an indefinite input";

  const NearestCorrelationResult result = nearest_correlation(a);
  EXPECT_TRUE(result.changed);
  expect_correlation_matrix(result.corr, 1e-10);
  expect_optimal(a, result.corr);
  // Hence closer than the identity and than clipping eigenvalues then rescaling.
  EXPECT_LT(result.distance, (a - Eigen::MatrixXd::Identity(10, 10)).norm());
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(a);
  Eigen::MatrixXd clipped = eig.eigenvectors() * eig.eigenvalues().cwiseMax(0.0).asDiagonal() *
                            eig.eigenvectors().transpose();
  const Eigen::VectorXd inv_sd = clipped.diagonal().cwiseSqrt().cwiseInverse();
  clipped = inv_sd.asDiagonal() * clipped * inv_sd.asDiagonal();
  EXPECT_LT(result.distance, (a - clipped).norm());
}

TEST(NearestCorrelation, IterationCapThrowsNumericalErrorWithHint) {
  try {
    nearest_correlation(higham_example(), 1e-12, 3);
    FAIL() << "expected NumericalError";
  } catch (const NumericalError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("no convergence in 3 iterations"), std::string::npos) << what;
    EXPECT_NE(what.find("hint"), std::string::npos) << what;
  }
}

TEST(NearestCorrelation, RejectsMalformedInput) {
  EXPECT_THROW(nearest_correlation(Eigen::MatrixXd::Identity(2, 3)), InputError);
  Eigen::MatrixXd asymmetric = higham_example();
  asymmetric(0, 2) = 0.5;
  EXPECT_THROW(nearest_correlation(asymmetric), InputError);
  EXPECT_THROW(repair_correlation(asymmetric), InputError);
  Eigen::MatrixXd not_finite = higham_example();
  not_finite(1, 2) = not_finite(2, 1) = std::nan("");
  EXPECT_THROW(repair_correlation(not_finite), InputError);
}

TEST(RepairCorrelation, IndefiniteMatrixBecomesCholeskyFactorable) {
  const NearestCorrelationResult repaired = repair_correlation(higham_example());
  EXPECT_TRUE(repaired.changed);
  expect_correlation_matrix(repaired.corr, 0.0);
  EXPECT_GT(min_eigenvalue(repaired.corr), 0.5 * kCorrelationEigenvalueFloor);
  const Eigen::LLT<Eigen::MatrixXd> llt(repaired.corr);
  ASSERT_EQ(llt.info(), Eigen::Success);
  EXPECT_GT(llt.matrixLLT().diagonal().minCoeff(), 0.0);
  // The nudge off the boundary moves the matrix by about the eigenvalue floor.
  EXPECT_NEAR(repaired.distance, 0.527790, 5e-7);
  EXPECT_NEAR(repaired.distance, (repaired.corr - higham_example()).norm(), 1e-15);
  EXPECT_LT((repaired.corr - nearest_correlation(higham_example()).corr).cwiseAbs().maxCoeff(), 1e-8);
}

// SPEC 4's `corr-to-one` stress: a full blend is singular, so it needs the repair.
TEST(RepairCorrelation, FullBlendToOneIsNudgedToPositiveDefinite) {
  std::mt19937_64 rng(3);
  const Eigen::MatrixXd r = random_correlation(4, rng);
  const NearestCorrelationResult repaired = repair_correlation(blend_correlation(r, 1.0));
  EXPECT_TRUE(repaired.changed);
  EXPECT_LT(repaired.distance, 1e-8);
  EXPECT_EQ(Eigen::LLT<Eigen::MatrixXd>(repaired.corr).info(), Eigen::Success);
  // A partial blend of a positive definite matrix stays positive definite.
  EXPECT_FALSE(repair_correlation(blend_correlation(r, 0.9)).changed);
}

TEST(BlendCorrelation, InterpolatesBetweenTheMatrixAndAllOnes) {
  std::mt19937_64 rng(5);
  const Eigen::MatrixXd r = random_correlation(5, rng);
  const Eigen::MatrixXd ones = Eigen::MatrixXd::Ones(5, 5);
  EXPECT_EQ(blend_correlation(r, 0.0), r);
  EXPECT_EQ(blend_correlation(r, 1.0), ones);
  const Eigen::MatrixXd mid = blend_correlation(r, 0.3);
  EXPECT_LT((mid - (0.7 * r + 0.3 * ones)).cwiseAbs().maxCoeff(), 1e-15);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(mid(i, i), 1.0);
  EXPECT_THROW(blend_correlation(r, -0.1), InputError);
  EXPECT_THROW(blend_correlation(r, 1.5), InputError);
  EXPECT_THROW(blend_correlation(r, std::nan("")), InputError);
}

}  // namespace
}  // namespace betahedge
