#include "stats/hedge_vector.hpp"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "betahedge/error.hpp"
#include "stats/block_sum.hpp"
#include "stats/outcome_reduction.hpp"

namespace betahedge {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// ---------------------------------------------------------------------------------------------
// Monomials of z = (u, x_1..x_L): sorted variable lists of degree 1 to 4, -1 padded.

using Monomial = std::array<int, 4>;

int degree(const Monomial& m) { return static_cast<int>(std::count_if(m.begin(), m.end(), [](int v) { return v >= 0; })); }

/// Degree 1, then 2, 3, 4; within a degree, lexicographic.
std::vector<Monomial> monomial_list(int variables) {
  std::vector<Monomial> list;
  for (int d = 1; d <= 4; ++d) {
    Monomial m{-1, -1, -1, -1};
    // Non-decreasing tuples of length d over [0, variables).
    const auto fill = [&](auto&& self, int position, int from) -> void {
      if (position == d) {
        list.push_back(m);
        return;
      }
      for (int v = from; v < variables; ++v) {
        m[position] = v;
        self(self, position + 1, v);
      }
    };
    fill(fill, 0, 0);
  }
  return list;
}

/// The index of the monomial with the variables `vars` (any order) in monomial_list(variables).
int monomial_index(int variables, Monomial vars) {
  std::sort(vars.begin(), vars.end(), [](int a, int b) { return (a < 0 ? 99 : a) < (b < 0 ? 99 : b); });
  static thread_local std::vector<Monomial> cached;
  static thread_local int cached_for = -1;
  if (cached_for != variables) cached = monomial_list(variables), cached_for = variables;
  const auto it = std::lower_bound(cached.begin(), cached.end(), vars, [](const Monomial& a, const Monomial& b) {
    const int da = degree(a), db = degree(b);
    return da != db ? da < db : a < b;
  });
  if (it == cached.end() || *it != vars) throw std::logic_error("HedgeMoments: no such monomial");
  return static_cast<int>(it - cached.begin());
}

void check_legs(int legs) {
  if (legs < 1 || legs > kMaxHedgeLegs)
    throw std::logic_error("hedge vector: legs must be 1.." + std::to_string(kMaxHedgeLegs) + " (got " +
                           std::to_string(legs) + ")");
}

// ---------------------------------------------------------------------------------------------
// A small dense solve in extended precision (at most kMaxHedgeLegs unknowns).

using Extended = long double;

/// Solves a x = b (n x n row-major) by Gaussian elimination with partial pivoting; false when a
/// pivot is zero. For n = 1 that is x = b / a, one division.
bool solve_in_place(std::vector<Extended> a, std::vector<Extended>& b, int n) {
  for (int c = 0; c < n; ++c) {
    int pivot = c;
    for (int r = c + 1; r < n; ++r)
      if (std::fabs(a[r * n + c]) > std::fabs(a[pivot * n + c])) pivot = r;
    if (a[pivot * n + c] == 0.0L) return false;
    if (pivot != c) {
      for (int k = 0; k < n; ++k) std::swap(a[c * n + k], a[pivot * n + k]);
      std::swap(b[c], b[pivot]);
    }
    for (int r = c + 1; r < n; ++r) {
      const Extended f = a[r * n + c] / a[c * n + c];
      if (f == 0.0L) continue;
      for (int k = c; k < n; ++k) a[r * n + k] -= f * a[c * n + k];
      b[r] -= f * b[c];
    }
  }
  for (int r = n - 1; r >= 0; --r) {
    Extended s = b[r];
    for (int k = r + 1; k < n; ++k) s -= a[r * n + k] * b[k];
    b[r] = s / a[r * n + r];
  }
  return true;
}

}  // namespace

// =============================================================================================
// HedgeMoments

HedgeMoments::HedgeMoments(int legs) : legs_(legs) {
  check_legs(legs);
  sums_.resize(monomial_list(legs + 1).size());
}

