#include "calibration/betas.hpp"

#include <cmath>
#include <limits>
#include <numbers>

#include "betahedge/error.hpp"

namespace betahedge {
namespace {

/// Prior variance of (alpha, beta_0), in units of the noise variance on standardised data:
/// large enough to be uninformative, small enough to keep the 2x2 update accurate in doubles.
constexpr double kDiffusePrior = 1e6;
/// Observations spent on the diffuse prior (two states) and left out of the likelihood.
constexpr int kDiffuseSteps = 2;
constexpr double kLogRatioLow = -30.0;
constexpr double kLogRatioHigh = 5.0;
constexpr double kLogRatioGridStep = 0.5;

/// Sums of one pass of the filter on standardised data, with noise variance `noise` and beta
/// variance `beta_variance` (both on that scale); `beta` (may be null) receives filtered betas.
struct FilterSums {
  double sum_scaled_sq = 0.0;  ///< sum of v_t^2 / F_t over the non-diffuse steps
  double sum_log_f = 0.0;      ///< sum of log F_t over the non-diffuse steps
  double alpha = 0.0;          ///< filtered alpha at the last step
  int num_terms = 0;
};

FilterSums run_filter(const Eigen::VectorXd& y, const Eigen::VectorXd& x, double beta_variance, double noise,
                      std::vector<double>* beta) {
  const int n = static_cast<int>(y.size());
  double a0 = 0.0, a1 = 0.0;                                   // state mean (alpha, beta)
  double p00 = kDiffusePrior * noise, p01 = 0.0, p11 = kDiffusePrior * noise;  // state covariance
  FilterSums sums;
  for (int t = 0; t < n; ++t) {
    if (t > 0) p11 += beta_variance;
    const double xt = x[t];
    // z = (1, x_t); P z and F = z' P z + R.
    const double pz0 = p00 + p01 * xt;
    const double pz1 = p01 + p11 * xt;
    const double f = pz0 + pz1 * xt + noise;
    const double v = y[t] - a0 - a1 * xt;
    a0 += pz0 * v / f;
    a1 += pz1 * v / f;
    p00 -= pz0 * pz0 / f;
    p01 -= pz0 * pz1 / f;
    p11 -= pz1 * pz1 / f;
    if (t >= kDiffuseSteps) {
      sums.sum_scaled_sq += v * v / f;
      sums.sum_log_f += std::log(f);
      ++sums.num_terms;
    }
    if (beta) (*beta)[t] = a1;
  }
  sums.alpha = a0;
  return sums;
}

/// Log-likelihood with R concentrated out: with R = 1 and Q = ratio the filter's state path
/// is that of any (ratio R, R), and R-hat = sum(v^2 / F) / m.
double concentrated_loglik(const FilterSums& s) {
  const double m = s.num_terms;
  return -0.5 * m * (std::log(2.0 * std::numbers::pi) + 1.0 + std::log(s.sum_scaled_sq / m)) - 0.5 * s.sum_log_f;
}

double standard_deviation(const Eigen::VectorXd& v) {
  const double mean = v.mean();
  return std::sqrt((v.array() - mean).square().sum() / static_cast<double>(v.size()));
}

void require_kalman_input(const Eigen::VectorXd& y, const Eigen::VectorXd& x) {
  if (y.size() != x.size() || y.size() < kDiffuseSteps + 3)
    throw NumericalError("Kalman beta needs at least 5 paired returns (hint: widen the window)");
  if (!(standard_deviation(x) > 0.0) || !(standard_deviation(y) > 0.0))
    throw NumericalError("Kalman beta: a return series is constant (hint: check the prices for a stale series)");
}

/// The filter at ratio Q / R on standardised data, with R concentrated out, in original units.
KalmanBeta concentrated_fit(const Eigen::VectorXd& ys, const Eigen::VectorXd& xs, double ratio, double sx, double sy) {
  KalmanBeta fit;
  fit.beta_filtered.resize(ys.size());
  const FilterSums sums = run_filter(ys, xs, ratio, 1.0, &fit.beta_filtered);
  const double noise = sums.sum_scaled_sq / sums.num_terms;
  for (double& b : fit.beta_filtered) b *= sy / sx;
  fit.alpha = sums.alpha * sy;
  fit.noise_variance = noise * sy * sy;
  fit.beta_variance = ratio * noise * (sy / sx) * (sy / sx);
  // The likelihood of y, not of y / sy: the Jacobian adds -log(sy) per observation.
  fit.loglik = concentrated_loglik(sums) - sums.num_terms * std::log(sy);
  return fit;
}

}  // namespace

OlsBeta ols_beta(const Eigen::Ref<const Eigen::VectorXd>& y, const Eigen::Ref<const Eigen::VectorXd>& x) {
  const int n = static_cast<int>(y.size());
  if (n != x.size() || n < 3) throw NumericalError("OLS beta needs at least 3 paired returns (hint: widen the window)");
  const double mx = x.mean();
  const double my = y.mean();
  const double sxx = (x.array() - mx).square().sum();
  const double syy = (y.array() - my).square().sum();
  const double sxy = ((x.array() - mx) * (y.array() - my)).sum();
  if (!(sxx > 0.0)) throw NumericalError("OLS beta: the benchmark's returns are constant (hint: check its prices)");
  OlsBeta fit;
  fit.nobs = n;
  fit.beta = sxy / sxx;
  fit.alpha = my - fit.beta * mx;
  const double rss = ((y.array() - fit.alpha - fit.beta * x.array()).square()).sum();
  fit.beta_se = std::sqrt(rss / (n - 2) / sxx);
  fit.r_squared = syy > 0.0 ? 1.0 - rss / syy : 0.0;
  return fit;
}

std::vector<double> rolling_beta(const Eigen::Ref<const Eigen::VectorXd>& y, const Eigen::Ref<const Eigen::VectorXd>& x,
                                 int window) {
  std::vector<double> out;
  const int n = static_cast<int>(y.size());
  if (window < 3 || n < window) return out;
  out.reserve(static_cast<std::size_t>(n - window + 1));
  for (int end = window; end <= n; ++end) {
    const auto ys = y.segment(end - window, window);
    const auto xs = x.segment(end - window, window);
    const double mx = xs.mean();
    const double my = ys.mean();
    const double sxx = (xs.array() - mx).square().sum();
    const double sxy = ((xs.array() - mx) * (ys.array() - my)).sum();
    out.push_back(sxx > 0.0 ? sxy / sxx : std::numeric_limits<double>::quiet_NaN());
  }
  return out;
}

std::vector<double> ewma_beta(const Eigen::Ref<const Eigen::VectorXd>& y, const Eigen::Ref<const Eigen::VectorXd>& x,
                              double lambda) {
  const int n = static_cast<int>(y.size());
  std::vector<double> out(static_cast<std::size_t>(n));
  if (n == 0) return out;
  const int warmup = std::min(n, 20);
  double cov = (x.head(warmup).array() * y.head(warmup).array()).mean();
  double var = x.head(warmup).array().square().mean();
  for (int t = 0; t < n; ++t) {
    cov = lambda * cov + (1.0 - lambda) * x[t] * y[t];
    var = lambda * var + (1.0 - lambda) * x[t] * x[t];
    out[t] = var > 0.0 ? cov / var : std::numeric_limits<double>::quiet_NaN();
  }
  return out;
}

KalmanBeta kalman_beta_filter(const Eigen::Ref<const Eigen::VectorXd>& y, const Eigen::Ref<const Eigen::VectorXd>& x,
                              double beta_variance, double noise_variance) {
  require_kalman_input(y, x);
  const double sx = standard_deviation(x);
  const double sy = standard_deviation(y);
  const Eigen::VectorXd xs = x / sx;
  const Eigen::VectorXd ys = y / sy;
  // On the standardised scale beta scales by sx / sy and the noise by 1 / sy.
  const double noise = noise_variance / (sy * sy);
  const double variance = beta_variance * (sx / sy) * (sx / sy);
  KalmanBeta fit;
  fit.beta_filtered.resize(ys.size());
  const FilterSums sums = run_filter(ys, xs, variance, noise, &fit.beta_filtered);
  for (double& b : fit.beta_filtered) b *= sy / sx;
  fit.alpha = sums.alpha * sy;
  fit.noise_variance = noise_variance;
  fit.beta_variance = beta_variance;
  fit.loglik = -0.5 * (sums.num_terms * std::log(2.0 * std::numbers::pi) + sums.sum_log_f + sums.sum_scaled_sq) -
               sums.num_terms * std::log(sy);
  fit.log_ratio_se = std::numeric_limits<double>::quiet_NaN();
  return fit;
}

KalmanBeta kalman_beta_fit(const Eigen::Ref<const Eigen::VectorXd>& y, const Eigen::Ref<const Eigen::VectorXd>& x) {
  require_kalman_input(y, x);
  const double sx = standard_deviation(x);
  const double sy = standard_deviation(y);
  const Eigen::VectorXd xs = x / sx;
  const Eigen::VectorXd ys = y / sy;
  auto profile = [&](double log_ratio) {
    return concentrated_loglik(run_filter(ys, xs, std::exp(log_ratio), 1.0, nullptr));
  };

  double best = kLogRatioLow;
  double best_value = profile(best);
  for (double g = kLogRatioLow + kLogRatioGridStep; g <= kLogRatioHigh + 1e-12; g += kLogRatioGridStep) {
    const double value = profile(g);
    if (value > best_value) {
      best_value = value;
      best = g;
    }
  }
  // Golden-section search on the grid cell either side of the best grid point.
  double lo = std::max(kLogRatioLow, best - kLogRatioGridStep);
  double hi = std::min(kLogRatioHigh, best + kLogRatioGridStep);
  const double inv_phi = (std::sqrt(5.0) - 1.0) / 2.0;
  double c = hi - inv_phi * (hi - lo);
  double d = lo + inv_phi * (hi - lo);
  double fc = profile(c);
  double fd = profile(d);
  while (hi - lo > 1e-7) {
    if (fc > fd) {
      hi = d; d = c; fd = fc;
      c = hi - inv_phi * (hi - lo);
      fc = profile(c);
    } else {
      lo = c; c = d; fc = fd;
      d = lo + inv_phi * (hi - lo);
      fd = profile(d);
    }
  }
  double log_ratio = 0.5 * (lo + hi);
  if (best_value > profile(log_ratio)) log_ratio = best;

  KalmanBeta fit = concentrated_fit(ys, xs, std::exp(log_ratio), sx, sy);
  const double h = 0.05;
  const double curvature =
      (profile(log_ratio + h) - 2.0 * profile(log_ratio) + profile(log_ratio - h)) / (h * h);
  fit.log_ratio_se = curvature < 0.0 ? 1.0 / std::sqrt(-curvature) : std::numeric_limits<double>::infinity();
  return fit;
}

double regime_beta(const Eigen::MatrixXd& covariance, int asset, int benchmark) {
  return covariance(asset, benchmark) / covariance(benchmark, benchmark);
}

}  // namespace betahedge
