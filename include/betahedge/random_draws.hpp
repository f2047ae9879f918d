#pragma once
/// Turns a raw 32-bit word stream into uniforms, normals and gamma variates. This is the
/// one transform from bits to numbers used by both backends, so equal raw streams give
/// equal draws (up to the last-ulp differences of log/sin/cos between host and device).
///
/// - uniform: u = (w + 0.5) / 2^32, in the open interval (0, 1), never 0 or 1.
/// - normal: Box-Muller on two such uniforms, in double precision; each pair of words gives
///   two normals, the second kept for the next call. |z| <= 6.66 by construction.
/// - gamma: Marsaglia-Tsang (2000) squeeze/rejection, with the u^(1/a) boost for shape < 1.
#include <cmath>
#include <cstdint>

#include "betahedge/bh_hd.hpp"
#include "betahedge/philox.hpp"

namespace betahedge {

inline constexpr double kTwoPi = 6.283185307179586476925286766559;
inline constexpr double kInv2Pow32 = 2.3283064365386962890625e-10;

BH_HD double uniform_from_word(std::uint32_t w) { return (static_cast<double>(w) + 0.5) * kInv2Pow32; }

/// Any generator with `RandomWords4 next4()`: PhiloxStream on the host, the cuRAND adapter
/// on the device, or a test's scripted source.
template <class Generator>
class RandomDraws {
 public:
  BH_HD explicit RandomDraws(Generator& gen) : gen_(gen) {}

  BH_HD std::uint32_t next_word() {
    if (used_ == 4) {
      block_ = gen_.next4();
      used_ = 0;
    }
    const std::uint32_t w = used_ == 0 ? block_.x : used_ == 1 ? block_.y : used_ == 2 ? block_.z : block_.w;
    ++used_;
    return w;
  }

  BH_HD double uniform() { return uniform_from_word(next_word()); }

  BH_HD double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = uniform();
    const double u2 = uniform();
    const double radius = sqrt(-2.0 * log(u1));
    const double angle = kTwoPi * u2;
    spare_ = radius * sin(angle);
    has_spare_ = true;
    return radius * cos(angle);
  }

  /// Gamma(shape, 1), shape > 0.
  BH_HD double gamma(double shape) {
    double boost = 1.0;
    if (shape < 1.0) {
      boost = pow(uniform(), 1.0 / shape);
      shape += 1.0;
    }
    const double d = shape - 1.0 / 3.0;
    const double c = 1.0 / sqrt(9.0 * d);
    for (;;) {
      const double x = normal();
      double v = 1.0 + c * x;
      if (v <= 0.0) continue;
      v = v * v * v;
      const double u = uniform();
      if (u < 1.0 - 0.0331 * (x * x) * (x * x)) return boost * d * v;
      if (log(u) < 0.5 * x * x + d * (1.0 - v + log(v))) return boost * d * v;
    }
  }

  /// Chi-square with `dof` degrees of freedom.
  BH_HD double chi_square(double dof) { return 2.0 * gamma(0.5 * dof); }

 private:
  Generator& gen_;
  RandomWords4 block_{0u, 0u, 0u, 0u};
  int used_ = 4;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

}  // namespace betahedge