void HedgeMoments::add(std::uint64_t first_path, std::uint64_t count, const double* u, const double* const* m,
                       const double* const* k) {
  if (first_path % kReductionBlock != 0)
    throw std::logic_error("HedgeMoments::add: a batch must start on a reduction block");
  const int variables = legs_ + 1;
  const std::vector<Monomial> monomials = monomial_list(variables);
  const int terms = static_cast<int>(monomials.size());
  const std::int64_t blocks = static_cast<std::int64_t>((count + kReductionBlock - 1) / kReductionBlock);
#pragma omp parallel if (blocks > 1)
  {
    std::vector<ExactSum> mine(terms);
    std::vector<double> z(variables * kReductionBlock);
#pragma omp for schedule(static)
    for (std::int64_t b = 0; b < blocks; ++b) {
      const std::uint64_t lo = b * kReductionBlock, len = std::min(count, lo + kReductionBlock) - lo;
      for (std::uint64_t i = 0; i < len; ++i) z[i] = u[lo + i];
      for (int l = 0; l < legs_; ++l) {
        double* x = z.data() + (1 + l) * kReductionBlock;
        for (std::uint64_t i = 0; i < len; ++i) x[i] = m[l][lo + i] - (k ? k[l][lo + i] : 0.0);
      }
      const auto column = [&](int v) { return z.data() + v * kReductionBlock; };
      for (int t = 0; t < terms; ++t) {
        const Monomial& mono = monomials[t];
        const double *a = column(mono[0]), *b1 = mono[1] >= 0 ? column(mono[1]) : nullptr,
                     *c = mono[2] >= 0 ? column(mono[2]) : nullptr, *d = mono[3] >= 0 ? column(mono[3]) : nullptr;
        double s = 0.0;
        // The products grouped as OutcomeReduction groups them: (a b) c and (a b)(c d).
        switch (degree(mono)) {
          case 1: s = block_sum(0, len, [&](std::uint64_t i) { return a[i]; }); break;
          case 2: s = block_sum(0, len, [&](std::uint64_t i) { return a[i] * b1[i]; }); break;
          case 3: s = block_sum(0, len, [&](std::uint64_t i) { return a[i] * b1[i] * c[i]; }); break;
          default: s = block_sum(0, len, [&](std::uint64_t i) { return (a[i] * b1[i]) * (c[i] * d[i]); }); break;
        }
        mine[t].add(s);
      }
    }
#pragma omp critical(betahedge_hedge_moments)
    for (int t = 0; t < terms; ++t) sums_[t].add(mine[t]);  // exact: the threads' order does not matter
  }
  paths_ += count;
}

void HedgeMoments::merge(const HedgeMoments& other) {
  if (other.legs_ != legs_) throw std::logic_error("HedgeMoments::merge: different legs");
  for (std::size_t t = 0; t < sums_.size(); ++t) sums_[t].add(other.sums_[t]);
  paths_ += other.paths_;
}

const ExactSum& HedgeMoments::sum(std::initializer_list<int> variables) const {
  if (variables.size() < 1 || variables.size() > 4) throw std::logic_error("HedgeMoments::sum: degree 1 to 4");
  Monomial m{-1, -1, -1, -1};
  int i = 0;
  for (int v : variables) {
    if (v < 0 || v > legs_) throw std::logic_error("HedgeMoments::sum: no variable " + std::to_string(v));
    m[i++] = v;
  }
  return sums_[monomial_index(legs_ + 1, m)];
}

std::string HedgeMoments::encode() const {
  std::string bytes;
  const std::uint64_t header[2] = {static_cast<std::uint64_t>(legs_), paths_};
  bytes.append(reinterpret_cast<const char*>(header), sizeof header);
  for (const ExactSum& s : sums_) s.write(bytes);
  return bytes;
}

