#include "calibration/regime_model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <numeric>
#include <random>

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <Eigen/LU>

#include "betahedge/error.hpp"
#include "io/message_text.hpp"

namespace betahedge {
namespace {

using RowRef = Eigen::Ref<Eigen::RowVectorXd, 0, Eigen::InnerStride<>>;

constexpr double kNegInf = -std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kLog2Pi = std::log(2.0 * std::numbers::pi);

constexpr double kInitialDof = 8.0;
constexpr int kMaxReseeds = 3;              ///< per start
constexpr int kVolatilityHalfWindow = 10;   ///< centred window of the volatility-quantile start
constexpr int kLloydIterations = 20;
constexpr double kPerturbation = 0.1;       ///< relative size of the perturbation of starts >= 2
constexpr int kTransitionPolishSteps = 100;

/// SplitMix64: independent, well-mixed seeds for the starts from one user seed.
std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

/// Keeps a symmetric matrix >= floor * D (Loewner order), D = diag(variances): its eigenvalues
/// in the D-standardised coordinates are clamped at `floor`. This is the exact maximiser of the
/// Gaussian M-step objective under that constraint, so EM stays monotone.
void apply_covariance_floor(Eigen::MatrixXd& scale, const Eigen::VectorXd& sd, double floor) {
  const Eigen::VectorXd inv_sd = sd.cwiseInverse();
  Eigen::MatrixXd standardised = inv_sd.asDiagonal() * scale * inv_sd.asDiagonal();
  standardised = 0.5 * (standardised + standardised.transpose());
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(standardised);
  if (eig.info() == Eigen::Success && eig.eigenvalues().minCoeff() >= floor) {
    scale = 0.5 * (scale + scale.transpose());
    return;
  }
  Eigen::VectorXd values = eig.eigenvalues().cwiseMax(floor);
  standardised = eig.eigenvectors() * values.asDiagonal() * eig.eigenvectors().transpose();
  scale = sd.asDiagonal() * standardised * sd.asDiagonal();
  scale = 0.5 * (scale + scale.transpose());
}

/// Derivative in dof of sum_t gamma_t log t_N(x_t; mean, scale, dof), given the squared
/// Mahalanobis distances delta_t under the new mean and scale.
double dof_derivative(double dof, int n, const double* gamma, const double* delta, int num_obs) {
  // d/dnu log t = 0.5 [psi((nu+N)/2) - psi(nu/2) - N/nu - log(1 + d/nu) + (nu+N) d / (nu (nu + d))]
  const double c = digamma(0.5 * (dof + n)) - digamma(0.5 * dof) - n / dof;
  double sum = 0.0;
  for (int t = 0; t < num_obs; ++t) {
    const double d = delta[t];
    sum += gamma[t] * (c - std::log1p(d / dof) + (dof + n) * d / (dof * (dof + d)));
  }
  return 0.5 * sum;
}

/// ECME step for one regime's dof: from the current value, walk uphill in growing multiplicative
/// steps (x1.01, then squared each time) to bracket the first root of the score equation, then
/// solve it by the Illinois method. Between EM iterations dof moves little, so the first
/// bracket usually holds. The score keeps its sign between the current dof and that first
/// root, so the objective never decreases there, which keeps EM monotone.
double update_dof(double dof, int n, const double* gamma, const double* delta, int num_obs, double lo, double hi) {
  dof = std::clamp(dof, lo, hi);
  const double d0 = dof_derivative(dof, n, gamma, delta, num_obs);
  if (d0 == 0.0) return dof;
  const bool up = d0 > 0.0;
  double a = dof;
  double fa = d0;
  double b = dof;
  double fb = d0;
  for (double factor = 1.01;; factor = std::min(factor * factor, 1e6)) {
    b = up ? std::min(hi, factor * a) : std::max(lo, a / factor);
    fb = dof_derivative(b, n, gamma, delta, num_obs);
    if ((fb > 0.0) != up) break;
    if (b == hi || b == lo) return b;  // still rising at the bound
    a = b;
    fa = fb;
  }
  // a: derivative has the sign of `up`; b: the other sign.
  int side = 0;
  for (int iter = 0; iter < 100 && std::abs(b - a) > 1e-9 * a; ++iter) {
    const double c = (a * fb - b * fa) / (fb - fa);
    const double fc = dof_derivative(c, n, gamma, delta, num_obs);
    if ((fc > 0.0) == up) {
      a = c;
      fa = fc;
      if (side == -1) fb *= 0.5;
      side = -1;
    } else {
      b = c;
      fb = fc;
      if (side == +1) fa *= 0.5;
      side = +1;
    }
  }
  return a;  // the uphill end: the objective there is at least that at the starting dof
}

/// Workspace of one EM run, sized once: no allocation per observation or per iteration
/// beyond K x K and N x N temporaries.
class EmRun {
 public:
  EmRun(const Eigen::MatrixXd& xt, const Eigen::VectorXd& sd, const RegimeFitOptions& options, int num_regimes)
      : xt_(xt), sd_(sd), options_(options), n_(static_cast<int>(xt.rows())), t_(static_cast<int>(xt.cols())),
        k_(num_regimes), log_b_(k_, t_), b_(k_, t_), maha_(k_, t_), alpha_(k_, t_), beta_(k_, t_), gamma_(k_, t_),
        weight_(k_, t_), scaling_(t_), xi_sum_(k_, k_), centered_(n_, t_), weighted_(n_, t_), delta_(t_), gamma_row_(t_),
        predicted_(k_), next_(k_) {}

