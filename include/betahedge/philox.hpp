#pragma once
/// Philox4x32-10 (Salmon et al. 2011, Random123), laid out as cuRAND's
/// curandStatePhilox4_32_10_t: key = seed (low word, high word); counter =
/// {0, 0, subsequence low, subsequence high} advanced by one per 128-bit block.
/// `PhiloxStream(seed, path_id).next4()` returns the same words, in the same order, as
/// cuRAND's `curand_init(seed, path_id, 0, &s); curand4(&s)` on the device.
#include <cstdint>

#include "betahedge/bh_hd.hpp"

namespace betahedge {

struct RandomWords4 {
  std::uint32_t x, y, z, w;
};

struct PhiloxKey {
  std::uint32_t lo, hi;
};

namespace philox_detail {
inline constexpr std::uint32_t kMultiplier0 = 0xD2511F53u;
inline constexpr std::uint32_t kMultiplier1 = 0xCD9E8D57u;
inline constexpr std::uint32_t kWeyl0 = 0x9E3779B9u;  // golden ratio
inline constexpr std::uint32_t kWeyl1 = 0xBB67AE85u;  // sqrt(3) - 1

BH_HD RandomWords4 round(RandomWords4 ctr, PhiloxKey key) {
  const std::uint64_t p0 = static_cast<std::uint64_t>(kMultiplier0) * ctr.x;
  const std::uint64_t p1 = static_cast<std::uint64_t>(kMultiplier1) * ctr.z;
  const auto hi0 = static_cast<std::uint32_t>(p0 >> 32), lo0 = static_cast<std::uint32_t>(p0);
  const auto hi1 = static_cast<std::uint32_t>(p1 >> 32), lo1 = static_cast<std::uint32_t>(p1);
  return {hi1 ^ ctr.y ^ key.lo, lo1, hi0 ^ ctr.w ^ key.hi, lo0};
}
}  // namespace philox_detail

/// The Philox4x32 bijection with 10 rounds: one 128-bit counter block to 128 random bits.
BH_HD RandomWords4 philox4x32_10(RandomWords4 ctr, PhiloxKey key) {
  for (int r = 0; r < 9; ++r) {
    ctr = philox_detail::round(ctr, key);
    key.lo += philox_detail::kWeyl0;
    key.hi += philox_detail::kWeyl1;
  }
  return philox_detail::round(ctr, key);
}

/// The host twin of cuRAND's Philox state restricted to curand4() draws at offset 0.
class PhiloxStream {
 public:
  BH_HD PhiloxStream(std::uint64_t seed, std::uint64_t subsequence)
      : key_{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)},
        ctr_{0u, 0u, static_cast<std::uint32_t>(subsequence), static_cast<std::uint32_t>(subsequence >> 32)} {}

  /// The next 128 random bits of this subsequence.
  BH_HD RandomWords4 next4() {
    const RandomWords4 out = philox4x32_10(ctr_, key_);
    // 128-bit increment of the counter's low 64 bits with carry, as cuRAND does.
    if (++ctr_.x == 0u && ++ctr_.y == 0u && ++ctr_.z == 0u) ++ctr_.w;
    return out;
  }

 private:
  PhiloxKey key_;
  RandomWords4 ctr_;
};

}  // namespace betahedge
