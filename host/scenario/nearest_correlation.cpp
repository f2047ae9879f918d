#include "scenario/nearest_correlation.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <utility>

#include "betahedge/error.hpp"

namespace betahedge {
namespace {

void require_symmetric(const Eigen::MatrixXd& a, const std::string& caller) {
  if (a.rows() != a.cols()) {
    std::ostringstream msg;
    msg << caller << ": matrix is " << a.rows() << "x" << a.cols() << ", not square";
    throw InputError(msg.str());
  }
  if (!a.allFinite()) throw InputError(caller + ": matrix has a NaN or infinite entry");
  const double asymmetry = a.size() == 0 ? 0.0 : (a - a.transpose()).cwiseAbs().maxCoeff();
  if (asymmetry > 1e-12) {
    std::ostringstream msg;
    msg << caller << ": matrix is not symmetric (largest |a_ij - a_ji| = " << asymmetry << ")";
    throw InputError(msg.str());
  }
}

Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen_decomposition(const Eigen::MatrixXd& a) {
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(a);
  if (eig.info() != Eigen::Success) {
    throw NumericalError("nearest correlation: symmetric eigen decomposition did not converge");
  }
  return eig;
}

/// V max(Lambda, floor) V^T. With floor 0 this is the Frobenius projection onto the
/// positive semidefinite cone.
Eigen::MatrixXd floor_eigenvalues(const Eigen::MatrixXd& a, double floor) {
  const auto eig = eigen_decomposition(a);
  const Eigen::VectorXd lambda = eig.eigenvalues().cwiseMax(floor);
  const Eigen::MatrixXd out = eig.eigenvectors() * lambda.asDiagonal() * eig.eigenvectors().transpose();
  // The product is symmetric only to rounding; later projections assume exact symmetry.
  return 0.5 * (out + out.transpose());
}

/// Smallest pivot d_i = L_ii^2 of the Cholesky factorisation, or -1 when it fails.
double min_cholesky_pivot(const Eigen::MatrixXd& a) {
  if (a.size() == 0) return 1.0;
  const Eigen::LLT<Eigen::MatrixXd> llt(a);
  if (llt.info() != Eigen::Success) return -1.0;
  const double min_l = llt.matrixLLT().diagonal().minCoeff();
  return min_l * min_l;
}

bool has_unit_diagonal(const Eigen::MatrixXd& a, double tolerance) {
  return a.size() == 0 || (a.diagonal().array() - 1.0).abs().maxCoeff() <= tolerance;
}

}  // namespace

NearestCorrelationResult nearest_correlation(const Eigen::MatrixXd& a, double tolerance,
                                             int max_iterations) {
  require_symmetric(a, "nearest correlation");
  const Eigen::Index n = a.rows();
  if (has_unit_diagonal(a, 0.0) && (n == 0 || eigen_decomposition(a).eigenvalues().minCoeff() >= 0.0)) {
    return {a, 0.0, 0, false};
  }

  // Higham (2002) algorithm 3.3: y is the unit-diagonal iterate, x the PSD one, and
  // `correction` Dykstra's increment, which makes the limit the nearest point of the
  // intersection rather than just some point of it.
  Eigen::MatrixXd y = a;
  Eigen::MatrixXd x = a;
  Eigen::MatrixXd correction = Eigen::MatrixXd::Zero(n, n);
  double change = 0.0;
  for (int iteration = 1; iteration <= max_iterations; ++iteration) {
    const Eigen::MatrixXd r = y - correction;
    Eigen::MatrixXd x_next = floor_eigenvalues(r, 0.0);
    correction = x_next - r;
    Eigen::MatrixXd y_next = x_next;
    y_next.diagonal().setOnes();
    const double y_norm = y_next.norm();
    change = std::max({(x_next - x).norm() / x_next.norm(), (y_next - y).norm() / y_norm,
                       (y_next - x_next).norm() / y_norm});
    x = std::move(x_next);
    y = std::move(y_next);
    if (change <= tolerance) return {y, (y - a).norm(), iteration, true};
  }
  std::ostringstream msg;
  msg << "nearest correlation: no convergence in " << max_iterations
      << " iterations (relative change " << change << " > tolerance " << tolerance
      << "); hint: check that stressed correlations (correlation_set, correlation_blend) lie "
         "in [-1, 1], or loosen the tolerance";
  throw NumericalError(msg.str());
}

NearestCorrelationResult repair_correlation(const Eigen::MatrixXd& r) {
  require_symmetric(r, "repair correlation");
  // Correlations read from model.json carry a few ulps of rounding on the diagonal.
  if (has_unit_diagonal(r, 1e-12) && min_cholesky_pivot(r) > kCorrelationMinPivot) {
    return {r, 0.0, 0, false};
  }
  const NearestCorrelationResult nearest = nearest_correlation(r);
  // The nearest matrix is singular whenever the input is indefinite; lift its zero
  // eigenvalues so that Cholesky succeeds, then restore the unit diagonal.
  const Eigen::MatrixXd floored = floor_eigenvalues(nearest.corr, kCorrelationEigenvalueFloor);
  const Eigen::VectorXd inv_sd = floored.diagonal().cwiseSqrt().cwiseInverse();
  Eigen::MatrixXd corr = inv_sd.asDiagonal() * floored * inv_sd.asDiagonal();
  corr.diagonal().setOnes();
  const double pivot = min_cholesky_pivot(corr);
  if (pivot <= kCorrelationMinPivot) {
    std::ostringstream msg;
    msg << "repair correlation: repaired matrix still has Cholesky pivot " << pivot
        << " <= " << kCorrelationMinPivot << "; hint: the stressed correlations are degenerate";
    throw NumericalError(msg.str());
  }
  return {corr, (corr - r).norm(), nearest.iterations, true};
}

Eigen::MatrixXd blend_correlation(const Eigen::MatrixXd& r, double lambda) {
  if (r.rows() != r.cols()) throw InputError("blend correlation: matrix is not square");
  if (!(lambda >= 0.0 && lambda <= 1.0)) {
    std::ostringstream msg;
    msg << "blend correlation: lambda = " << lambda << " is outside [0, 1]";
    throw InputError(msg.str());
  }
  Eigen::MatrixXd out = (1.0 - lambda) * r + lambda * Eigen::MatrixXd::Ones(r.rows(), r.cols());
  // (1 - lambda) + lambda can round to one ulp off 1.
  out.diagonal().setOnes();
  return out;
}

}  // namespace betahedge