  bool student_t() const { return options_.distribution == Distribution::student_t; }

  /// E-step: emission densities, scaled forward-backward; returns the log-likelihood
  /// (-inf when a scale matrix is not positive definite or the filter underflows).
  double e_step(const RegimeParameters& p) {
    for (int k = 0; k < k_; ++k)
      if (!emission(p, k, log_b_.row(k), maha_.row(k))) return kNegInf;
    return forward_backward(p);
  }

  /// M-step from the last E-step; returns true when it re-seeded an empty regime.
  bool m_step(RegimeParameters& p, int iteration) {
    const Eigen::VectorXd counts = gamma_.rowwise().sum();
    const double min_count = n_ + 1.0;
    // Student-t: weights gamma * u with u = (nu + N) / (nu + delta) from the E-step.
    if (student_t()) {
      for (int k = 0; k < k_; ++k)
        weight_.row(k).array() = gamma_.row(k).array() * (p.dof[k] + n_) / (p.dof[k] + maha_.row(k).array());
    } else {
      weight_ = gamma_;
    }
    Eigen::MatrixXd pooled = Eigen::MatrixXd::Zero(n_, n_);
    double pooled_count = 0.0;
    for (int k = 0; k < k_; ++k) {
      if (counts[k] < min_count) continue;  // empty: keep its parameters (zero weight in Q)
      const double w_sum = weight_.row(k).sum();
      p.mean[k] = xt_ * (weight_.row(k).transpose() / w_sum);
      centered_ = xt_.colwise() - p.mean[k];
      weighted_ = (centered_.array().rowwise() * weight_.row(k).array()).matrix();
      // Divide by sum(gamma), not sum(gamma u): the t M-step of McLachlan and Peel (2000, 7.5).
      Eigen::MatrixXd scatter = weighted_ * centered_.transpose() / counts[k];
      if (options_.shared_covariance) {
        pooled += counts[k] * scatter;
        pooled_count += counts[k];
      } else {
        apply_covariance_floor(scatter, sd_, options_.covariance_floor);
        p.scale[k] = scatter;
      }
    }
    if (options_.shared_covariance && pooled_count > 0.0) {
      pooled /= pooled_count;
      apply_covariance_floor(pooled, sd_, options_.covariance_floor);
      for (int k = 0; k < k_; ++k) p.scale[k] = pooled;
    }
    if (student_t()) {
      for (int k = 0; k < k_; ++k) {
        if (counts[k] < min_count) continue;
        // The dof step uses the distances under the new mean and scale (ECME, Liu and Rubin 1995).
        Eigen::Map<Eigen::RowVectorXd> delta(delta_.data(), t_);
        if (!mahalanobis(p.mean[k], p.scale[k], delta)) continue;
        gamma_row_ = gamma_.row(k).transpose();
        p.dof[k] = update_dof(p.dof[k], n_, gamma_row_.data(), delta_.data(), t_, options_.min_dof, options_.max_dof);
      }
    }
    update_transition(p);
    return reseed_empty_regimes(p, counts, min_count, iteration);
  }

  RegimeFilter filter_output(double loglik) const {
    RegimeFilter f;
    f.loglik = loglik;
    f.filtered = alpha_.transpose();
    f.smoothed = gamma_.transpose();
    return f;
  }

  int reseeds_left = kMaxReseeds;

