#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "betahedge/philox.hpp"
#include "betahedge/random_draws.hpp"

#if __has_include(<curand_kernel.h>)
#include <curand_kernel.h>
#define BETAHEDGE_HAVE_CURAND_HEADER 1
#endif

namespace betahedge {
namespace {

// Random123's published known-answer vectors (kat_vectors, philox4x32 10): counter, key, output.
struct KnownAnswer {
  RandomWords4 ctr;
  PhiloxKey key;
  RandomWords4 expected;
};

TEST(Philox, MatchesRandom123KnownAnswers) {
  const KnownAnswer cases[] = {
      {{0u, 0u, 0u, 0u}, {0u, 0u}, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
      {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
       {0xffffffffu, 0xffffffffu},
       {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
      {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
       {0xa4093822u, 0x299f31d0u},
       {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
  };
  for (const KnownAnswer& c : cases) {
    const RandomWords4 out = philox4x32_10(c.ctr, c.key);
    EXPECT_EQ(out.x, c.expected.x);
    EXPECT_EQ(out.y, c.expected.y);
    EXPECT_EQ(out.z, c.expected.z);
    EXPECT_EQ(out.w, c.expected.w);
  }
}

TEST(Philox, StreamStartsAtSubsequenceCounter) {
  // Subsequence s starts at counter {0, 0, lo(s), hi(s)} under key {lo(seed), hi(seed)}.
  const std::uint64_t seed = 0x0123456789abcdefULL, subsequence = 0x000000050000000aULL;
  PhiloxStream stream(seed, subsequence);
  const PhiloxKey key{0x89abcdefu, 0x01234567u};
  for (std::uint32_t block = 0; block < 3; ++block) {
    const RandomWords4 expected = philox4x32_10({block, 0u, 0x0000000au, 0x00000005u}, key);
    const RandomWords4 got = stream.next4();
    EXPECT_EQ(got.x, expected.x);
    EXPECT_EQ(got.w, expected.w);
  }
}

#ifdef BETAHEDGE_HAVE_CURAND_HEADER
// cuRAND's own Philox code, compiled for the host from curand_kernel.h, is the reference for
// the device stream: the kernels call exactly these functions.
TEST(Philox, StreamEqualsCurandDeviceApiBitForBit) {
  for (std::uint64_t seed : {0ULL, 42ULL, 0xfedcba9876543210ULL}) {
    for (std::uint64_t path : {0ULL, 1ULL, 12345ULL, (1ULL << 32) + 7ULL}) {
      curandStatePhilox4_32_10_t state;
      curand_init(seed, path, 0, &state);
      PhiloxStream ours(seed, path);
      for (int block = 0; block < 64; ++block) {
        const uint4 want = curand4(&state);
        const RandomWords4 got = ours.next4();
        ASSERT_EQ(got.x, want.x) << "seed " << seed << " path " << path << " block " << block;
        ASSERT_EQ(got.y, want.y);
        ASSERT_EQ(got.z, want.z);
        ASSERT_EQ(got.w, want.w);
      }
    }
  }
}
#endif

TEST(RandomDraws, UniformsStayInsideTheOpenInterval) {
  EXPECT_GT(uniform_from_word(0u), 0.0);
  EXPECT_LT(uniform_from_word(0xffffffffu), 1.0);
}

// AS241 against the normal CDF from libm's erfc (an independent implementation): Phi(z(p)) = p
// to 1e-15 (1 + z^2) relative (the CDF magnifies a relative error of z by about z^2 in the
// tails), and the symmetry z(1 - p) = -z(p) where 1 - p is exact enough to test it.
TEST(RandomDraws, InverseNormalCdfInvertsTheCdf) {
  for (double p : {1e-300, 1e-100, 1e-20, 2.3e-10, 1e-6, 0.001, 0.0227, 0.075, 0.0750001, 0.2, 0.4, 0.5, 0.6,
                   0.924, 0.975, 0.999, 1.0 - 1e-9}) {
    const double z = inverse_normal_cdf(p);
    const double cdf = 0.5 * std::erfc(-z / std::sqrt(2.0));
    EXPECT_NEAR(cdf / p, 1.0, 1e-15 * (1.0 + z * z)) << "p " << p;
    if (p > 1e-4 && p < 1.0 - 1e-4) EXPECT_NEAR(inverse_normal_cdf(1.0 - p), -z, 1e-12);
  }
  EXPECT_EQ(inverse_normal_cdf(0.5), 0.0);
  EXPECT_NEAR(inverse_normal_cdf(0.975), 1.959963984540054, 1e-15);
}

// Kolmogorov-Smirnov on 200,000 normals: the 1% critical value of sqrt(n) D is 1.628.
TEST(RandomDraws, NormalsPassKolmogorovSmirnov) {
  PhiloxStream gen(7, 3);
  RandomDraws<PhiloxStream> draws(gen);
  const int n = 200000;
  std::vector<double> z(n);
  for (double& x : z) x = draws.normal();
  std::sort(z.begin(), z.end());
  double d = 0.0;
  for (int i = 0; i < n; ++i) {
    const double cdf = 0.5 * std::erfc(-z[i] / std::sqrt(2.0));
    d = std::max({d, std::abs(cdf - static_cast<double>(i) / n), std::abs(cdf - static_cast<double>(i + 1) / n)});
  }
  EXPECT_LT(std::sqrt(static_cast<double>(n)) * d, 1.628);
}

// Gamma(a): mean a and variance a; the sample mean is within 4 standard errors (sqrt(a/n)).
TEST(RandomDraws, GammaMeanAndVarianceMatch) {
  for (double shape : {0.6, 2.5, 4.0}) {
    PhiloxStream gen(11, 0);
    RandomDraws<PhiloxStream> draws(gen);
    const int n = 200000;
    double sum = 0.0, sum_sq = 0.0;
    for (int i = 0; i < n; ++i) {
      const double g = draws.gamma(shape);
      sum += g;
      sum_sq += g * g;
    }
    const double mean = sum / n, var = sum_sq / n - mean * mean;
    EXPECT_NEAR(mean, shape, 4.0 * std::sqrt(shape / n)) << "shape " << shape;
    // Var of the sample variance of a gamma: (mu4 - sigma^4)/n with mu4 = 3a^2 + 6a.
    EXPECT_NEAR(var, shape, 4.0 * std::sqrt((3 * shape * shape + 6 * shape - shape * shape) / n)) << "shape " << shape;
  }
}

}  // namespace
}  // namespace betahedge
