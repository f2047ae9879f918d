// min_es_vector (hedge_vector.hpp): the smoothed, barrier-bounded convex problem, solved by
// damped Newton's method on a band of rows, and the certificate that stops it.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "betahedge/error.hpp"
#include "stats/hedge_vector.hpp"
#include "stats/outcome_reduction.hpp"

namespace betahedge {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
using Extended = long double;
/// Loops over fewer rows run on one thread: a parallel region costs more than they do, the more
/// so on a loaded machine, and the optimiser runs thousands of small ones.
constexpr std::uint64_t kParallelRows = 16 * kReductionBlock;

/// Cholesky solve of the symmetric positive definite h x = g after scaling by its diagonal;
/// a multiple of the identity is added to the scaled matrix until it factors.
std::vector<Extended> newton_direction(const std::vector<Extended>& h, const std::vector<Extended>& g, int n) {
  std::vector<Extended> d(n);
  for (int i = 0; i < n; ++i) d[i] = h[i * n + i] > 0.0L ? 1.0L / std::sqrt(h[i * n + i]) : 1.0L;
  for (Extended shift = 0.0L;; shift = shift == 0.0L ? 1e-14L : shift * 100.0L) {
    std::vector<Extended> l(n * n, 0.0L);
    bool ok = true;
    for (int i = 0; i < n && ok; ++i)
      for (int j = 0; j <= i; ++j) {
        Extended s = h[i * n + j] * d[i] * d[j] + (i == j ? shift : 0.0L);
        for (int k = 0; k < j; ++k) s -= l[i * n + k] * l[j * n + k];
        if (i == j) {
          if (!(s > 0.0L)) {
            ok = false;
            break;
          }
          l[i * n + i] = std::sqrt(s);
        } else {
          l[i * n + j] = s / l[j * n + j];
        }
      }
    if (!ok) {
      if (shift > 1e6L) throw NumericalError("min-ES hedge vector: the Newton system does not factor");
      continue;
    }
    std::vector<Extended> y(n);
    for (int i = 0; i < n; ++i) {
      Extended s = g[i] * d[i];
      for (int k = 0; k < i; ++k) s -= l[i * n + k] * y[k];
      y[i] = s / l[i * n + i];
    }
    for (int i = n - 1; i >= 0; --i) {
      Extended s = y[i];
      for (int k = i + 1; k < n; ++k) s -= l[k * n + i] * y[k];
      y[i] = s / l[i * n + i];
    }
    for (int i = 0; i < n; ++i) y[i] *= d[i];
    return y;
  }
}

/// Sums of `width` terms over rows [0, n) in fixed blocks of kReductionBlock (each in row order,
/// then the blocks in order): the same bits for any thread count. row_terms(i, acc) adds row i's
/// terms into acc[0, width).
template <class RowTerms>
std::vector<double> ordered_row_sums(std::uint64_t n, int width, RowTerms row_terms) {
  const std::uint64_t blocks = (n + kReductionBlock - 1) / kReductionBlock;
  std::vector<double> per_block(blocks * width, 0.0);
#pragma omp parallel for schedule(static) if (n > kParallelRows)
  for (std::int64_t b = 0; b < static_cast<std::int64_t>(blocks); ++b) {
    const std::uint64_t lo = b * kReductionBlock, hi = std::min(n, lo + kReductionBlock);
    double* acc = per_block.data() + b * width;
    for (std::uint64_t i = lo; i < hi; ++i) row_terms(i, acc);
  }
  std::vector<double> total(width, 0.0);
  for (std::uint64_t b = 0; b < blocks; ++b)
    for (int t = 0; t < width; ++t) total[t] += per_block[b * width + t];
  return total;
}

/// tau log(1 + e^{x / tau}) without overflow: max(x, 0) + tau log1p(e^{-|x| / tau}).
double smoothed_positive_part(double x, double tau) {
  return std::max(x, 0.0) + tau * std::log1p(std::exp(-std::fabs(x) / tau));
}
double sigmoid(double z) { return z >= 0.0 ? 1.0 / (1.0 + std::exp(-z)) : std::exp(z) / (1.0 + std::exp(z)); }

/// The smoothed, barrier-bounded ES problem in the variables theta (the free legs' ratios and
/// the epigraph variables s_l) and alpha: losses L_i = c_i + sum_j theta_j a_ij, constraints
/// g_q = offset_q + sum_j theta_j e_qj > 0, and
///     Phi = alpha + w sum_i tau sp((L_i - alpha) / tau) - tau sum_q log g_q,
/// sp(z) = log(1 + e^z), w = 1 / (n (1 - a)).
struct EsProblem {
  std::uint64_t n = 0;
  double weight = 0.0;
  std::vector<double> c;
  /// a_ij = sum over the variable's terms of coefficient x column[i].
  std::vector<std::vector<std::pair<double, const double*>>> terms;
  std::vector<double> width;         ///< each variable's range
  struct Constraint {
    double offset = 0.0;
    std::vector<std::pair<int, double>> coefficients;
  };
  std::vector<Constraint> constraints;