 private:
  /// Squared Mahalanobis distances of every observation under (mean, scale), and log|scale|.
  bool mahalanobis(const Eigen::VectorXd& mean, const Eigen::MatrixXd& scale, RowRef out,
                   double* log_det = nullptr) {
    llt_.compute(scale);
    if (llt_.info() != Eigen::Success) return false;
    centered_ = xt_.colwise() - mean;
    llt_.matrixL().solveInPlace(centered_);
    out = centered_.colwise().squaredNorm();
    if (log_det) *log_det = 2.0 * llt_.matrixLLT().diagonal().array().log().sum();
    return true;
  }

  bool emission(const RegimeParameters& p, int k, RowRef log_b, RowRef maha) {
    double log_det = 0.0;
    if (!mahalanobis(p.mean[k], p.scale[k], maha, &log_det) || !std::isfinite(log_det)) return false;
    if (student_t()) {
      const double nu = p.dof[k];
      const double c = std::lgamma(0.5 * (nu + n_)) - std::lgamma(0.5 * nu) -
                       0.5 * n_ * std::log(nu * std::numbers::pi) - 0.5 * log_det;
      log_b.array() = c - 0.5 * (nu + n_) * (maha.array() / nu).log1p();
    } else {
      log_b.array() = -0.5 * (n_ * kLog2Pi + log_det) - 0.5 * maha.array();
    }
    return true;
  }

  /// Scaled forward-backward (Rabiner 1989): alpha_t normalised to sum one, c_t the scale.
  double forward_backward(const RegimeParameters& p) {
    const Eigen::MatrixXd& a = p.transition;
    double loglik = 0.0;
    for (int t = 0; t < t_; ++t) {
      const double m = log_b_.col(t).maxCoeff();
      b_.col(t).array() = (log_b_.col(t).array() - m).exp();
      if (t == 0) predicted_ = p.initial;
      else predicted_.noalias() = a.transpose() * alpha_.col(t - 1);
      alpha_.col(t) = predicted_.cwiseProduct(b_.col(t));
      const double c = alpha_.col(t).sum();
      if (!(c > 0.0) || !std::isfinite(c)) return kNegInf;
      alpha_.col(t) /= c;
      scaling_[t] = c;
      loglik += std::log(c) + m;
    }
    xi_sum_.setZero();
    beta_.col(t_ - 1).setOnes();
    for (int t = t_ - 2; t >= 0; --t) {
      next_ = b_.col(t + 1).cwiseProduct(beta_.col(t + 1)) / scaling_[t + 1];
      beta_.col(t).noalias() = a * next_;
      xi_sum_.noalias() += alpha_.col(t) * next_.transpose();
    }
    xi_sum_ = xi_sum_.cwiseProduct(a);
    gamma_ = alpha_.cwiseProduct(beta_);
    for (int t = 0; t < t_; ++t) gamma_.col(t) /= gamma_.col(t).sum();
    return loglik;
  }

