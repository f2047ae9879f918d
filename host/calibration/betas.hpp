#pragma once
/// Betas of an asset's returns `y` to the benchmark's returns `x` (same length, per step).
#include <vector>

#include <Eigen/Core>

namespace betahedge {

/// y_t = alpha + beta x_t + e_t by ordinary least squares.
struct OlsBeta {
  double alpha = 0.0;
  double beta = 0.0;
  double beta_se = 0.0;    ///< classical standard error sqrt(s^2 / Sxx), s^2 = RSS / (n - 2)
  double r_squared = 0.0;  ///< 1 - RSS / TSS
  int nobs = 0;
};
/// Needs n >= 3 and a benchmark that moves (Sxx > 0); throws NumericalError otherwise.
OlsBeta ols_beta(const Eigen::Ref<const Eigen::VectorXd>& y, const Eigen::Ref<const Eigen::VectorXd>& x);

/// OLS beta on the trailing `window` observations ending at each t >= window - 1;
/// [n - window + 1] values (empty when n < window).
std::vector<double> rolling_beta(const Eigen::Ref<const Eigen::VectorXd>& y,
                                 const Eigen::Ref<const Eigen::VectorXd>& x, int window);

/// RiskMetrics EWMA beta, zero-mean convention: C_t = lambda C_{t-1} + (1 - lambda) x_t y_t,
/// V_t = lambda V_{t-1} + (1 - lambda) x_t^2, beta_t = C_t / V_t, with C_{-1}, V_{-1} the
/// plain averages of x y and x^2 over the first min(n, 20) observations. [n] values.
std::vector<double> ewma_beta(const Eigen::Ref<const Eigen::VectorXd>& y,
                              const Eigen::Ref<const Eigen::VectorXd>& x, double lambda);

/// Time-varying beta as a random walk, by the Kalman filter:
///   y_t = alpha + beta_t x_t + e_t,   e_t ~ N(0, noise_variance)
///   beta_t = beta_{t-1} + u_t,        u_t ~ N(0, beta_variance)
/// with alpha constant and a diffuse prior on (alpha, beta_0).
struct KalmanBeta {
  std::vector<double> beta_filtered;  ///< [n] E[beta_t | y_1..y_t]
  double alpha = 0.0;                 ///< filtered alpha at the last step
  double beta_variance = 0.0;         ///< Q, per step
  double noise_variance = 0.0;        ///< R
  double loglik = 0.0;                ///< Gaussian log-likelihood, first two (diffuse) steps excluded
  double log_ratio_se = 0.0;          ///< standard error of log(Q / R) from the profile likelihood's curvature
};

/// Runs the filter at given variances (ratio = Q / R); loglik and the filtered path.
KalmanBeta kalman_beta_filter(const Eigen::Ref<const Eigen::VectorXd>& y, const Eigen::Ref<const Eigen::VectorXd>& x,
                              double beta_variance, double noise_variance);

/// Fits Q and R by maximum likelihood: R is concentrated out analytically and log(Q / R)
/// is maximised by a grid over [-30, 5] refined by golden-section search (Harvey 1989, 3.4).
/// Q / R = 0 (a constant beta, where the filter reproduces OLS) is the lower edge.
KalmanBeta kalman_beta_fit(const Eigen::Ref<const Eigen::VectorXd>& y, const Eigen::Ref<const Eigen::VectorXd>& x);

/// Beta implied by a regime's covariance: cov(asset, benchmark) / var(benchmark)
/// = rho * sigma_asset / sigma_benchmark.
double regime_beta(const Eigen::MatrixXd& covariance, int asset, int benchmark);

}  // namespace betahedge
