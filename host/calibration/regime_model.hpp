#pragma once
/// The K-regime hidden Markov model of the return vector (SPEC 4, issue 3):
///   s_1 ~ initial, s_t | s_{t-1} ~ transition[s_{t-1}],
///   x_t | s_t = k ~ N(mean_k, scale_k)  or  multivariate t(mean_k, scale_k, dof_k),
/// fitted by EM (Baum-Welch with a scaled forward-backward pass; ECME for the t degrees of
/// freedom) from several seeded starts, keeping the best likelihood.
#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "betahedge/model_types.hpp"

namespace betahedge {

/// How the distribution of the first regime, s_1, is treated.
enum class InitialDistribution {
  estimated,   ///< a free parameter, re-estimated as the smoothed P(s_1) (hmmlearn)
  stationary,  ///< the transition matrix's stationary distribution (statsmodels, Stata)
};

struct RegimeParameters {
  std::vector<Eigen::VectorXd> mean;   ///< [K] of [N]
  std::vector<Eigen::MatrixXd> scale;  ///< [K] of [N x N]; the covariance, or the t scale matrix
  std::vector<double> dof;             ///< [K] Student-t degrees of freedom; empty for gaussian
  Eigen::MatrixXd transition;          ///< [K x K], rows sum to one
  Eigen::VectorXd initial;             ///< [K] distribution of s_1

  int num_regimes() const { return static_cast<int>(mean.size()); }
  /// Covariance of regime k: the scale, times dof / (dof - 2) for Student-t.
  Eigen::MatrixXd covariance(int k) const;
};

struct RegimeFitOptions {
  int num_regimes = 2;
  Distribution distribution = Distribution::gaussian;
  bool shared_covariance = false;  ///< one scale matrix for every regime (switching means only)
  InitialDistribution initial = InitialDistribution::stationary;
  int num_starts = 10;
  int max_iterations = 1000;
  double tolerance = 1e-8;          ///< converged when |L_i - L_{i-1}| <= tolerance * |L_i|
  /// Floor on each scale matrix's eigenvalues, relative to the sample variances: scale_k is
  /// kept >= floor * diag(sample variances) (in the Loewner order), so no regime collapses.
  double covariance_floor = 1e-3;
  int volatility_column = 0;        ///< its volatility seeds the volatility-quantile starts
  std::uint64_t seed = 42;
  double min_dof = 2.05;            ///< Student-t dof kept in [min_dof, max_dof]
  double max_dof = 400.0;
  /// Names of the observation columns (asset symbols) for messages; empty: "column i".
  std::vector<std::string> column_names;
};

/// Forward-backward output at fixed parameters.
struct RegimeFilter {
  double loglik = 0.0;
  Eigen::MatrixXd filtered;  ///< [T x K] P(s_t = k | x_1..x_t)
  Eigen::MatrixXd smoothed;  ///< [T x K] P(s_t = k | x_1..x_T)
};

struct RegimeFit {
  RegimeParameters params;  ///< regimes in the order the EM found them (see order_regimes_by_volatility)
  RegimeFilter filter;      ///< at `params`
  int iterations = 0;       ///< M-steps taken by the best start
  bool converged = false;
  int num_parameters = 0;
  double aic = 0.0;         ///< -2 L + 2 p
  double bic = 0.0;         ///< -2 L + p log T
  int best_start = 0;
  std::vector<double> start_logliks;  ///< [num_starts] final log-likelihood of each start (NaN: failed)
  std::vector<double> loglik_trace;   ///< the best start's log-likelihood before each M-step, then at the end
  std::vector<int> reseeded_at;       ///< iterations at which the best start re-seeded an empty regime
};

/// Fits the model to `observations` [T x N]. Deterministic for a given options.seed, whatever
/// the thread count. Throws NumericalError (with a hint) when every start fails.
RegimeFit fit_regime_model(const Eigen::MatrixXd& observations, const RegimeFitOptions& options);

/// Runs EM from given parameters, one start, no perturbation; `options.num_starts` is ignored.
RegimeFit fit_regime_model_from(const Eigen::MatrixXd& observations, const RegimeParameters& start,
                                const RegimeFitOptions& options);

/// Log-likelihood, filtered and smoothed probabilities at fixed parameters.
RegimeFilter filter_regimes(const Eigen::MatrixXd& observations, const RegimeParameters& params,
                            Distribution distribution);

/// Free parameters: K N means, K or 1 symmetric N x N scales, K (K - 1) transitions,
/// K - 1 initial probabilities when estimated, K dofs for Student-t.
int count_parameters(int num_regimes, int num_assets, const RegimeFitOptions& options);

/// The stationary distribution pi = pi A of a row-stochastic matrix (unique when A is irreducible).
Eigen::VectorXd stationary_distribution(const Eigen::MatrixXd& transition);

/// Reorders the regimes of a fit by the variance of `column`, calmest first (equal variances,
/// as with a shared covariance: by the column's mean, lowest first), permuting every
/// parameter and the probability columns consistently.
void order_regimes_by_volatility(RegimeFit& fit, int column);

/// Digamma function psi(x) = d/dx log Gamma(x), x > 0.
double digamma(double x);

}  // namespace betahedge