  /// Transition M-step. Estimated initial distribution: the closed form n_ij / n_i and
  /// initial = gamma_1. Stationary: the objective gains sum_k gamma_1k log pi_k(A), which has no
  /// closed form; it is maximised from n_ij / n_i by diagonal-Newton ascent in row logits, and
  /// the result is kept only if it beats the previous A (a generalised EM step).
  void update_transition(RegimeParameters& p) {
    Eigen::MatrixXd counts_matrix = xi_sum_;
    Eigen::MatrixXd closed_form = p.transition;
    for (int i = 0; i < k_; ++i) {
      const double row = counts_matrix.row(i).sum();
      if (row > 0.0) closed_form.row(i) = counts_matrix.row(i) / row;
    }
    if (options_.initial == InitialDistribution::estimated) {
      p.transition = closed_form;
      p.initial = gamma_.col(0);
      return;
    }
    const Eigen::VectorXd g = gamma_.col(0);
    auto objective = [&](const Eigen::MatrixXd& a) {
      double value = 0.0;
      for (int i = 0; i < k_; ++i)
        for (int j = 0; j < k_; ++j)
          if (counts_matrix(i, j) > 0.0) value += counts_matrix(i, j) * std::log(a(i, j));
      const Eigen::VectorXd pi = stationary_distribution(a);
      for (int k = 0; k < k_; ++k)
        if (g[k] > 0.0) value += g[k] * std::log(pi[k]);
      return std::isnan(value) ? kNegInf : value;
    };
    Eigen::MatrixXd a = closed_form;
    double value = objective(a);
    const Eigen::VectorXd row_counts = counts_matrix.rowwise().sum();
    for (int step = 0; step < kTransitionPolishSteps && k_ > 1; ++step) {
      const Eigen::VectorXd pi = stationary_distribution(a);
      if (pi.minCoeff() <= 0.0) break;
      // d pi_k / d A_ij = pi_i Z_jk with Z = (I - A + 1 pi')^-1 (the fundamental matrix).
      const Eigen::MatrixXd z =
          (Eigen::MatrixXd::Identity(k_, k_) - a + Eigen::VectorXd::Ones(k_) * pi.transpose()).inverse();
      const Eigen::VectorXd h = z * g.cwiseQuotient(pi);
      Eigen::MatrixXd grad(k_, k_);  // d objective / d logit_ij
      for (int i = 0; i < k_; ++i) {
        Eigen::RowVectorXd hij = counts_matrix.row(i) + a.row(i).cwiseProduct(pi[i] * h.transpose());
        grad.row(i) = hij - a.row(i) * hij.sum();
      }
      if (grad.cwiseAbs().maxCoeff() < 1e-12 * std::max(1.0, row_counts.maxCoeff())) break;
      double step_size = 1.0;
      double gain = 0.0;
      for (int halving = 0; halving < 30; ++halving, step_size *= 0.5) {
        Eigen::MatrixXd trial = a;
        for (int i = 0; i < k_; ++i) {
          for (int j = 0; j < k_; ++j) {
            if (a(i, j) <= 0.0) continue;  // structural zeros stay zero
            const double curvature = row_counts[i] * a(i, j) * (1.0 - a(i, j)) + 1e-12;
            trial(i, j) = a(i, j) * std::exp(std::clamp(step_size * grad(i, j) / curvature, -5.0, 5.0));
          }
          trial.row(i) /= trial.row(i).sum();
        }
        const double trial_value = objective(trial);
        if (trial_value > value) {
          gain = trial_value - value;
          a = trial;
          value = trial_value;
          break;
        }
      }
      if (!(gain > 1e-15 * std::abs(value))) break;
    }
    if (value >= objective(p.transition)) p.transition = a;
    p.initial = stationary_distribution(p.transition);
  }

  /// An empty regime (fewer than N + 1 effective observations) is moved onto the observation
  /// worst explained by every regime, with the pooled covariance; at most kMaxReseeds times,
  /// and only in the first half of the iteration budget so the tail of EM is monotone.
  bool reseed_empty_regimes(RegimeParameters& p, const Eigen::VectorXd& counts, double min_count, int iteration) {
    bool reseeded = false;
    for (int k = 0; k < k_; ++k) {
      if (counts[k] >= min_count || reseeds_left <= 0 || 2 * iteration >= options_.max_iterations) continue;
      Eigen::Index worst = 0;
      maha_.colwise().minCoeff().maxCoeff(&worst);
      p.mean[k] = xt_.col(worst);
      Eigen::MatrixXd pooled = Eigen::MatrixXd::Zero(n_, n_);
      for (int j = 0; j < k_; ++j) pooled += counts[j] / t_ * p.scale[j];
      apply_covariance_floor(pooled, sd_, options_.covariance_floor);
      p.scale[k] = pooled;
      if (student_t()) p.dof[k] = kInitialDof;
      const double off = 0.1 / std::max(1, k_ - 1);
      for (int i = 0; i < k_; ++i) {
        p.transition(i, k) = std::max(p.transition(i, k), i == k ? 0.9 : off);
        p.transition.row(i) /= p.transition.row(i).sum();
      }
      p.initial = options_.initial == InitialDistribution::stationary ? stationary_distribution(p.transition)
                                                                      : Eigen::VectorXd(p.initial);
      --reseeds_left;
      reseeded = true;
    }
    return reseeded;
  }

