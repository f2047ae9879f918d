#pragma once
/// The optimal static hedge of several legs (issue 13): the ratio vector r, one ratio per leg,
/// from per-path columns that a pass records alongside its outcomes.
///
/// Per path: u = the unhedged P&L, and per leg l the static hedge of that leg alone at ratio +1,
/// no margin action, split in two: m_l = its marks and funding, k_l = its costs (>= 0). Marks and
/// funding are linear in the units and every cost is a rate times |units|, so the static hedge at
/// ratio vector r (no margin calls) has the hedged P&L
///     p(r) = u + sum_l ( r_l m_l - |r_l| k_l ),    loss L(r) = -p(r).
/// With x_l = m_l - k_l (the leg at ratio +1), p(r) = u + r.x for r >= 0.
///
/// Two reductions of the columns, both the same bit for bit for any batch, thread or rank split:
/// - HedgeMoments: exact sums of the moments of z = (u, x_1..x_L) up to the fourth order,
///   reduced like outcome_reduction.hpp (kReductionBlock blocks summed in path order, then
///   ExactSum). Bounded memory. Gives the min-variance vector and its standard errors.
/// - HedgeRows: the rows (u, m_l, k_l) of the first `capacity` path ids. Gives ES and VaR at any
///   vector with the engine's estimator (risk_statistics.hpp), the min-ES vector and ES surfaces.
///   Those figures are of the first min(paths, capacity) paths: equal to a run's when the run has
///   no more paths than that.
#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "config/book_config.hpp"
#include "stats/exact_sum.hpp"
#include "stats/risk_statistics.hpp"

namespace betahedge {

/// Exact sums over paths of the monomials of degree 1 to 4 in z = (u, x_1, .., x_L),
/// x_l = m_l - k_l: (L + 1 + 4 choose 4) - 1 sums (125 for four legs).
class HedgeMoments {
 public:
  explicit HedgeMoments(int legs);

  /// Adds paths first_path + i, i in [0, count): u[i], and per leg l m[l][i] and k[l][i]
  /// (k == nullptr: no costs). first_path must be a multiple of kReductionBlock, and every batch
  /// but the run's last must hold a whole number of blocks (as the engine's batches do).
  void add(std::uint64_t first_path, std::uint64_t count, const double* u, const double* const* m,
           const double* const* k);
  /// Adds another reduction of other path ids (another rank's, another thread's).
  void merge(const HedgeMoments& other);

  int legs() const { return legs_; }
  std::uint64_t paths() const { return paths_; }
  /// The exact sum of z_{i_1} .. z_{i_d} over the paths, 1 <= d <= 4, variable 0 = u and
  /// variable 1 + l = x_l, indices in any order.
  const ExactSum& sum(std::initializer_list<int> variables) const;

  /// The state as bytes (to gather ranks' reductions) and back.
  std::string encode() const;
  static HedgeMoments decode(const std::string& bytes);