HedgeMoments HedgeMoments::decode(const std::string& bytes) {
  std::uint64_t header[2];
  if (bytes.size() < sizeof header) throw std::logic_error("HedgeMoments::decode: truncated");
  std::memcpy(header, bytes.data(), sizeof header);
  if (header[0] < 1 || header[0] > static_cast<std::uint64_t>(kMaxHedgeLegs))
    throw std::logic_error("HedgeMoments::decode: bad legs");
  HedgeMoments moments(static_cast<int>(header[0]));
  moments.paths_ = header[1];
  std::size_t cursor = sizeof header;
  for (ExactSum& s : moments.sums_) s = ExactSum::read(bytes, cursor);
  if (cursor != bytes.size()) throw std::logic_error("HedgeMoments::decode: trailing bytes");
  return moments;
}

// =============================================================================================
// The min-variance vector

MinVarianceHedge min_variance_vector(const HedgeMoments& moments) {
  const int legs = moments.legs(), vars = legs + 1;
  const std::uint64_t n = moments.paths();
  if (n < 2) throw NumericalError("the hedge vector needs at least 2 paths (got " + std::to_string(n) + ")");
  const Extended nl = static_cast<Extended>(n);
  std::vector<Extended> sum1(vars);
  for (int v = 0; v < vars; ++v) sum1[v] = moments.sum({v}).extended_value();
  // Co-moment sums S_ab = sum z_a z_b - sum z_a sum z_b / n, risk_job.cpp's expression.
  const auto comoment = [&](int a, int b) { return moments.sum({a, b}).extended_value() - sum1[a] * sum1[b] / nl; };
  std::vector<Extended> sxx(legs * legs), sxu(legs);
  for (int l = 0; l < legs; ++l) {
    sxu[l] = comoment(0, 1 + l);
    for (int j = 0; j < legs; ++j) sxx[l * legs + j] = comoment(1 + l, 1 + j);
  }
  const Extended suu = comoment(0, 0);

  MinVarianceHedge out;
  out.ratios.assign(legs, 0.0);
  out.standard_errors.assign(legs, kNaN);
  out.covariance.assign(legs * legs, kNaN);

  // The condition number of the correlation matrix of the legs of positive variance.
  std::vector<int> varying;
  for (int l = 0; l < legs; ++l)
    if (sxx[l * legs + l] > 0.0L) varying.push_back(l);
  const int p = static_cast<int>(varying.size());
  Eigen::MatrixXd corr(p, p);
  for (int a = 0; a < p; ++a)
    for (int b = 0; b < p; ++b) {
      const int la = varying[a], lb = varying[b];
      corr(a, b) = static_cast<double>(sxx[la * legs + lb] / std::sqrt(sxx[la * legs + la] * sxx[lb * legs + lb]));
    }
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen(corr);
  const Eigen::VectorXd lambda = p > 0 ? eigen.eigenvalues() : Eigen::VectorXd();
  const double largest = p > 0 ? lambda(p - 1) : 0.0;
  out.condition_number = p < legs ? kInf : (lambda(0) > 0.0 ? largest / lambda(0) : kInf);
  out.system = out.condition_number > kSingularHedge       ? HedgeSystem::singular
               : out.condition_number > kIllConditionedHedge ? HedgeSystem::ill_conditioned
                                                            : HedgeSystem::regular;

  if (out.system != HedgeSystem::singular) {
    std::vector<Extended> r(legs);
    for (int l = 0; l < legs; ++l) r[l] = -sxu[l];
    if (!solve_in_place(sxx, r, legs)) throw std::logic_error("min_variance_vector: a regular system did not solve");
    for (int l = 0; l < legs; ++l) out.ratios[l] = static_cast<double>(r[l]);

    // The sandwich: n S_xx^{-1} M S_xx^{-1}, M_ab = E[x~_a x~_b e^2], e = w.z~, w = (1, r*).
    std::vector<Extended> mean(vars);
    for (int v = 0; v < vars; ++v) mean[v] = sum1[v] / nl;
    // E[prod_{t<4} (z_{v_t} - mu_{v_t})] = sum over subsets S: E[prod_S z] prod_{not S} (-mu).
    const auto central4 = [&](const std::array<int, 4>& v) {
      Extended total = 0.0L;
      for (int subset = 0; subset < 16; ++subset) {
        Extended factor = 1.0L;
        std::vector<int> chosen;
        for (int t = 0; t < 4; ++t) {
          if (subset & (1 << t))
            chosen.push_back(v[t]);
          else
            factor *= -mean[v[t]];
        }
        Extended moment = 1.0L;
        switch (chosen.size()) {
          case 0: break;
          case 1: moment = moments.sum({chosen[0]}).extended_value() / nl; break;
          case 2: moment = moments.sum({chosen[0], chosen[1]}).extended_value() / nl; break;
          case 3: moment = moments.sum({chosen[0], chosen[1], chosen[2]}).extended_value() / nl; break;
          default: moment = moments.sum({chosen[0], chosen[1], chosen[2], chosen[3]}).extended_value() / nl; break;
        }
        total += factor * moment;
      }
      return total;
    };
    std::vector<Extended> w(vars);
    w[0] = 1.0L;
    for (int l = 0; l < legs; ++l) w[1 + l] = r[l];
    std::vector<Extended> meat(legs * legs, 0.0L);
    for (int a = 0; a < legs; ++a)
      for (int b = a; b < legs; ++b) {
        Extended s = 0.0L;
        for (int c = 0; c < vars; ++c)
          for (int d = 0; d < vars; ++d) s += w[c] * w[d] * central4({1 + a, 1 + b, c, d});
        meat[a * legs + b] = meat[b * legs + a] = s;
      }
    // S_xx^{-1} column by column.
    std::vector<Extended> inverse(legs * legs);
    for (int c = 0; c < legs; ++c) {
      std::vector<Extended> e(legs, 0.0L);
      e[c] = 1.0L;
      solve_in_place(sxx, e, legs);
      for (int r2 = 0; r2 < legs; ++r2) inverse[r2 * legs + c] = e[r2];
    }
    for (int a = 0; a < legs; ++a)
      for (int b = 0; b < legs; ++b) {
        Extended s = 0.0L;
        for (int c = 0; c < legs; ++c)
          for (int d = 0; d < legs; ++d) s += inverse[a * legs + c] * meat[c * legs + d] * inverse[d * legs + b];
        out.covariance[a * legs + b] = static_cast<double>(nl * s);
      }
    for (int l = 0; l < legs; ++l) out.standard_errors[l] = std::sqrt(std::max(out.covariance[l * legs + l], 0.0));
  } else if (p > 0) {
    // The pseudo-inverse in correlation units: y = -sum_{lambda_k kept} v_k (v_k . b) / lambda_k,
    // b_a = S_{x_a u} / sd_a, r_a = y_a / sd_a.
    Eigen::VectorXd b(p);
    for (int a = 0; a < p; ++a)
      b(a) = static_cast<double>(sxu[varying[a]] / std::sqrt(sxx[varying[a] * legs + varying[a]]));
    Eigen::VectorXd y = Eigen::VectorXd::Zero(p);
    for (int k = 0; k < p; ++k)
      if (lambda(k) > largest / kSingularHedge) y -= eigen.eigenvectors().col(k) * (eigen.eigenvectors().col(k).dot(b) / lambda(k));
    for (int a = 0; a < p; ++a)
      out.ratios[varying[a]] = y(a) / static_cast<double>(std::sqrt(sxx[varying[a] * legs + varying[a]]));
  }

  // Var p(r) = (S_uu + 2 r.S_xu + r' S_xx r) / (n - 1).
  Extended q = suu;
  for (int l = 0; l < legs; ++l) {
    const Extended rl = out.ratios[l];
    q += 2.0L * rl * sxu[l];
    for (int j = 0; j < legs; ++j) q += rl * static_cast<Extended>(out.ratios[j]) * sxx[l * legs + j];
  }
  out.unhedged_variance = static_cast<double>(std::max(suu, 0.0L) / (nl - 1.0L));
  out.hedged_variance = static_cast<double>(std::max(q, 0.0L) / (nl - 1.0L));
  out.hedge_effectiveness = out.unhedged_variance > 0.0 ? 1.0 - out.hedged_variance / out.unhedged_variance : 0.0;
  return out;
}

