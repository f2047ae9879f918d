#pragma once
/// The CPU backend's random source: a path's Philox words and their normals computed ahead,
/// up to kMaxBlocks counters at a time, in passes the compiler vectorises (each counter is
/// independent, and AS241 is evaluated region by region over packed draws). The path code then
/// takes words and normals one by one through RandomDraws, in the same order and with the same
/// values as PhiloxStream + inverse_normal_cdf: a path's numbers depend neither on which
/// generator ran it nor on the instruction set the block was computed with.
#include <algorithm>
#include <cstdint>

#include "betahedge/philox.hpp"
#include "betahedge/random_draws.hpp"

namespace betahedge {

/// One block of draws in the order the path takes them: word j is the (j % 4)-th 32-bit word of
/// counter first + j / 4; normals[j] is its normal. Plus scratch for the tail draws.
struct DrawBlock {
  static constexpr int kMaxBlocks = 128;  ///< counters per fill
  static constexpr int kMaxWords = 4 * kMaxBlocks;  ///< 512 words: 10 KB with the scratch, inside L1
  std::uint32_t words[kMaxWords];
  double normals[kMaxWords];
  std::uint32_t tail_word[kMaxWords];  ///< the words whose normals lie in AS241's tails, packed
  double tail_z[kMaxWords];            ///< their normals
  int tail_at[kMaxWords];              ///< where each goes in normals
};

/// The first pass of a fill: the Philox words of counters first_counter .. + blocks - 1.
inline void fill_philox_words(DrawBlock& block, PhiloxKey key, std::uint64_t subsequence,
                              std::uint64_t first_counter, int blocks) {
  const auto sub_lo = static_cast<std::uint32_t>(subsequence), sub_hi = static_cast<std::uint32_t>(subsequence >> 32);
  for (int b = 0; b < blocks; ++b) {
    const std::uint64_t counter = first_counter + static_cast<std::uint64_t>(b);
    const RandomWords4 w = philox4x32_10(
        {static_cast<std::uint32_t>(counter), static_cast<std::uint32_t>(counter >> 32), sub_lo, sub_hi}, key);
    block.words[4 * b + 0] = w.x;
    block.words[4 * b + 1] = w.y;
    block.words[4 * b + 2] = w.z;
    block.words[4 * b + 3] = w.w;
  }
}

/// Whether word w's normal comes from AS241's tails, |uniform_from_word(w) - 0.5| > 0.425, as a
/// comparison of words: the tails are the words below kTailBelow or from kTailFrom up. The two
/// bounds are the exact edges of that double comparison (tests/host/cpu_backend checks them).
inline constexpr std::uint32_t kTailBelow = 322122547u;   // 0.075 x 2^32, rounded to the edge
inline constexpr std::uint32_t kTailFrom = 3972844749u;   // 0.925 x 2^32, likewise
inline bool is_tail_word(std::uint32_t w) { return w - kTailBelow >= kTailFrom - kTailBelow; }

/// The other passes: the normal of each of the first `words` words. AS241's central region
/// for every word (85% of them are central, and a branch per word would mispredict); the tail
/// words packed together; AS241's tail for those; back into place. All but the packing are
/// loops the compiler vectorises. Computing the tail for every word instead, with a select
/// per lane, cost three times as much.
inline void fill_normals(DrawBlock& block, int words) {
  for (int j = 0; j < words; ++j) block.normals[j] = as241_central(uniform_from_word(block.words[j]) - 0.5);
  int tails = 0;
  for (int j = 0; j < words; ++j) {
    const std::uint32_t w = block.words[j];
    block.tail_word[tails] = w;
    block.tail_at[tails] = j;
    tails += is_tail_word(w) ? 1 : 0;
  }
  for (int t = 0; t < tails; ++t) block.tail_z[t] = inverse_normal_cdf_tail(uniform_from_word(block.tail_word[t]));
  for (int t = 0; t < tails; ++t) block.normals[block.tail_at[t]] = block.tail_z[t];
}

/// Fills `block` with the words and normals of counters first_counter .. + blocks - 1 of
/// `subsequence` under `key`, as PhiloxStream numbers them. Compiled once per instruction set
/// (cpu_backend.cpp).
using FillDrawBlock = void (*)(DrawBlock& block, PhiloxKey key, std::uint64_t subsequence,
                               std::uint64_t first_counter, int blocks);

/// A PrecomputesNormals generator for one path (subsequence = path id), the same word stream
/// as PhiloxStream(seed, path_id). `expected_words` sizes the blocks (the path's known need,
/// so little is computed and thrown away); past it (a Student-t path's rejections), blocks of
/// kTopUpWords.
class PhiloxBlockStream {
 public:
  PhiloxBlockStream(std::uint64_t seed, std::uint64_t path_id, int expected_words, DrawBlock& block,
                    FillDrawBlock fill)
      : key_{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)},
        path_id_(path_id),
        expected_left_(expected_words),
        block_(block),
        fill_(fill) {}

  std::uint32_t next_word() {
    if (position_ == available_) refill();
    return block_.words[position_++];
  }

  double next_normal() {
    if (position_ == available_) refill();
    return block_.normals[position_++];
  }

 private:
  void refill() {
    const int words = expected_left_ > 0 ? expected_left_ : kTopUpWords;
    const int blocks = std::min((words + 3) / 4, DrawBlock::kMaxBlocks);
    fill_(block_, key_, path_id_, next_counter_, blocks);
    next_counter_ += static_cast<std::uint64_t>(blocks);
    available_ = 4 * blocks;
    position_ = 0;
    expected_left_ -= available_;
  }

  static constexpr int kTopUpWords = 32;

  PhiloxKey key_;
  std::uint64_t path_id_;
  std::uint64_t next_counter_ = 0;
  int expected_left_;
  int available_ = 0;
  int position_ = 0;
  DrawBlock& block_;
  FillDrawBlock fill_;
};

}  // namespace betahedge
