#pragma once
/// exp and log for the hot loops of the path code: on the device CUDA's own; on the host our
/// branch-free versions, which the compiler vectorises when they are called in a loop over
/// lanes (assets, or a block of draws) and which give the same bits in a scalar call, an SSE2,
/// an AVX2 or an AVX-512 lane. That is what lets the CPU backend run its SIMD loops and still
/// return, path by path, exactly what the scalar path code returns (the project builds with
/// -ffp-contract=off, so no compiler fuses a multiply-add in one variant and not another).
/// glibc's exp and log could not do this: its vector versions (libmvec) round differently from
/// its scalar ones.
///
/// Algorithms: fdlibm's (Sun, 1993) reductions; log with fdlibm's polynomial, exp with a Taylor
/// polynomial; no branches. Both are within 2 ulp of glibc's (tests/include/lane_math_test.cpp).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "betahedge/bh_hd.hpp"

namespace betahedge {
namespace lane_math_detail {

inline double bits_to_double(std::uint64_t bits) {
  double x;
  std::memcpy(&x, &bits, sizeof x);
  return x;
}
inline std::uint64_t double_to_bits(double x) {
  std::uint64_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits;
}

inline constexpr double kLn2Hi = 6.93147180369123816490e-01;  // 32 bits: k * kLn2Hi is exact for |k| < 2^20
inline constexpr double kLn2Lo = 1.90821492927058770002e-10;
inline constexpr double kLog2e = 1.44269504088896338700e+00;
inline constexpr double kRoundShift = 6755399441055744.0;  // 1.5 x 2^52: adding it rounds to an integer
inline constexpr double kTwoPow52 = 4503599627370496.0;

/// exp(x): x = k ln2 + r, |r| <= ln2/2 (fdlibm's reduction), exp(r) by its Taylor polynomial of
/// degree 13 (truncation below 5e-18 relative) in Estrin's scheme. No division and a short
/// dependency chain: the path code waits on this value before its rebalancing branch, so the
/// latency, not the throughput, is what costs (fdlibm's rational form took twice as long).
inline double host_exp(double x) {
  const double shifted = x * kLog2e + kRoundShift;
  const double k = shifted - kRoundShift;  // round(x / ln2)
  const auto k_int = static_cast<std::int64_t>(double_to_bits(shifted) - double_to_bits(kRoundShift));
  const double r = (x - k * kLn2Hi) - k * kLn2Lo;
  const double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
  const double low = ((1.0 + r) + r2 * (1.0 / 2 + r * (1.0 / 6))) +
                     r4 * ((1.0 / 24 + r * (1.0 / 120)) + r2 * (1.0 / 720 + r * (1.0 / 5040)));
  const double high = ((1.0 / 40320 + r * (1.0 / 362880)) + r2 * (1.0 / 3628800 + r * (1.0 / 39916800))) +
                      r4 * (1.0 / 479001600 + r * (1.0 / 6227020800));
  const double y = low + r8 * high;  // exp(r), in [0.70, 1.42]
  // y * 2^k by adding k to the exponent field: normal for every x in [-708, 709.78].
  const double scaled = bits_to_double(double_to_bits(y) + (static_cast<std::uint64_t>(k_int) << 52));
  const double finite = x > 709.782712893384 ? std::numeric_limits<double>::infinity()
                        : x < -708.0         ? 0.0  // e^-708 = 3.3e-308: below it we flush to zero
                                             : scaled;
  return x != x ? x : finite;
}

/// log(x) for a positive normal x (the only inputs the path code gives it) by fdlibm's e_log.c:
/// x = 2^e m, m in [sqrt(2)/2, sqrt(2)), log(m) = f - hfsq + s (hfsq + R(s^2)), s = f / (2 + f).
inline double host_log(double x) {
  const std::uint64_t bits = double_to_bits(x);
  const double biased_exponent = bits_to_double((bits >> 52) | 0x4330000000000000ull) - kTwoPow52;
  double m = bits_to_double((bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull);  // [1, 2)
  const bool halve = m > 1.41421356237309504880;
  m = halve ? 0.5 * m : m;
  const double k = biased_exponent - 1023.0 + (halve ? 1.0 : 0.0);
  const double f = m - 1.0;
  const double s = f / (2.0 + f);
  const double z = s * s;
  const double w = z * z;
  const double t1 = w * (3.999999999940941908e-01 + w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01));
  const double t2 = z * (6.666666666666735130e-01 +
                         w * (2.857142874366239149e-01 + w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)));
  const double hfsq = 0.5 * f * f;
  return k * kLn2Hi - ((hfsq - (s * (hfsq + (t2 + t1)) + k * kLn2Lo)) - f);
}

}  // namespace lane_math_detail

/// e^x: CUDA's exp on the device; on the host fdlibm's without branches (NaN and +-inf are
/// kept, results below e^-708 are flushed to 0).
BH_HD double lane_exp(double x) {
#if defined(__CUDA_ARCH__)
  return exp(x);
#else
  return lane_math_detail::host_exp(x);
#endif
}

/// log(x) for positive normal x: CUDA's log on the device, fdlibm's without branches on the host.
BH_HD double lane_log(double x) {
#if defined(__CUDA_ARCH__)
  return log(x);
#else
  return lane_math_detail::host_log(x);
#endif
}

/// max and min of running extremes as selects: the same as fmax and fmin for a first argument
/// that is a number (a NaN second argument is ignored by both), and inlined, where a host
/// compiler calls libm's fmax and fmin (they must treat signed zeros and NaNs exactly).
BH_HD double larger(double running, double x) { return x > running ? x : running; }
BH_HD double smaller(double running, double x) { return x < running ? x : running; }

}  // namespace betahedge