// =============================================================================================
// HedgeRows

HedgeRows::HedgeRows(int legs, std::uint64_t capacity) : legs_(legs), capacity_(capacity), columns_(1 + 2 * legs) {
  check_legs(legs);
}

void HedgeRows::hold(std::uint64_t begin, std::uint64_t end) {
  auto it = std::lower_bound(held_.begin(), held_.end(), std::make_pair(begin, end));
  if ((it != held_.end() && it->first < end) || (it != held_.begin() && std::prev(it)->second > begin))
    throw std::logic_error("HedgeRows: path ids [" + std::to_string(begin) + ", " + std::to_string(end) +
                           ") overlap rows already held");
  it = held_.insert(it, {begin, end});
  // Coalesce with the neighbours.
  if (std::next(it) != held_.end() && std::next(it)->first == it->second) {
    it->second = std::next(it)->second;
    held_.erase(std::next(it));
  }
  if (it != held_.begin() && std::prev(it)->second == it->first) {
    std::prev(it)->second = it->second;
    held_.erase(it);
  }
}

void HedgeRows::add(std::uint64_t first_path, std::uint64_t count, const double* u, const double* const* m,
                    const double* const* k) {
  const std::uint64_t begin = first_path, end = std::min(first_path + count, capacity_);
  if (begin >= end) return;
  hold(begin, end);
  for (auto& c : columns_)
    if (c.size() < end) c.resize(end, 0.0);
  const std::uint64_t len = end - begin;
  std::copy(u, u + len, columns_[0].begin() + begin);
  for (int l = 0; l < legs_; ++l) {
    std::copy(m[l], m[l] + len, columns_[1 + l].begin() + begin);
    if (k)
      std::copy(k[l], k[l] + len, columns_[1 + legs_ + l].begin() + begin);
    else
      std::fill(columns_[1 + legs_ + l].begin() + begin, columns_[1 + legs_ + l].begin() + end, 0.0);
  }
}