  int variables() const { return static_cast<int>(terms.size()); }
  double column(int j, std::uint64_t i) const {
    double a = 0.0;
    for (const auto& [coefficient, values] : terms[j]) a += coefficient * values[i];
    return a;
  }
  double loss(const std::vector<double>& theta, std::uint64_t i) const {
    double l = c[i];
    for (int j = 0; j < variables(); ++j) l += theta[j] * column(j, i);
    return l;
  }
  double slack(const Constraint& q, const std::vector<double>& theta) const {
    double g = q.offset;
    for (const auto& [j, e] : q.coefficients) g += e * theta[j];
    return g;
  }
};

/// The rows the smoothing still tells apart near (centre, alpha): at tau, a row with
/// |L_i - alpha| > 50 tau has sigmoid 0 or 1 to 2e-22, so the rows above alpha enter Phi through
/// their sums alone, the rows below not at all. The band holds the rows within 100 tau, and at
/// least a given number of the nearest, and stays valid while no row outside it can have come
/// within 50 tau of alpha. Once tau is small it is a small part of the rows, and each Newton
/// step costs that part.
///
/// Newton's iterate is held as a displacement (d, e) from the band's centre, theta = centre + d
/// and alpha = band.alpha + e, with the band rows' L_i - alpha and the constraints' slacks at the
/// centre computed once: near the optimum the steps are far below the rounding of theta, alpha
/// and L_i themselves (a loss of 1e5 moves in steps of 1.5e-11, many tau when tau is small), but
/// not below that of the displacements and of L_i - alpha.
struct Band {
  std::vector<double> centre;
  std::vector<double> slack;  ///< g_q at the centre
  double alpha = 0.0, half_width = 0.0;
  std::vector<std::uint64_t> rows;  ///< |L_i - alpha| <= half_width, in row order
  std::vector<double> distance;     ///< L_i - alpha at the centre, per band row
  double above = 0.0;               ///< the number of rows with L_i - alpha > half_width
  double above_distance = 0.0;      ///< their sum of L_i - alpha at the centre
  std::vector<double> above_a;      ///< their sums of a_ij
  std::vector<double> above_columns;  ///< their sums of u, m_l, k_l (the certificate's)
  /// Over the rows outside, max_i |a_ij| / (|L_i - alpha| - 50 tau) for j < p, and
  /// max_i 1 / (|L_i - alpha| - 50 tau) at p: a move (d, e) with
  /// sum_j |d_j| reach_j + |e| reach_p <= 1 brings none within 50 tau.
  std::vector<double> reach;

