#include "stats/tail_sample.hpp"

#include <algorithm>
#include <cstring>
#include <functional>
#include <stdexcept>

#include "stats/risk_statistics.hpp"

namespace betahedge {

void TailKeeper::add(const double* values, std::uint64_t count, bool negate) {
  if (keep_ == 0) return;
  // Trim once the buffer holds half as much again as it keeps: the threshold then rises, and
  // after the first few batches almost every value is turned away by one comparison.
  const std::uint64_t trim_at = keep_ + std::max<std::uint64_t>(keep_ / 2, 4096);
  if (values_.capacity() < trim_at) values_.reserve(trim_at);  // never grown past it: trimmed there
  for (std::uint64_t i = 0; i < count; ++i) {
    // + 0.0 turns -0.0 into +0.0, so that which zero a tie keeps cannot differ between runs.
    const double x = (negate ? -values[i] : values[i]) + 0.0;
    if (!(x >= threshold_)) continue;  // also turns away NaN (the moments report it)
    values_.push_back(x);
    if (values_.size() >= trim_at) {
      peak_ = std::max<std::uint64_t>(peak_, values_.capacity());
      trim();
    }
  }
  peak_ = std::max<std::uint64_t>(peak_, values_.capacity());
}

void TailKeeper::add(const TailKeeper& other) {
  add(other.values_.data(), other.values_.size(), false);
  if (values_.size() > keep_) trim();
}

void TailKeeper::trim() {
  if (values_.size() <= keep_) return;
  const auto cut = values_.begin() + static_cast<std::ptrdiff_t>(keep_);
  std::nth_element(values_.begin(), cut - 1, values_.end(), std::greater<double>());
  threshold_ = *(cut - 1);
  values_.erase(cut, values_.end());
}

std::vector<double> TailKeeper::sorted_values() const {
  TailKeeper copy = *this;
  copy.trim();
  std::sort(copy.values_.begin(), copy.values_.end());
  return std::move(copy.values_);
}

void TailKeeper::write(std::string& bytes) const {
  const std::uint64_t header[2] = {keep_, values_.size()};
  bytes.append(reinterpret_cast<const char*>(header), sizeof header);
  bytes.append(reinterpret_cast<const char*>(values_.data()), values_.size() * sizeof(double));
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
  k.peak_ = header[1];
  return k;
}

TailSample::TailSample(std::uint64_t size, std::vector<double> top_ascending) : size_(size), top_(std::move(top_ascending)) {
  if (top_.size() > size_) throw std::logic_error("TailSample: more kept values than the sample has");
}

const double* TailSample::element(std::uint64_t i) const {
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