  const Eigen::MatrixXd& xt_;  // [N x T]
  const Eigen::VectorXd& sd_;  // [N] sample standard deviations
  const RegimeFitOptions& options_;
  const int n_, t_, k_;
  Eigen::MatrixXd log_b_, b_, maha_, alpha_, beta_, gamma_, weight_;  // [K x T]
  Eigen::VectorXd scaling_;                                          // [T]
  Eigen::MatrixXd xi_sum_;                                           // [K x K]
  Eigen::MatrixXd centered_, weighted_;                              // [N x T]
  Eigen::VectorXd delta_, gamma_row_;                                // [T]
  Eigen::VectorXd predicted_, next_;                                 // [K]
  Eigen::LLT<Eigen::MatrixXd> llt_;
};

struct StartResult {
  RegimeParameters params;
  RegimeFilter filter;
  int iterations = 0;
  bool converged = false;
  std::vector<double> trace;
  std::vector<int> reseeded_at;
  bool ok = false;
};

StartResult run_em(const Eigen::MatrixXd& xt, const Eigen::VectorXd& sd, RegimeParameters params,
                   const RegimeFitOptions& options) {
  StartResult result;
  EmRun em(xt, sd, options, params.num_regimes());
  double previous = kNegInf;
  bool just_reseeded = false;
  int iteration = 0;
  double loglik = kNegInf;
  for (;; ++iteration) {
    loglik = em.e_step(params);
    if (!std::isfinite(loglik)) return result;
    result.trace.push_back(loglik);
    if (iteration > 0 && !just_reseeded && std::abs(loglik - previous) <= options.tolerance * std::abs(loglik)) {
      result.converged = true;
      break;
    }
    if (iteration == options.max_iterations) break;
    previous = loglik;
    just_reseeded = em.m_step(params, iteration);
    if (just_reseeded) result.reseeded_at.push_back(iteration);
  }
  result.iterations = iteration;
  result.filter = em.filter_output(loglik);
  result.params = std::move(params);
  result.ok = true;
  return result;
}

Eigen::MatrixXd sample_covariance(const Eigen::MatrixXd& x) {
  const Eigen::MatrixXd centered = x.rowwise() - x.colwise().mean();
  return centered.transpose() * centered / static_cast<double>(x.rows());
}

/// Parameters from a hard assignment of observations to regimes.
RegimeParameters parameters_from_labels(const Eigen::MatrixXd& x, const std::vector<int>& labels, int num_regimes,
                                        const Eigen::VectorXd& sd, const RegimeFitOptions& options) {
  const int t_count = static_cast<int>(x.rows());
  const int n = static_cast<int>(x.cols());
  RegimeParameters p;
  const Eigen::MatrixXd overall = sample_covariance(x);
  const Eigen::VectorXd overall_mean = x.colwise().mean().transpose();
  Eigen::MatrixXd pooled = Eigen::MatrixXd::Zero(n, n);
  for (int k = 0; k < num_regimes; ++k) {
    std::vector<int> rows;
    for (int t = 0; t < t_count; ++t)
      if (labels[t] == k) rows.push_back(t);
    Eigen::MatrixXd member(static_cast<Eigen::Index>(rows.size()), n);
    for (std::size_t r = 0; r < rows.size(); ++r) member.row(static_cast<Eigen::Index>(r)) = x.row(rows[r]);
    if (static_cast<int>(rows.size()) >= n + 1) {
      p.mean.push_back(member.colwise().mean().transpose());
      p.scale.push_back(sample_covariance(member));
    } else {
      p.mean.push_back(rows.empty() ? overall_mean : Eigen::VectorXd(member.colwise().mean().transpose()));
      p.scale.push_back(overall);
    }
    pooled += static_cast<double>(rows.size()) / t_count * p.scale.back();
  }
  for (int k = 0; k < num_regimes; ++k) {
    if (options.shared_covariance) p.scale[k] = pooled;
    apply_covariance_floor(p.scale[k], sd, options.covariance_floor);
  }
  // Transitions from the label sequence, with one pseudo-count per cell.
  p.transition = Eigen::MatrixXd::Ones(num_regimes, num_regimes);
  for (int t = 1; t < t_count; ++t) p.transition(labels[t - 1], labels[t]) += 1.0;
  for (int i = 0; i < num_regimes; ++i) p.transition.row(i) /= p.transition.row(i).sum();
  p.initial = options.initial == InitialDistribution::stationary
                  ? stationary_distribution(p.transition)
                  : Eigen::VectorXd(Eigen::VectorXd::Constant(num_regimes, 1.0 / num_regimes));
  if (options.distribution == Distribution::student_t) {
    p.dof.assign(num_regimes, kInitialDof);
    // Start from the t scale whose covariance matches the labelled sample.
    for (auto& s : p.scale) s *= (kInitialDof - 2.0) / kInitialDof;
  }
  return p;
}

/// Volatility-quantile start: rank each day by the volatility of `column` over a centred
/// window and cut the ranks into K equal groups, calmest first.
std::vector<int> volatility_quantile_labels(const Eigen::MatrixXd& x, int column, int num_regimes) {
  const int t_count = static_cast<int>(x.rows());
  const Eigen::VectorXd v = x.col(column).array() - x.col(column).mean();
  std::vector<double> local(static_cast<std::size_t>(t_count));
  for (int t = 0; t < t_count; ++t) {
    const int lo = std::max(0, t - kVolatilityHalfWindow);
    const int hi = std::min(t_count - 1, t + kVolatilityHalfWindow);
    local[t] = v.segment(lo, hi - lo + 1).squaredNorm() / (hi - lo + 1);
  }
  std::vector<int> order(static_cast<std::size_t>(t_count));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return local[a] < local[b]; });
  std::vector<int> labels(static_cast<std::size_t>(t_count));
  for (int r = 0; r < t_count; ++r)
    labels[order[r]] = std::min(num_regimes - 1, static_cast<int>(static_cast<long long>(r) * num_regimes / t_count));
  return labels;
}