  int variables() const { return static_cast<int>(centre.size()); }
  /// The share of the band's reach a move (d, e) uses: it holds while that is <= 1.
  double reach_used(const std::vector<double>& d, double e) const {
    double used = std::fabs(e) * reach[variables()];
    for (int j = 0; j < variables(); ++j) used += std::fabs(d[j]) * reach[j];
    return used;
  }
  bool holds(const std::vector<double>& d, double e) const { return reach_used(d, e) <= 1.0; }
  /// L_i - alpha at (d, e) of band row k (row i).
  double distance_at(const EsProblem& pr, std::uint64_t k, const std::vector<double>& d, double e) const {
    double x = distance[k] - e;
    for (int j = 0; j < variables(); ++j) x += d[j] * pr.column(j, rows[k]);
    return x;
  }
  /// -sum_q log g_q at centre + d; inf outside the constraints.
  double barrier(const EsProblem& pr, const std::vector<double>& d) const {
    double b = 0.0;
    for (std::size_t q = 0; q < pr.constraints.size(); ++q) {
      const double g = slack_at(pr, q, d);
      if (!(g > 0.0)) return kInf;
      b -= std::log(g);
    }
    return b;
  }
  double slack_at(const EsProblem& pr, std::size_t q, const std::vector<double>& d) const {
    double g = slack[q];
    for (const auto& [j, e] : pr.constraints[q].coefficients) g += e * d[j];
    return g;
  }
};

/// The band of the rows within 100 tau of alpha at `centre`, and at least the `least_rows`
/// nearest. `columns`: u, m_l, k_l, whose sums over the rows above the band the certificate reads.
Band make_band(const EsProblem& pr, const std::vector<double>& centre, double alpha, double tau,
               std::uint64_t least_rows, const std::vector<const double*>& columns) {
  const int p = pr.variables(), count = static_cast<int>(columns.size());
  std::vector<double> distance(pr.n);  // L_i - alpha
#pragma omp parallel for schedule(static) if (pr.n > kParallelRows)
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(pr.n); ++i) distance[i] = pr.loss(centre, i) - alpha;
  least_rows = std::clamp<std::uint64_t>(least_rows, 1, pr.n);
  std::vector<double> magnitude(pr.n);
  for (std::uint64_t i = 0; i < pr.n; ++i) magnitude[i] = std::fabs(distance[i]);
  std::nth_element(magnitude.begin(), magnitude.begin() + (least_rows - 1), magnitude.end());
  Band band;
  band.centre = centre;
  for (const EsProblem::Constraint& q : pr.constraints) band.slack.push_back(pr.slack(q, centre));
  band.alpha = alpha;
  band.half_width = std::max(100.0 * tau, magnitude[least_rows - 1]);
  band.above_a.assign(p, 0.0);
  band.above_columns.assign(count, 0.0);
  band.reach.assign(p + 1, 0.0);
  const double safe = 50.0 * tau;
  const std::uint64_t blocks = (pr.n + kReductionBlock - 1) / kReductionBlock;
  // Per block: the count and L_i - alpha above, a_j above, the columns above, reach_j, reach_alpha.
  const int width = 2 + p + count + (p + 1);
  std::vector<std::vector<std::uint64_t>> lists(blocks);
  std::vector<double> sums(blocks * width, 0.0);
#pragma omp parallel for schedule(static) if (pr.n > kParallelRows)
  for (std::int64_t b = 0; b < static_cast<std::int64_t>(blocks); ++b) {
    const std::uint64_t lo = b * kReductionBlock, hi = std::min(pr.n, lo + kReductionBlock);
    double* acc = sums.data() + b * width;
    double* reach = acc + 2 + p + count;
    for (std::uint64_t i = lo; i < hi; ++i) {
      const double d = distance[i];
      if (std::fabs(d) <= band.half_width) {
        lists[b].push_back(i);
        continue;
      }
      const double room = 1.0 / (std::fabs(d) - safe);
      reach[p] = std::max(reach[p], room);
      for (int j = 0; j < p; ++j) {
        const double a = pr.column(j, i);
        reach[j] = std::max(reach[j], std::fabs(a) * room);
        if (d > 0.0) acc[2 + j] += a;
      }
      if (d > 0.0) {
        acc[0] += 1.0;
        acc[1] += d;
        for (int t = 0; t < count; ++t) acc[2 + p + t] += columns[t][i];
      }
    }
  }
  for (std::uint64_t b = 0; b < blocks; ++b) {  // in block order: the same band for any thread count
    const double* acc = sums.data() + b * width;
    band.rows.insert(band.rows.end(), lists[b].begin(), lists[b].end());
    band.above += acc[0];
    band.above_distance += acc[1];
    for (int j = 0; j < p; ++j) band.above_a[j] += acc[2 + j];
    for (int t = 0; t < count; ++t) band.above_columns[t] += acc[2 + p + t];
    for (int j = 0; j <= p; ++j) band.reach[j] = std::max(band.reach[j], acc[2 + p + count + j]);
  }
  band.distance.resize(band.rows.size());
  for (std::size_t k = 0; k < band.rows.size(); ++k) band.distance[k] = distance[band.rows[k]];
  return band;
}