void HedgeRows::merge(const HedgeRows& other) {
  if (other.legs_ != legs_ || other.capacity_ != capacity_)
    throw std::logic_error("HedgeRows::merge: different legs or capacity");
  for (const auto& [begin, end] : other.held_) {
    std::vector<const double*> m(legs_), k(legs_);
    for (int l = 0; l < legs_; ++l) {
      m[l] = other.marks(l) + begin;
      k[l] = other.costs(l) + begin;
    }
    add(begin, end - begin, other.unhedged() + begin, m.data(), k.data());
  }
}

std::uint64_t HedgeRows::paths() const {
  if (held_.empty()) return 0;
  if (held_.size() != 1 || held_[0].first != 0)
    throw std::logic_error("HedgeRows: the rows held are not a prefix of the path ids (rows not merged yet?)");
  return held_[0].second;
}

std::string HedgeRows::encode() const {
  std::string bytes;
  const std::uint64_t header[3] = {static_cast<std::uint64_t>(legs_), capacity_, held_.size()};
  bytes.append(reinterpret_cast<const char*>(header), sizeof header);
  for (const auto& [begin, end] : held_) {
    const std::uint64_t range[2] = {begin, end};
    bytes.append(reinterpret_cast<const char*>(range), sizeof range);
    for (const auto& c : columns_) bytes.append(reinterpret_cast<const char*>(c.data() + begin), (end - begin) * sizeof(double));
  }
  return bytes;
}

HedgeRows HedgeRows::decode(const std::string& bytes) {
  std::size_t cursor = 0;
  const auto take = [&](void* to, std::size_t size) {
    if (cursor + size > bytes.size()) throw std::logic_error("HedgeRows::decode: truncated");
    std::memcpy(to, bytes.data() + cursor, size);
    cursor += size;
  };
  std::uint64_t header[3];
  take(header, sizeof header);
  if (header[0] < 1 || header[0] > static_cast<std::uint64_t>(kMaxHedgeLegs))
    throw std::logic_error("HedgeRows::decode: bad legs");
  HedgeRows rows(static_cast<int>(header[0]), header[1]);
  for (std::uint64_t r = 0; r < header[2]; ++r) {
    std::uint64_t range[2];
    take(range, sizeof range);
    if (range[1] < range[0] || range[1] > rows.capacity_) throw std::logic_error("HedgeRows::decode: bad range");
    rows.hold(range[0], range[1]);
    for (auto& c : rows.columns_) {
      if (c.size() < range[1]) c.resize(range[1], 0.0);
      take(c.data() + range[0], (range[1] - range[0]) * sizeof(double));
    }
  }
  if (cursor != bytes.size()) throw std::logic_error("HedgeRows::decode: trailing bytes");
  return rows;
}