 private:
  int legs_ = 0;
  std::uint64_t paths_ = 0;
  std::vector<ExactSum> sums_;  ///< one per monomial, in monomial_list order
};

/// How well Sigma_xx (the legs' covariance) determines the vector, from the condition number
/// kappa of the legs' correlation matrix.
enum class HedgeSystem {
  regular,          ///< kappa <= kIllConditionedHedge
  ill_conditioned,  ///< kIllConditionedHedge < kappa <= kSingularHedge: nearly collinear legs;
                    ///< the vector is solved, but its components trade off against each other
                    ///< (look at the standard errors)
  singular,         ///< kappa > kSingularHedge or a leg with zero variance (e.g. two identical
                    ///< legs): the variance has a line of minimisers, no one vector
};
/// kappa = (1 + rho) / (1 - rho) for two legs of correlation rho: 1e6 is rho = 0.999998.
inline constexpr double kIllConditionedHedge = 1e6;
/// Beyond it Sigma_xx is singular to the precision of its sums (about 1e-16 of its largest
/// eigenvalue).
inline constexpr double kSingularHedge = 1e12;

/// The min-variance vector r* = -Sigma_xx^{-1} Sigma_xu: the r minimising Var p(r) when r >= 0
/// (costs counted at ratio +1, as the one-leg optimiser does; a negative component is where the
/// formula would short a leg's costs and is then not the exact minimiser).
struct MinVarianceHedge {
  HedgeSystem system = HedgeSystem::regular;
  double condition_number = 0.0;  ///< of the legs' correlation matrix (inf with a zero-variance leg)
  /// regular, ill_conditioned: r*. singular: the pseudo-inverse minimiser in correlation units
  /// (the variance minimiser nearest 0 in those units; e.g. identical legs share equally), and a
  /// leg of zero variance gets 0.
  std::vector<double> ratios;
  /// Heteroskedasticity-robust (sandwich, HC0) standard errors of the ratios:
  /// Cov(r*) = Sigma_xx^{-1} E[x~ x~' e^2] Sigma_xx^{-1} / n, x~ = x - E x, e = u~ + r*.x~ the
  /// hedged residual, from the fourth-order moments. NaN when singular (not identified).
  std::vector<double> standard_errors;
  std::vector<double> covariance;  ///< that covariance, L x L row-major (NaN when singular)
  double unhedged_variance = 0.0;  ///< Var u, n - 1 divisor
  double hedged_variance = 0.0;    ///< Var p(r*) = Var(u + r*.x), n - 1 divisor
  double hedge_effectiveness = 0.0;  ///< 1 - hedged / unhedged variance (0 when Var u = 0)
};

/// From the moments' sums in extended precision. For one leg the ratio is the one-leg
/// optimiser's closed form bit for bit, -Cov(u, x) / Var(x) as risk_job.cpp evaluates it from
/// the same sums. Needs at least 2 paths (NumericalError).
MinVarianceHedge min_variance_vector(const HedgeMoments& moments);

/// The rows (u, m_l, k_l) of the path ids [0, capacity): a prefix of the run, so the same rows
/// for any batch or rank split. Memory (1 + 2 L) x 8 bytes per row (72 MiB for 2^20 rows of
/// four legs).
class HedgeRows {
 public:
  static constexpr std::uint64_t kDefaultCapacity = std::uint64_t{1} << 20;
  explicit HedgeRows(int legs, std::uint64_t capacity = kDefaultCapacity);

  /// Keeps the paths of first_path + [0, count) below capacity (k == nullptr: no costs). Any
  /// first_path; a path id already held is a bug (std::logic_error).
  void add(std::uint64_t first_path, std::uint64_t count, const double* u, const double* const* m,
           const double* const* k);
  /// Adds another keeper's rows (other path ids; the same legs and capacity).
  void merge(const HedgeRows& other);

  int legs() const { return legs_; }
  std::uint64_t capacity() const { return capacity_; }
  /// The number of rows: the held path ids must be [0, paths()) (std::logic_error if a gap is
  /// left, e.g. a rank's rows not merged yet).
  std::uint64_t paths() const;
  const double* unhedged() const { return columns_[0].data(); }
  const double* marks(int leg) const { return columns_[1 + leg].data(); }
  const double* costs(int leg) const { return columns_[1 + legs_ + leg].data(); }

  std::string encode() const;
  static HedgeRows decode(const std::string& bytes);