/// k-means++ seeding (Arthur and Vassilvitskii 2007) and Lloyd iterations on standardised data.
std::vector<int> kmeans_labels(const Eigen::MatrixXd& x, const Eigen::VectorXd& sd, int num_regimes,
                               std::mt19937_64& rng) {
  const int t_count = static_cast<int>(x.rows());
  const Eigen::MatrixXd z = (x.rowwise() - x.colwise().mean()) * sd.cwiseInverse().asDiagonal();
  Eigen::MatrixXd centers(num_regimes, z.cols());
  std::uniform_int_distribution<int> pick(0, t_count - 1);
  centers.row(0) = z.row(pick(rng));
  Eigen::VectorXd nearest = (z.rowwise() - centers.row(0)).rowwise().squaredNorm();
  for (int k = 1; k < num_regimes; ++k) {
    std::discrete_distribution<int> weighted(nearest.data(), nearest.data() + t_count);
    centers.row(k) = z.row(weighted(rng));
    nearest = nearest.cwiseMin((z.rowwise() - centers.row(k)).rowwise().squaredNorm());
  }
  std::vector<int> labels(static_cast<std::size_t>(t_count), 0);
  for (int iter = 0; iter < kLloydIterations; ++iter) {
    bool changed = false;
    for (int t = 0; t < t_count; ++t) {
      Eigen::Index best = 0;
      (centers.rowwise() - z.row(t)).rowwise().squaredNorm().minCoeff(&best);
      changed = changed || labels[t] != static_cast<int>(best);
      labels[t] = static_cast<int>(best);
    }
    if (!changed && iter > 0) break;
    for (int k = 0; k < num_regimes; ++k) {
      Eigen::RowVectorXd sum = Eigen::RowVectorXd::Zero(z.cols());
      int count = 0;
      for (int t = 0; t < t_count; ++t)
        if (labels[t] == k) {
          sum += z.row(t);
          ++count;
        }
      if (count > 0) centers.row(k) = sum / count;
    }
  }
  return labels;
}

void perturb(RegimeParameters& p, const Eigen::VectorXd& sd, const RegimeFitOptions& options, std::mt19937_64& rng) {
  std::normal_distribution<double> normal;
  const int n = static_cast<int>(sd.size());
  const int k_count = p.num_regimes();
  for (int k = 0; k < k_count; ++k) {
    for (int i = 0; i < n; ++i) p.mean[k][i] += kPerturbation * sd[i] * normal(rng);
    Eigen::VectorXd factor(n);
    for (int i = 0; i < n; ++i) factor[i] = std::exp(kPerturbation * normal(rng));
    if (!options.shared_covariance) p.scale[k] = factor.asDiagonal() * p.scale[k] * factor.asDiagonal();
    apply_covariance_floor(p.scale[k], sd, options.covariance_floor);
    if (!p.dof.empty())
      p.dof[k] = std::clamp(p.dof[k] * std::exp(2.0 * kPerturbation * normal(rng)), options.min_dof, options.max_dof);
  }
  for (int i = 0; i < k_count; ++i) {
    for (int j = 0; j < k_count; ++j) p.transition(i, j) *= std::exp(2.0 * kPerturbation * normal(rng));
    p.transition.row(i) /= p.transition.row(i).sum();
  }
  if (options.initial == InitialDistribution::stationary) p.initial = stationary_distribution(p.transition);
}

/// Start s: even s from volatility quantiles, odd s from k-means++; s >= 2 perturbed.
RegimeParameters starting_parameters(const Eigen::MatrixXd& x, const Eigen::VectorXd& sd, int start,
                                     const RegimeFitOptions& options) {
  std::mt19937_64 rng(splitmix64(options.seed ^ splitmix64(static_cast<std::uint64_t>(start))));
  const std::vector<int> labels = start % 2 == 0
                                      ? volatility_quantile_labels(x, options.volatility_column, options.num_regimes)
                                      : kmeans_labels(x, sd, options.num_regimes, rng);
  RegimeParameters p = parameters_from_labels(x, labels, options.num_regimes, sd, options);
  if (start >= 2) perturb(p, sd, options, rng);
  return p;
}

