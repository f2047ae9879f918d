#include "stats/tail_sample.hpp"

#include <algorithm>
#include <cstring>
#include <functional>
#include <stdexcept>

#include "betahedge/error.hpp"
#include "stats/risk_statistics.hpp"

namespace betahedge {

void TailKeeper::add(const double* values, std::uint64_t count, bool negate) {
  if (keep_ == 0) return;
  // Trim once the buffer holds half as much again as it keeps: the threshold then rises, and
  // after the first few batches almost every value is turned away by one comparison.
  const std::uint64_t trim_at = keep_ + std::max<std::uint64_t>(keep_ / 2, 4096);
  // Every value is written past the held ones and kept by counting it, a select rather than a
  // branch, since which values pass is unpredictable while the threshold is low. Fewer than
  // trim_at are held whenever one is written (trim_at held are trimmed at once), so the buffer
  // is trim_at long, allocated once.
  if (values_.size() < trim_at) values_.resize(trim_at);
  peak_ = std::max<std::uint64_t>(peak_, values_.size());
  double* buffer = values_.data();
  std::uint64_t held = held_;
  const double sign = negate ? -1.0 : 1.0;
  const auto offer = [&](std::uint64_t i) {
    // + 0.0 turns -0.0 into +0.0, so that which zero a tie keeps cannot differ between runs.
    const double x = sign * values[i] + 0.0;
    buffer[held] = x;
    held += x >= threshold_ ? 1 : 0;  // NaN is turned away too (the moments report it)
    if (held == trim_at) {
      held_ = held;
      trim();
      held = held_;
    }
  };
  // Once the threshold has risen, most runs of 8 values hold none that passes: one vector max
  // turns them away together.
  constexpr std::uint64_t kRun = 8;
  std::uint64_t i = 0;
  for (; i + kRun <= count; i += kRun) {
    double top = -__builtin_inf();
    for (std::uint64_t k = 0; k < kRun; ++k) {
      const double x = sign * values[i + k];
      top = x > top ? x : top;  // never NaN
    }
    if (!(top >= threshold_)) continue;
    for (std::uint64_t k = 0; k < kRun; ++k) offer(i + k);
  }
  for (; i < count; ++i) offer(i);
  held_ = held;
}

void TailKeeper::add(const TailKeeper& other) {
  add(other.values_.data(), other.held_, false);
  if (held_ > keep_) trim();
}

void TailKeeper::trim() {
  if (held_ <= keep_) return;
  const auto begin = values_.begin();
  const auto cut = begin + static_cast<std::ptrdiff_t>(keep_);
  std::nth_element(begin, cut - 1, begin + static_cast<std::ptrdiff_t>(held_), std::greater<double>());
  threshold_ = *(cut - 1);
  held_ = keep_;
}

std::vector<double> TailKeeper::sorted_values() const {
  std::vector<double> top(values_.begin(), values_.begin() + static_cast<std::ptrdiff_t>(held_));
  if (top.size() > keep_) {
    const auto cut = top.begin() + static_cast<std::ptrdiff_t>(keep_);
    std::nth_element(top.begin(), cut - 1, top.end(), std::greater<double>());
    top.erase(cut, top.end());
  }
  std::sort(top.begin(), top.end());
  return top;
}

TailSample TailKeeper::sample(std::uint64_t size, std::string what) const {
  std::vector<double> top = sorted_values();
  // Fewer held than kept means nothing was ever trimmed: every value offered but NaN is held.
  const std::uint64_t not_a_number = top.size() < std::min(keep_, size) ? size - top.size() : 0;
  return TailSample(size, std::move(top), not_a_number, std::move(what));
}

void TailKeeper::write(std::string& bytes) const {
  const std::uint64_t header[2] = {keep_, held_};
  bytes.append(reinterpret_cast<const char*>(header), sizeof header);
  bytes.append(reinterpret_cast<const char*>(values_.data()), held_ * sizeof(double));
}

TailKeeper TailKeeper::read(const std::string& bytes, std::size_t& cursor) {
  std::uint64_t header[2];
  if (cursor + sizeof header > bytes.size()) throw std::logic_error("TailKeeper::read: truncated");
  std::memcpy(header, bytes.data() + cursor, sizeof header);
  cursor += sizeof header;
  if (cursor + header[1] * sizeof(double) > bytes.size()) throw std::logic_error("TailKeeper::read: truncated");
  TailKeeper k(header[0]);
  k.values_.resize(header[1]);
  std::memcpy(k.values_.data(), bytes.data() + cursor, header[1] * sizeof(double));
  cursor += header[1] * sizeof(double);
  k.held_ = header[1];
  k.peak_ = header[1];
  return k;
}

TailSample::TailSample(std::uint64_t size, std::vector<double> top_ascending, std::uint64_t not_a_number,
                       std::string what)
    : size_(size), top_(std::move(top_ascending)), not_a_number_(not_a_number), what_(std::move(what)) {
  if (top_.size() + not_a_number_ > size_) throw std::logic_error("TailSample: more values than the sample has");
}

const double* TailSample::element(std::uint64_t i) const {
  // NaN values sort nowhere: an order statistic among them does not exist.
  if (i < first_kept() && not_a_number_ > 0)
    throw NumericalError(what_ + " is NaN on " + std::to_string(not_a_number_) + " of " + std::to_string(size_) +
                         " paths (the simulation overflowed or divided by zero; "
                         "check the book's holdings, the model's vols and means, the horizon and the stresses "
                         "for extreme values)");
  if (i < first_kept() || i >= size_)
    throw std::logic_error("TailSample: order statistic " + std::to_string(i) + " of " + std::to_string(size_) +
                           " was not kept (the top " + std::to_string(top_.size()) + " were)");
  return top_.data() + (i - first_kept());
}

double TailSample::at(std::uint64_t i) const { return *element(i); }

double TailSample::sum(std::uint64_t lo, std::uint64_t hi) const {
  return hi > lo ? ordered_sum(element(lo), hi - lo) : 0.0;
}

double TailSample::sum_squared_deviation(std::uint64_t lo, std::uint64_t hi, double center) const {
  if (hi <= lo) return 0.0;
  const double* x = element(lo);
  return ordered_sum_of(hi - lo, [x, center](std::uint64_t i) { return (x[i] - center) * (x[i] - center); });
}

}  // namespace betahedge
