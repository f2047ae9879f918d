// lane_exp and lane_log (the host's branch-free exp and log of the path code) against glibc:
// within 2 and 1 ulp over their domains, and the special values.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "betahedge/lane_math.hpp"

namespace betahedge {
namespace {

double ulps_apart(double value, double reference) {
  const double ulp = std::nextafter(std::fabs(reference), std::numeric_limits<double>::infinity()) - std::fabs(reference);
  return std::fabs(value - reference) / ulp;
}

TEST(LaneMath, ExpIsWithinTwoUlpOfGlibc) {
  std::mt19937_64 rng(2026);
  std::uniform_real_distribution<double> wide(-708.0, 709.78), near_zero(-1.0, 1.0);
  double worst = 0.0;
  for (int i = 0; i < 2000000; ++i) {
    for (double x : {wide(rng), near_zero(rng), near_zero(rng) * 1e-6})
      worst = std::max(worst, ulps_apart(lane_exp(x), std::exp(x)));
  }
  EXPECT_LE(worst, 2.0);
  EXPECT_EQ(lane_exp(0.0), 1.0);
}

TEST(LaneMath, ExpSpecialValues) {
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(lane_exp(709.79), inf);
  EXPECT_EQ(lane_exp(1e300), inf);
  EXPECT_EQ(lane_exp(inf), inf);
  EXPECT_EQ(lane_exp(-708.5), 0.0);  // flushed: below e^-708 the path code has no use for subnormals
  EXPECT_EQ(lane_exp(-inf), 0.0);
  EXPECT_TRUE(std::isnan(lane_exp(std::nan(""))));
  EXPECT_LE(ulps_apart(lane_exp(709.78), std::exp(709.78)), 2.0);
  EXPECT_LE(ulps_apart(lane_exp(-708.0), std::exp(-708.0)), 2.0);
}

TEST(LaneMath, LogIsWithinOneUlpOfGlibcForPositiveNormals) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> exponent(-700.0, 700.0), near_one(0.5, 2.0), as241_tail(1e-10, 0.075);
  double worst = 0.0;
  for (int i = 0; i < 2000000; ++i) {
    for (double x : {std::exp(exponent(rng)), near_one(rng), as241_tail(rng)})
      worst = std::max(worst, ulps_apart(lane_log(x), std::log(x)));
  }
  EXPECT_LE(worst, 1.0);
  EXPECT_EQ(lane_log(1.0), 0.0);
  EXPECT_LE(ulps_apart(lane_log(std::numeric_limits<double>::min()), std::log(std::numeric_limits<double>::min())), 1.0);
  EXPECT_LE(ulps_apart(lane_log(std::numeric_limits<double>::max()), std::log(std::numeric_limits<double>::max())), 1.0);
}

}  // namespace
}  // namespace betahedge