 private:
  void hold(std::uint64_t begin, std::uint64_t end);
  int legs_ = 0;
  std::uint64_t capacity_ = 0;
  std::vector<std::vector<double>> columns_;  ///< u, m_1..m_L, k_1..k_L, indexed by path id
  std::vector<std::pair<std::uint64_t, std::uint64_t>> held_;  ///< [begin, end) held, sorted, disjoint
};

/// The losses L_i(r) = -(u_i + sum_l (r_l m_li - |r_l| k_li)), legs added in order.
std::vector<double> hedged_losses(const HedgeRows& rows, const std::vector<double>& ratios);
/// VaR and ES at level a of the rows' hedged loss at `ratios`, the engine's estimator
/// (var_rank, expected_shortfall): bit for bit what estimate_pnl_statistics gives on the same losses.
double hedged_var(const HedgeRows& rows, const std::vector<double>& ratios, double level);
double hedged_es(const HedgeRows& rows, const std::vector<double>& ratios, double level);
/// Every figure the engine reports for the hedged P&L (mean, stdev, VaR, ES, their standard errors).
PnlStatistics hedged_statistics(const HedgeRows& rows, const std::vector<double>& ratios,
                                const std::vector<RiskLevel>& levels);

/// Where a component of the min-ES vector lies in its box.
enum class BoxSide { interior, lower, upper };

struct MinEsHedge {
  std::vector<double> ratios;
  double es = 0.0;                 ///< hedged_es at `ratios`
  /// A certified lower bound on the least ES over the box (its LP dual, below): the optimum lies
  /// in [lower_bound, es].
  double lower_bound = 0.0;
  double tolerance = 0.0;          ///< the absolute gap asked for
  bool converged = false;          ///< es - lower_bound <= tolerance
  std::vector<BoxSide> side;       ///< per leg
  bool on_edge = false;            ///< some component at its box bound (with lower < upper)
  int newton_steps = 0;
};

/// The r in the box [lower_l, upper_l] (finite, lower_l <= upper_l; lower_l = upper_l fixes the
/// leg) minimising ES_level of the rows' hedged loss, the engine's estimator (0 < level < 1).
///
/// Problem: L_i(r) is convex in r (k >= 0), and ES is the Rockafellar-Uryasev minimum
///     ES(r) = min_alpha alpha + sum_i (L_i(r) - alpha)+ / (n (1 - a)),
/// exactly the engine's estimator, so ES is convex and piecewise linear in r. A leg whose box
/// holds both signs and which has costs is split, r_l = r_l+ - r_l- with both parts >= 0 and
/// costs (r_l+ + r_l-) k_l (exact at the optimum), so that the losses are affine in the
/// variables (at most 2 L + 1 of them with alpha).
/// Method: (x)+ is smoothed to tau log(1 + e^{x / tau}) (an error in [0, tau ln 2] per row) and
/// the box enters as a log barrier of weight tau; the smooth, strictly convex problem is
/// minimised by damped Newton's method (backtracking line search; globally convergent) for tau
/// falling tenfold from the loss scale, each minimiser within tau (ln 2 / (1 - a) + constraints)
/// of the least ES (barrier duality). Each Newton step reads only a band of rows near alpha (those
/// within 100 tau, and at least n / 128), the rest entering through their sums, and moves from
/// the band's centre, so that steps far below the ratios' own rounding still count.
/// Stopping rule, a certificate rather than that bound: ES(r) is the maximum of sum_i pi_i L_i(r)
/// over 0 <= pi_i <= 1 / (n (1 - a)), sum pi_i = 1, so any such pi gives
///     min_box ES >= min_{r in box} sum_i pi_i L_i(r),
/// a separable minimum in closed form; pi from the smoothing (sigmoid((L_i - alpha) / tau),
/// made feasible). The search stops when es - lower_bound <= tolerance =
/// relative_tolerance x scale, scale = max(rms u, max_l max(|lower_l|, |upper_l|) (rms m_l + rms k_l)),
/// or when tau has fallen below the bound's need (converged false, then, with the gap reported).
/// A component within 1e-3 of its box width of a bound (or of 0, the costs' kink) is put there
/// when that does not raise the ES. Deterministic: sums in fixed blocks, the same bits for any
/// thread count. Cost: a few seconds on one core for 2^20 rows and three legs whose boxes hold
/// both signs (six variables), at the default tolerance; a second or less for 10^5 rows.
MinEsHedge min_es_vector(const HedgeRows& rows, double level, const std::vector<double>& lower,
                         const std::vector<double>& upper, double relative_tolerance = 1e-9);

/// ES over a grid of two legs' ratios, the other legs at `fixed` (its entries for leg_a, leg_b
/// ignored): es[i * ratios_b.size() + j] at r_{leg_a} = ratios_a[i], r_{leg_b} = ratios_b[j].
struct EsSurface {
  int leg_a = 0, leg_b = 1;
  std::vector<double> ratios_a, ratios_b;
  std::vector<double> es;
};
EsSurface es_surface(const HedgeRows& rows, const std::vector<double>& ratios_a, const std::vector<double>& ratios_b,
                     double level, const std::vector<double>& fixed, int leg_a = 0, int leg_b = 1);

}  // namespace betahedge