/// Sums of `width` terms over the band's rows (row_terms(k, acc) for band row k), in fixed blocks.
template <class RowTerms>
std::vector<double> band_sums(const Band& band, int width, RowTerms row_terms) {
  return ordered_row_sums(band.rows.size(), width, row_terms);
}

/// Phi - band.alpha at (d, e) (where the band holds), from the band's rows and the sums of those
/// above it.
double objective(const EsProblem& pr, const Band& band, const std::vector<double>& d, double e, double tau) {
  const double barrier = band.barrier(pr, d);
  if (!std::isfinite(barrier)) return kInf;
  const std::vector<double> s = band_sums(band, 1, [&](std::uint64_t k, double* acc) {
    acc[0] += smoothed_positive_part(band.distance_at(pr, k, d, e), tau);
  });
  double above = band.above_distance - band.above * e;  // sum over the rows above the band of L_i - alpha
  for (int j = 0; j < pr.variables(); ++j) above += d[j] * band.above_a[j];
  return e + pr.weight * (s[0] + above) + tau * barrier;
}

/// The gradient and Hessian of Phi over (d, e), row-major (p + 1) x (p + 1).
struct NewtonSystem {
  std::vector<Extended> gradient, hessian;
};

NewtonSystem newton_system(const EsProblem& pr, const Band& band, const std::vector<double>& d, double e,
                           double tau) {
  const int p = pr.variables(), dim = p + 1;
  // Accumulators: sum sigma, sum sigma a_j, sum h, sum h a_j, sum h a_j a_k (j <= k).
  const int width = 2 + 2 * p + p * (p + 1) / 2;
  std::vector<double> s = band_sums(band, width, [&](std::uint64_t k, double* acc) {
    double a[2 * kMaxHedgeLegs];
    double x = band.distance[k] - e;
    for (int j = 0; j < p; ++j) {
      a[j] = pr.column(j, band.rows[k]);
      x += d[j] * a[j];
    }
    const double z = x / tau;
    const double sig = sigmoid(z);
    acc[0] += sig;
    for (int j = 0; j < p; ++j) acc[1 + j] += sig * a[j];
    if (std::fabs(z) > 50.0) return;  // sigma (1 - sigma) < 2e-22: nothing to the curvature
    const double h = sig * (1.0 - sig) / tau;
    acc[1 + p] += h;
    for (int j = 0; j < p; ++j) acc[2 + p + j] += h * a[j];
    int t = 2 + 2 * p;
    for (int j = 0; j < p; ++j)
      for (int i = j; i < p; ++i) acc[t++] += h * a[j] * a[i];
  });
  s[0] += band.above;  // the rows above the band: sigma = 1, h = 0
  for (int j = 0; j < p; ++j) s[1 + j] += band.above_a[j];
  const Extended w = pr.weight;
  NewtonSystem sys;
  sys.gradient.assign(dim, 0.0L);
  sys.hessian.assign(dim * dim, 0.0L);
  for (int j = 0; j < p; ++j) sys.gradient[j] = w * s[1 + j];
  sys.gradient[p] = 1.0L - w * s[0];
  int t = 2 + 2 * p;
  for (int j = 0; j < p; ++j) {
    for (int i = j; i < p; ++i) sys.hessian[j * dim + i] = sys.hessian[i * dim + j] = w * s[t++];
    sys.hessian[j * dim + p] = sys.hessian[p * dim + j] = -w * s[2 + p + j];
  }
  sys.hessian[p * dim + p] = w * s[1 + p];
  for (std::size_t q = 0; q < pr.constraints.size(); ++q) {
    const Extended g = band.slack_at(pr, q, d);
    for (const auto& [j, e] : pr.constraints[q].coefficients) {
      sys.gradient[j] -= tau * e / g;
      for (const auto& [i, f] : pr.constraints[q].coefficients) sys.hessian[j * dim + i] += tau * e * f / (g * g);
    }
  }
  return sys;
}

