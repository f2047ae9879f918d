#pragma once
/// Repairing stressed correlation matrices (SPEC 4, `stress:`): the nearest correlation
/// matrix of Higham (2002) and a strictly positive definite version for Cholesky.
#include <Eigen/Dense>

namespace betahedge {

struct NearestCorrelationResult {
  Eigen::MatrixXd corr;  ///< symmetric, unit diagonal, positive semidefinite
  double distance;       ///< ||corr - input||_F
  int iterations;        ///< alternating-projection iterations; 0 when none were needed
  bool changed;          ///< false when the input was returned as it is
};

/// The smallest eigenvalue repair_correlation leaves in a matrix it changes.
inline constexpr double kCorrelationEigenvalueFloor = 1e-10;

/// The least Cholesky pivot for which repair_correlation takes a matrix as it is. Below
/// the eigenvalue floor, because pivots are at least the smallest eigenvalue: a repaired
/// matrix passes.
inline constexpr double kCorrelationMinPivot = 1e-11;

/// argmin ||X - a||_F over symmetric positive semidefinite X with unit diagonal, by
/// alternating projections with Dykstra's correction (Higham 2002, algorithm 3.3, W = I).
/// Stops when the relative changes of both iterates and their gap are <= tolerance.
/// `a` must be square, symmetric and finite (else InputError). Throws NumericalError
/// when max_iterations pass without convergence.
NearestCorrelationResult nearest_correlation(const Eigen::MatrixXd& a, double tolerance = 1e-12,
                                             int max_iterations = 10000);

/// A correlation matrix the simulation can factor. When `r` is positive definite (its
/// Cholesky pivots all exceed kCorrelationMinPivot) it is returned unchanged, distance 0.
/// Otherwise: the nearest correlation matrix, its eigenvalues floored at
/// kCorrelationEigenvalueFloor and rescaled to unit diagonal, with its distance to `r`.
NearestCorrelationResult repair_correlation(const Eigen::MatrixXd& r);

/// (1 - lambda) r + lambda * ones for a correlation matrix r: lambda = 1 moves every
/// correlation to one. The diagonal stays exactly 1. lambda must lie in [0, 1] (else
/// InputError).
Eigen::MatrixXd blend_correlation(const Eigen::MatrixXd& r, double lambda);

}  // namespace betahedge
