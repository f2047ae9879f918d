#pragma once
/// Turns a raw 32-bit word stream into uniforms, normals and gamma variates. This is the
/// one transform from bits to numbers used by both backends, so equal raw streams give
/// equal draws (up to the last-ulp differences of log and pow between host and device).
///
/// - uniform: u = (w + 0.5) / 2^32, in the open interval (0, 1), never 0 or 1.
/// - normal: the inverse normal CDF of one such uniform by Wichura's AS241 (PPND16, Applied
///   Statistics 37, 1988), accurate to about 1e-16 relative. One word per normal and no
///   rejection; 85% of draws take a rational polynomial only (no log, sin or cos), which
///   made it about twice as fast as Box-Muller on the CPU backend. |z| <= 6.3 by construction.
/// - gamma: Marsaglia-Tsang (2000) squeeze/rejection, with the u^(1/a) boost for shape < 1.
#include <cmath>
#include <concepts>
#include <cstdint>

#include "betahedge/bh_hd.hpp"
#include "betahedge/lane_math.hpp"
#include "betahedge/philox.hpp"

namespace betahedge {

inline constexpr double kInv2Pow32 = 2.3283064365386962890625e-10;

/// (w + 0.5) / 2^32, with w converted through a signed int, which is exact and, unlike an
/// unsigned conversion, one instruction in an AVX2 lane: (w - 2^31) + (2^31 + 0.5).
BH_HD double uniform_from_word(std::uint32_t w) {
  return (static_cast<double>(static_cast<std::int32_t>(w ^ 0x80000000u)) + 2147483648.5) * kInv2Pow32;
}

/// c0 + c1 x + ... + c7 x^7 by Estrin's scheme: the same value as Horner's rule to an ulp or two,
/// with a dependency chain of 4 multiply-adds instead of 7, which is what bounds a vectorised
/// loop of AS241 on the CPU backend (1.4x faster there).
BH_HD double polynomial7(double x, double c0, double c1, double c2, double c3, double c4, double c5, double c6,
                         double c7) {
  const double x2 = x * x, x4 = x2 * x2;
  return ((c0 + c1 * x) + x2 * (c2 + c3 * x)) + x4 * ((c4 + c5 * x) + x2 * (c6 + c7 * x));
}

/// AS241's three regions, each one expression, so that the scalar inverse_normal_cdf and the
/// CPU backend's vectorised passes (philox_block_stream.hpp) compute every draw with the same
/// operations. Central region, |q| <= 0.425, q = p - 0.5.
BH_HD double as241_central(double q) {
  const double r = 0.180625 - q * q;
  return q *
         polynomial7(r, 3.3871328727963666080, 1.3314166789178437745e+2, 1.9715909503065514427e+3,
                     1.3731693765509461125e+4, 4.5921953931549871457e+4, 6.7265770927008700853e+4,
                     3.3430575583588128105e+4, 2.5090809287301226727e+3) /
         polynomial7(r, 1.0, 4.2313330701600911252e+1, 6.8718700749205790830e+2, 5.3941960214247511077e+3,
                     2.1213794301586595867e+4, 3.9307895800092710610e+4, 2.8729085735721942674e+4,
                     5.2264952788528545610e+3);
}

/// Tails: r = sqrt(-log(min(p, 1 - p))); the quantile's magnitude for r <= 5, then beyond.
BH_HD double as241_near_tail(double r) {
  r -= 1.6;
  return polynomial7(r, 1.42343711074968357734, 4.63033784615654529590, 5.76949722146069140550,
                     3.64784832476320460504, 1.27045825245236838258, 2.41780725177450611770e-1,
                     2.27238449892691845833e-2, 7.74545014278341407640e-4) /
         polynomial7(r, 1.0, 2.05319162663775882187, 1.67638483018380384940, 6.89767334985100004550e-1,
                     1.48103976427480074590e-1, 1.51986665636164571966e-2, 5.47593808499534494600e-4,
                     1.05075007164441684324e-9);
}

BH_HD double as241_far_tail(double r) {
  r -= 5.0;
  return polynomial7(r, 6.65790464350110377720, 5.46378491116411436990, 1.78482653991729133580,
                     2.96560571828504891230e-1, 2.65321895265761230930e-2, 1.24266094738807843860e-3,
                     2.71155556874348757815e-5, 2.01033439929228813265e-7) /
         polynomial7(r, 1.0, 5.99832206555887937690e-1, 1.36929880922735805310e-1, 1.48753612908506148525e-2,
                     7.86869131145613259100e-4, 1.84631831751005468180e-5, 1.42151175831644588870e-7,
                     2.04426310338993978564e-15);
}

BH_HD double as241_tail_radius(double p, double q) { return sqrt(-lane_log(q < 0.0 ? p : 1.0 - p)); }

/// The standard normal quantile Phi^{-1}(p), p in (0, 1): AS241's PPND16.
BH_HD double inverse_normal_cdf(double p) {
  const double q = p - 0.5;
  if (fabs(q) <= 0.425) return as241_central(q);
  const double r = as241_tail_radius(p, q);
  const double z = r <= 5.0 ? as241_near_tail(r) : as241_far_tail(r);
  return q < 0.0 ? -z : z;
}

/// The tail region alone, for p with |p - 0.5| > 0.425 in the range of uniform_from_word,
/// [2^-33, 1 - 2^-33]: there r <= sqrt(33 ln 2) = 4.79, so the far tail (r > 5) never occurs and
/// this equals inverse_normal_cdf bit for bit. Branch-free: the CPU backend runs it as SIMD
/// lanes over a block's tail draws.
BH_HD double inverse_normal_cdf_tail(double p) {
  const double q = p - 0.5;
  const double z = as241_near_tail(as241_tail_radius(p, q));
  return q < 0.0 ? -z : z;
}

/// A generator that hands out its words one by one together with the normal of each word
/// (inverse_normal_cdf(uniform_from_word(word))), computed ahead in blocks: the CPU backend's
/// PhiloxBlockStream. RandomDraws then takes both from it instead of computing them.
template <class Generator>
concept PrecomputesNormals = requires(Generator& g) {
  { g.next_word() } -> std::same_as<std::uint32_t>;
  { g.next_normal() } -> std::same_as<double>;
};

template <class Generator>
class RandomDraws {
 public:
  BH_HD explicit RandomDraws(Generator& gen) : gen_(gen) {}

  BH_HD std::uint32_t next_word() {
    if constexpr (PrecomputesNormals<Generator>) {
      return gen_.next_word();
    } else {
      if (used_ == 4) {
        block_ = gen_.next4();
        used_ = 0;
      }
      const std::uint32_t w = used_ == 0 ? block_.x : used_ == 1 ? block_.y : used_ == 2 ? block_.z : block_.w;
      ++used_;
      return w;
    }
  }

  BH_HD double uniform() { return uniform_from_word(next_word()); }

  BH_HD double normal() {
    if constexpr (PrecomputesNormals<Generator>)
      return gen_.next_normal();
    else
      return inverse_normal_cdf(uniform());
  }

  /// Gamma(shape, 1), shape > 0.
  BH_HD double gamma(double shape) {
    double boost = 1.0;
    if (shape < 1.0) {
      // u^(1/shape) as exp(log(u) / shape): inline on both backends, where CUDA's pow is a
      // subroutine whose call made the GPU kernel spill registers.
      boost = lane_exp(lane_log(uniform()) / shape);
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
};

}  // namespace betahedge