RegimeFit assemble(const std::vector<StartResult>& starts, int num_obs, int num_assets,
                   const RegimeFitOptions& options) {
  RegimeFit fit;
  int best = -1;
  for (int s = 0; s < static_cast<int>(starts.size()); ++s) {
    fit.start_logliks.push_back(starts[s].ok ? starts[s].filter.loglik : kNaN);
    if (starts[s].ok && (best < 0 || starts[s].filter.loglik > starts[best].filter.loglik)) best = s;
  }
  if (best < 0)
    throw NumericalError("regime model: every EM start failed (a covariance lost positive definiteness or the "
                         "filter underflowed); hint: use fewer --regimes, fewer assets or a longer window");
  const StartResult& r = starts[best];
  fit.params = r.params;
  fit.filter = r.filter;
  fit.iterations = r.iterations;
  fit.converged = r.converged;
  fit.best_start = best;
  fit.loglik_trace = r.trace;
  fit.reseeded_at = r.reseeded_at;
  fit.num_parameters = count_parameters(r.params.num_regimes(), num_assets, options);
  fit.aic = -2.0 * fit.filter.loglik + 2.0 * fit.num_parameters;
  fit.bic = -2.0 * fit.filter.loglik + fit.num_parameters * std::log(static_cast<double>(num_obs));
  return fit;
}

void check_inputs(const Eigen::MatrixXd& x, const RegimeFitOptions& options) {
  if (options.num_regimes < 1 || options.num_regimes > kMaxRegimes)
    throw InputError("--regimes must be 1.." + std::to_string(kMaxRegimes));
  if (x.rows() < 2 || x.cols() < 1) throw InputError("regime model: need at least two observations");
  if (!x.allFinite()) throw NumericalError("regime model: observations are not all finite (hint: check the prices)");
  if (options.volatility_column < 0 || options.volatility_column >= x.cols())
    throw InputError("regime model: volatility column out of range");
}

/// Per-column sample standard deviations; a column that does not move is an error naming it
/// (by `names[i]` when given). Calibration rejects a price that does not move first
/// (require_moving_prices): this is the net for other callers and other flat series.
Eigen::VectorXd sample_sd(const Eigen::MatrixXd& x, const std::vector<std::string>& names) {
  Eigen::VectorXd sd = sample_covariance(x).diagonal().cwiseSqrt();
  for (int i = 0; i < sd.size(); ++i) {
    if (sd[i] > 0.0) continue;
    const std::string column = i < static_cast<int>(names.size())
                                   ? "asset '" + clip_for_message(names[i]) + "'"
                                   : "column " + std::to_string(i);
    throw NumericalError("regime model: " + column + " does not move (zero variance); hint: drop that asset");
  }
  return sd;
}

}  // namespace

Eigen::MatrixXd RegimeParameters::covariance(int k) const {
  if (dof.empty()) return scale[k];
  return scale[k] * (dof[k] / (dof[k] - 2.0));
}

double digamma(double x) {
  // Recurrence psi(x) = psi(x + 1) - 1 / x up to x >= 10, then the asymptotic series
  // (truncation error below 691 / (32760 x^12) = 2e-14).
  double result = 0.0;
  while (x < 10.0) {
    result -= 1.0 / x;
    x += 1.0;
  }
  const double f = 1.0 / (x * x);
  return result + std::log(x) - 0.5 / x -
         f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f * (1.0 / 132)))));
}

Eigen::VectorXd stationary_distribution(const Eigen::MatrixXd& transition) {
  const int k = static_cast<int>(transition.rows());
  // Solve pi' (I - A) = 0 with sum(pi) = 1: replace one equation by the normalisation.
  Eigen::MatrixXd system = Eigen::MatrixXd::Identity(k, k) - transition.transpose();
  system.row(k - 1).setOnes();
  Eigen::VectorXd rhs = Eigen::VectorXd::Zero(k);
  rhs[k - 1] = 1.0;
  Eigen::FullPivLU<Eigen::MatrixXd> lu(system);
  Eigen::VectorXd pi;
  if (lu.isInvertible()) {
    pi = lu.solve(rhs);
  } else {
    // Reducible chain: the limit of the lazy chain (A + I) / 2 from the uniform distribution.
    pi = Eigen::VectorXd::Constant(k, 1.0 / k);
    const Eigen::MatrixXd lazy = 0.5 * (transition + Eigen::MatrixXd::Identity(k, k));
    for (int i = 0; i < 100000; ++i) pi = lazy.transpose() * pi;
  }
  pi = pi.cwiseMax(0.0);
  return pi / pi.sum();
}