// =============================================================================================
// ES and VaR at a vector

namespace {

void check_ratios(const HedgeRows& rows, const std::vector<double>& ratios) {
  if (static_cast<int>(ratios.size()) != rows.legs())
    throw std::logic_error("hedge vector: " + std::to_string(ratios.size()) + " ratios for " +
                           std::to_string(rows.legs()) + " legs");
}

/// The top of the losses from the VaR rank up, sorted, as the engine's TailSample.
TailSample loss_tail(std::vector<double> losses, double level) {
  const std::uint64_t n = losses.size();
  if (n < 1) throw NumericalError("the hedge vector's ES needs at least 1 path");
  const std::uint64_t k = var_rank(level, n);
  const auto first = losses.begin() + static_cast<std::ptrdiff_t>(k - 1);
  std::nth_element(losses.begin(), first, losses.end());
  std::sort(first, losses.end());
  return TailSample(n, std::vector<double>(first, losses.end()));
}

}  // namespace

std::vector<double> hedged_losses(const HedgeRows& rows, const std::vector<double>& ratios) {
  check_ratios(rows, ratios);
  const std::uint64_t n = rows.paths();
  const int legs = rows.legs();
  std::vector<double> loss(n);
  const double* u = rows.unhedged();
#pragma omp parallel for schedule(static) if (n > 16 * kReductionBlock)
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(n); ++i) {
    double p = u[i];
    for (int l = 0; l < legs; ++l) p += ratios[l] * rows.marks(l)[i] - std::fabs(ratios[l]) * rows.costs(l)[i];
    loss[i] = -p;
  }
  return loss;
}

double hedged_var(const HedgeRows& rows, const std::vector<double>& ratios, double level) {
  const TailSample tail = loss_tail(hedged_losses(rows, ratios), level);
  return tail.at(var_rank(level, tail.size()) - 1);
}

double hedged_es(const HedgeRows& rows, const std::vector<double>& ratios, double level) {
  return expected_shortfall(loss_tail(hedged_losses(rows, ratios), level), level);
}

PnlStatistics hedged_statistics(const HedgeRows& rows, const std::vector<double>& ratios,
                                const std::vector<RiskLevel>& levels) {
  return estimate_pnl_statistics(hedged_losses(rows, ratios), levels);
}

// =============================================================================================
// The ES surface

EsSurface es_surface(const HedgeRows& rows, const std::vector<double>& ratios_a, const std::vector<double>& ratios_b,
                     double level, const std::vector<double>& fixed, int leg_a, int leg_b) {
  check_ratios(rows, fixed);
  if (leg_a == leg_b || leg_a < 0 || leg_b < 0 || leg_a >= rows.legs() || leg_b >= rows.legs())
    throw std::logic_error("es_surface: two different legs of the rows");
  EsSurface out{leg_a, leg_b, ratios_a, ratios_b, std::vector<double>(ratios_a.size() * ratios_b.size())};
  const std::int64_t points = static_cast<std::int64_t>(out.es.size());
  // One point's ES per thread: each is computed alone, so the bits do not depend on the threads.
#pragma omp parallel for schedule(dynamic)
  for (std::int64_t q = 0; q < points; ++q) {
    std::vector<double> r = fixed;
    r[leg_a] = ratios_a[q / ratios_b.size()];
    r[leg_b] = ratios_b[q % ratios_b.size()];
    out.es[q] = hedged_es(rows, r, level);
  }
  return out;
}

}  // namespace betahedge