/// The e at which the smoothed weights' mass, w sum_i sigmoid((L_i - alpha) / tau), decreasing
/// in alpha = band.alpha + e, is 1 to 1e-13: Newton's method kept inside a bracket, from `e`.
double unit_mass_alpha(const EsProblem& pr, const Band& band, const std::vector<double>& d, double e,
                       double tau) {
  const auto mass_at = [&](double at) {
    const std::vector<double> s = band_sums(band, 2, [&](std::uint64_t k, double* acc) {
      const double sig = sigmoid(band.distance_at(pr, k, d, at) / tau);
      acc[0] += sig;
      acc[1] += sig * (1.0 - sig);
    });
    return std::make_pair(pr.weight * (s[0] + band.above), -pr.weight * s[1] / tau);
  };
  double below = -kInf, above = kInf, step = tau;  // mass(below) > 1 > mass(above)
  for (int iteration = 0; iteration < 100 && band.holds(d, e); ++iteration) {
    const auto [mass, slope] = mass_at(e);
    if (std::fabs(mass - 1.0) <= 1e-13) break;
    (mass > 1.0 ? below : above) = e;
    double next = slope < 0.0 ? e - (mass - 1.0) / slope : kNaN;
    if (!(next > below && next < above)) {
      if (std::isfinite(below) && std::isfinite(above)) {
        next = 0.5 * (below + above);
      } else {
        next = mass > 1.0 ? e + step : e - step;
        step *= 2.0;
      }
    }
    if (next == e) break;
    e = next;
  }
  return e;
}

/// The smoothing's row weights at (d, e), pi~_i = w sigmoid((L_i - alpha) / tau) (w above the
/// band, 0 below), as sums: mass = sum pi~, and sum pi~ x for each of `columns`.
std::pair<double, std::vector<double>> smoothed_weights(const EsProblem& pr, const Band& band,
                                                        const std::vector<double>& d, double e, double tau,
                                                        const std::vector<const double*>& columns) {
  const int count = static_cast<int>(columns.size());
  const std::vector<double> s = band_sums(band, 1 + count, [&](std::uint64_t k, double* acc) {
    const double sig = sigmoid(band.distance_at(pr, k, d, e) / tau);
    acc[0] += sig;
    for (int t = 0; t < count; ++t) acc[1 + t] += sig * columns[t][band.rows[k]];
  });
  std::vector<double> weighted(count);
  for (int t = 0; t < count; ++t) weighted[t] = pr.weight * (s[1 + t] + band.above_columns[t]);
  return {pr.weight * (s[0] + band.above), weighted};
}

}  // namespace