int count_parameters(int num_regimes, int num_assets, const RegimeFitOptions& options) {
  const int k = num_regimes;
  const int n = num_assets;
  int count = k * n + (options.shared_covariance ? 1 : k) * n * (n + 1) / 2 + k * (k - 1);
  if (options.initial == InitialDistribution::estimated) count += k - 1;
  if (options.distribution == Distribution::student_t) count += k;
  return count;
}

RegimeFilter filter_regimes(const Eigen::MatrixXd& observations, const RegimeParameters& params,
                            Distribution distribution) {
  RegimeFitOptions options;
  options.distribution = distribution;
  const Eigen::MatrixXd xt = observations.transpose();
  // The sample deviations only floor the M-step's covariances, and a filter takes no M-step: a
  // window of one return (a one-day replay, a backtest's realised day) has none and needs none.
  const Eigen::VectorXd sd = Eigen::VectorXd::Ones(observations.cols());
  EmRun em(xt, sd, options, params.num_regimes());
  const double loglik = em.e_step(params);
  if (!std::isfinite(loglik))
    throw NumericalError("regime filter: log-likelihood is not finite at these parameters");
  return em.filter_output(loglik);
}

RegimeFit fit_regime_model_from(const Eigen::MatrixXd& observations, const RegimeParameters& start,
                                const RegimeFitOptions& options) {
  check_inputs(observations, options);
  const Eigen::MatrixXd xt = observations.transpose();
  const Eigen::VectorXd sd = sample_sd(observations, options.column_names);
  std::vector<StartResult> starts;
  starts.push_back(run_em(xt, sd, start, options));
  return assemble(starts, static_cast<int>(observations.rows()), static_cast<int>(observations.cols()), options);
}

RegimeFit fit_regime_model(const Eigen::MatrixXd& observations, const RegimeFitOptions& options) {
  check_inputs(observations, options);
  if (options.num_starts < 1) throw InputError("--starts must be at least 1");
  const Eigen::MatrixXd xt = observations.transpose();
  const Eigen::VectorXd sd = sample_sd(observations, options.column_names);
  // One regime has one likelihood maximum: every start would find it.
  const int num_starts = options.num_regimes == 1 ? 1 : options.num_starts;
  std::vector<StartResult> starts(static_cast<std::size_t>(num_starts));
  // Each start depends only on (seed, start index): the result is the same for any thread count.
#pragma omp parallel for schedule(dynamic, 1)
  for (int s = 0; s < num_starts; ++s) {
    try {
      starts[s] = run_em(xt, sd, starting_parameters(observations, sd, s, options), options);
    } catch (const std::exception&) {
      starts[s].ok = false;  // a failed start is reported as NaN and skipped
    }
  }
  return assemble(starts, static_cast<int>(observations.rows()), static_cast<int>(observations.cols()), options);
}

void order_regimes_by_volatility(RegimeFit& fit, int column) {
  RegimeParameters& p = fit.params;
  const int k_count = p.num_regimes();
  std::vector<int> order(static_cast<std::size_t>(k_count));
  std::iota(order.begin(), order.end(), 0);
  std::vector<double> variance(static_cast<std::size_t>(k_count));
  for (int k = 0; k < k_count; ++k) variance[k] = p.covariance(k)(column, column);
  // Equal variances (a shared covariance) are ordered by the column's mean instead.
  auto calmer = [&](int a, int b) {
    if (std::abs(variance[a] - variance[b]) > 1e-12 * std::max(variance[a], variance[b])) return variance[a] < variance[b];
    return p.mean[a][column] < p.mean[b][column];
  };
  std::stable_sort(order.begin(), order.end(), calmer);
  RegimeParameters q = p;
  RegimeFilter f = fit.filter;
  for (int i = 0; i < k_count; ++i) {
    q.mean[i] = p.mean[order[i]];
    q.scale[i] = p.scale[order[i]];
    if (!p.dof.empty()) q.dof[i] = p.dof[order[i]];
    q.initial[i] = p.initial[order[i]];
    for (int j = 0; j < k_count; ++j) q.transition(i, j) = p.transition(order[i], order[j]);
    f.filtered.col(i) = fit.filter.filtered.col(order[i]);
    f.smoothed.col(i) = fit.filter.smoothed.col(order[i]);
  }
  fit.params = std::move(q);
  fit.filter = std::move(f);
}

}  // namespace betahedge