MinEsHedge min_es_vector(const HedgeRows& rows, double level, const std::vector<double>& lower,
                         const std::vector<double>& upper, double relative_tolerance) {
  const int legs = rows.legs();
  const std::uint64_t n = rows.paths();
  if (!(level > 0.0 && level < 1.0)) throw std::logic_error("min_es_vector: level must be in (0, 1)");
  if (static_cast<int>(lower.size()) != legs || static_cast<int>(upper.size()) != legs)
    throw std::logic_error("min_es_vector: one bound per leg");
  for (int l = 0; l < legs; ++l)
    if (!(std::isfinite(lower[l]) && std::isfinite(upper[l]) && lower[l] <= upper[l]))
      throw std::logic_error("min_es_vector: leg " + std::to_string(l) + "'s box is not finite with lower <= upper");
  if (n < 2) throw NumericalError("the min-ES hedge vector needs at least 2 paths (got " + std::to_string(n) + ")");
  const double* u = rows.unhedged();

  // The loss scale: the tolerance and the first smoothing are relative to it.
  const auto rms = [&](const double* x) {
    return std::sqrt(ordered_sum_of(n, [x](std::uint64_t i) { return x[i] * x[i]; }) / static_cast<double>(n));
  };
  double scale = rms(u);
  std::vector<bool> has_costs(legs);
  for (int l = 0; l < legs; ++l) {
    const double* k = rows.costs(l);
    has_costs[l] = std::any_of(k, k + n, [](double v) { return v != 0.0; });
    scale = std::max(scale, std::max(std::fabs(lower[l]), std::fabs(upper[l])) * (rms(rows.marks(l)) + rms(k)));
  }

  MinEsHedge out;
  out.tolerance = relative_tolerance * scale;
  out.side.assign(legs, BoxSide::interior);

  // The problem. A fixed leg (lower = upper) goes into c. A free leg whose box keeps one sign,
  // or which has no costs, is one variable, its ratio (|r| k = +-r k). A free leg with costs
  // whose box holds both signs is two, r = r+ - r-, with 0 < r+ < upper, 0 < r- < -lower and
  // its costs (r+ + r-) k, an epigraph of |r| k that is exact at the optimum (one part is 0
  // there when the costs weigh). Unlike s >= |r|, that stores the small part itself: near the
  // optimum s - r would be a difference of nearly equal numbers.
  EsProblem pr;
  pr.n = n;
  pr.weight = 1.0 / (static_cast<double>(n) * (1.0 - level));
  std::vector<int> positive_part(legs, -1), negative_part(legs, -1);  // the legs' variables
  std::vector<double> theta;  // starts at the box centre
  const auto add_variable = [&](std::vector<std::pair<double, const double*>> terms, double start, double lo,
                                double hi) {
    const int j = pr.variables();
    pr.terms.push_back(std::move(terms));
    theta.push_back(start);
    pr.width.push_back(hi - lo);
    pr.constraints.push_back({-lo, {{j, 1.0}}});
    pr.constraints.push_back({hi, {{j, -1.0}}});
    return j;
  };
  for (int l = 0; l < legs; ++l) {
    const double* m = rows.marks(l);
    const double* k = rows.costs(l);
    if (lower[l] == upper[l]) continue;
    if (!has_costs[l])
      positive_part[l] = add_variable({{-1.0, m}}, 0.5 * (lower[l] + upper[l]), lower[l], upper[l]);
    else if (lower[l] >= 0.0)
      positive_part[l] = add_variable({{-1.0, m}, {1.0, k}}, 0.5 * (lower[l] + upper[l]), lower[l], upper[l]);
    else if (upper[l] <= 0.0)
      positive_part[l] = add_variable({{-1.0, m}, {-1.0, k}}, 0.5 * (lower[l] + upper[l]), lower[l], upper[l]);
    else {
      positive_part[l] = add_variable({{-1.0, m}, {1.0, k}}, 0.5 * upper[l], 0.0, upper[l]);
      negative_part[l] = add_variable({{1.0, m}, {1.0, k}}, -0.5 * lower[l], 0.0, -lower[l]);
    }
  }
  const int p = pr.variables();
  pr.c.resize(n);
#pragma omp parallel for schedule(static) if (n > kParallelRows)
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(n); ++i) {
    double c = -u[i];
    for (int l = 0; l < legs; ++l)
      if (lower[l] == upper[l]) c += -lower[l] * rows.marks(l)[i] + std::fabs(lower[l]) * rows.costs(l)[i];
    pr.c[i] = c;
  }
  const auto ratios_of = [&](const std::vector<double>& th) {
    std::vector<double> r(legs, 0.0);
    for (int l = 0; l < legs; ++l) {
      if (lower[l] == upper[l]) r[l] = lower[l];
      if (positive_part[l] >= 0) r[l] = th[positive_part[l]];
      if (negative_part[l] >= 0) r[l] -= th[negative_part[l]];
    }
    return r;
  };

  // The certificate: ES(r) >= sum_i pi_i L_i(r) for every pi with 0 <= pi_i <= w, sum pi = 1, so
  // min_box ES >= sum_i pi_i (-u_i) + sum_l min_{r_l in box} (-r_l M_l + |r_l| K_l),
  // M_l = sum pi_i m_li, K_l = sum pi_i k_li (>= 0): each leg's minimum at lower, upper or 0.
  // pi from the smoothing (smoothed_weights), made feasible: scaled down when its mass exceeds
  // 1, else the missing mass spread over the room below w, pi = pi~ + f (w - pi~),
  // f = (1 - mass) / (n w - mass) in [0, 1]. Any feasible pi gives a valid bound; the
  // smoothing's is near the best one.
  std::vector<const double*> columns{u};  // u, m_l, k_l
  for (int l = 0; l < legs; ++l) columns.push_back(rows.marks(l));
  for (int l = 0; l < legs; ++l) columns.push_back(rows.costs(l));
  std::vector<double> column_total;
  for (const double* x : columns) column_total.push_back(ordered_sum(x, n));
  const auto lower_bound_from = [&](const Band& band, const std::vector<double>& d, double e, double tau) {
    const auto [mass, raw] = smoothed_weights(pr, band, d, e, tau, columns);
    const double w = pr.weight;
    const double spread = mass <= 1.0 ? (1.0 - mass) / (1.0 / (1.0 - level) - mass) : 0.0;
    const auto weighted = [&](int t) {  // sum_i pi_i column_t[i]
      return mass > 1.0 ? raw[t] / mass : raw[t] + spread * (w * column_total[t] - raw[t]);
    };
    double bound = -weighted(0);
    for (int l = 0; l < legs; ++l) {
      const double m = weighted(1 + l), k = weighted(1 + legs + l);
      const auto f = [&](double r) { return -r * m + std::fabs(r) * k; };
      double least = std::min(f(lower[l]), f(upper[l]));
      if (lower[l] < 0.0 && upper[l] > 0.0) least = std::min(least, f(0.0));
      bound += least;
    }
    return bound;
  };

  // A component within `near` of the box width of a bound (or of 0, the costs' kink) is put
  // there when that does not raise the ES: the barrier keeps the iterates off the bounds.
  std::vector<double> best_ratios = ratios_of(theta);
  double best_es = hedged_es(rows, best_ratios, level);
  const auto snap = [&](double near) {
    for (int l = 0; l < legs; ++l) {
      if (lower[l] == upper[l]) continue;
      for (double target : {lower[l], upper[l], 0.0}) {
        if (target < lower[l] || target > upper[l] || best_ratios[l] == target) continue;
        if (std::fabs(best_ratios[l] - target) > near * (upper[l] - lower[l])) continue;
        std::vector<double> snapped = best_ratios;
        snapped[l] = target;
        const double es = hedged_es(rows, snapped, level);
        if (es <= best_es) best_es = es, best_ratios = snapped;
      }
    }
  };

  // With every leg fixed, or every column zero (so every ES), the start is the answer.
  double best_bound = p == 0 || !(scale > 0.0) ? best_es : -kInf;
  double alpha = hedged_var(rows, best_ratios, level);  // the box centre's VaR
  const double smoothing_gap = std::log(2.0) / (1.0 - level) + static_cast<double>(pr.constraints.size());
  const double final_tau = out.tolerance / (10.0 * smoothing_gap);
  // Newton's iterate: theta = band.centre + d, alpha = band.alpha + e.
  std::vector<double> d(p, 0.0);
  double e = 0.0;
  // A band holds at least band_rows rows: 1/128 of them (or 1024) at the start of each tau, twice
  // as many each time Newton's step reaches its edge, so that a stage makes few bands.
  const std::uint64_t first_band_rows = std::max<std::uint64_t>(1024, n / 128);
  std::uint64_t band_rows = first_band_rows;
  const auto recentre = [&](Band& band, double tau) {
    std::vector<double> centre = band.centre;
    for (int j = 0; j < p; ++j) centre[j] += d[j];
    band = make_band(pr, centre, band.alpha + e, tau, band_rows, columns);
    std::fill(d.begin(), d.end(), 0.0);
    e = 0.0;
  };
  Band band;
  band.centre = theta;
  band.alpha = alpha;
  for (double tau = scale; p > 0 && best_es - best_bound > out.tolerance && tau >= final_tau * 0.999; tau /= 10.0) {
    // Damped Newton on Phi at this tau, until the certificate's inputs are accurate: the Newton
    // decrement (twice Phi's excess) a thousandth of the tolerance and the gradient, the dual
    // residual, weighted by the variables' ranges, a tenth; the residual gets 10 steps more
    // than the decrement (rounding may bar it).
    band_rows = first_band_rows;
    recentre(band, tau);
    double phi = objective(pr, band, d, e, tau);
    int polishing = 0;
    for (int step = 0; step < 100; ++step) {
      const NewtonSystem sys = newton_system(pr, band, d, e, tau);
      std::vector<Extended> minus_gradient(p + 1);
      for (int j = 0; j <= p; ++j) minus_gradient[j] = -sys.gradient[j];
      const std::vector<Extended> delta = newton_direction(sys.hessian, minus_gradient, p + 1);
      Extended decrement = 0.0L, residual = 0.0L;
      for (int j = 0; j <= p; ++j) decrement += delta[j] * minus_gradient[j];
      for (int j = 0; j < p; ++j) residual += std::fabs(sys.gradient[j]) * pr.width[j];
      if (decrement <= 1e-3L * out.tolerance && (residual <= 0.1L * out.tolerance || ++polishing > 10)) break;
      // The longest step inside the constraints, then halving until Armijo's condition holds.
      // Where the decrease is below Phi's rounding, Newton is in its quadratic region: the step
      // is taken if Phi does not rise beyond that rounding.
      double t = 1.0;
      for (std::size_t q = 0; q < pr.constraints.size(); ++q) {
        double change = 0.0;
        for (const auto& [j, e] : pr.constraints[q].coefficients) change += e * static_cast<double>(delta[j]);
        if (change < 0.0) t = std::min(t, 0.99 * band.slack_at(pr, q, d) / -change);
      }
      // The step also stays where the band holds (a trust region: Phi's quadratic model fails
      // within a few tau of the band's rows anyway); at its edge the band is made anew.
      std::vector<double> direction(p);
      for (int j = 0; j < p; ++j) direction[j] = static_cast<double>(delta[j]);
      const double step_reach = band.reach_used(direction, static_cast<double>(delta[p]));
      const double room = std::max(0.0, 1.0 - band.reach_used(d, e));
      if (step_reach > 0.0) t = std::min(t, room / step_reach);
      const bool at_band_edge = step_reach > 0.0 && t == room / step_reach;
      const double resolution = 1e-12 * (std::fabs(phi) + scale);
      const bool unresolved = static_cast<double>(decrement) < resolution;
      bool moved = false;
      for (int halving = 0; halving < 60 && t > 0.0; ++halving, t *= 0.5) {
        std::vector<double> trial(p);
        for (int j = 0; j < p; ++j) trial[j] = d[j] + t * direction[j];
        const double trial_e = e + t * static_cast<double>(delta[p]);
        const double trial_phi = objective(pr, band, trial, trial_e, tau);
        if (unresolved ? trial_phi <= phi + resolution : trial_phi <= phi - 0.25 * t * static_cast<double>(decrement)) {
          moved = trial != d || trial_e != e;
          d = trial, e = trial_e, phi = trial_phi;
          if (halving == 0 && at_band_edge) {
            band_rows *= 2;
            recentre(band, tau);
            phi = objective(pr, band, d, e, tau);
          }
          break;
        }
      }
      if (!moved && room < 1.0) {  // no room left in this band: a new one, centred here
        band_rows *= 2;
        recentre(band, tau);
        phi = objective(pr, band, d, e, tau);
        moved = true;
      }
      ++out.newton_steps;
      if (!moved) break;
    }
    std::vector<double> theta_now = band.centre;
    for (int j = 0; j < p; ++j) theta_now[j] += d[j];
    const std::vector<double> r = ratios_of(theta_now);
    const double es = hedged_es(rows, r, level);
    if (es < best_es) best_es = es, best_ratios = r;
    snap(1e-3);
    e = unit_mass_alpha(pr, band, d, e, tau);
    best_bound = std::max(best_bound, lower_bound_from(band, d, e, tau));
  }
  snap(1e-3);

  for (int l = 0; l < legs; ++l) {
    if (lower[l] == upper[l]) continue;
    if (best_ratios[l] == lower[l]) out.side[l] = BoxSide::lower;
    if (best_ratios[l] == upper[l]) out.side[l] = BoxSide::upper;
    out.on_edge = out.on_edge || out.side[l] != BoxSide::interior;
  }
  out.ratios = best_ratios;
  out.es = best_es;
  out.lower_bound = best_bound;
  out.converged = best_es - best_bound <= out.tolerance;
  return out;
}

}  // namespace betahedge
