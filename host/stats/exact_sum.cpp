#include "stats/exact_sum.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace betahedge {
namespace {

/// Rounds the exact sum of `partials` (non-overlapping, increasing magnitude) to the nearest
/// double, ties to even: math.fsum's final step.
double round_partials(const std::vector<double>& partials) {
  std::size_t n = partials.size();
  if (n == 0) return 0.0;
  double hi = partials[--n], lo = 0.0;
  while (n > 0) {
    const double x = hi, y = partials[--n];
    hi = x + y;
    const double y_rounded = hi - x;
    lo = y - y_rounded;
    if (lo != 0.0) break;
  }
  // hi + lo is exact here; when lo is exactly half an ulp of hi and the next partial lies on
  // the same side, the tie is broken by it: round away from hi.
  if (n > 0 && ((lo < 0.0 && partials[n - 1] < 0.0) || (lo > 0.0 && partials[n - 1] > 0.0))) {
    const double y = lo * 2.0, x = hi + y;
    if (y == x - hi) hi = x;
  }
  return hi;
}

}  // namespace

void ExactSum::add(double x) {
  if (!std::isfinite(x)) {
    special_ += x;
    return;
  }
  std::size_t kept = 0;
  for (double y : partials_) {
    if (std::fabs(x) < std::fabs(y)) std::swap(x, y);
    const double hi = x + y;
    const double lo = y - (hi - x);
    if (lo != 0.0) partials_[kept++] = lo;
    x = hi;
  }
  if (!std::isfinite(x)) {  // the finite terms overflowed: the sum is out of range
    special_ += x;
    partials_.clear();
    return;
  }
  partials_.resize(kept);
  partials_.push_back(x);
}

void ExactSum::add(const ExactSum& other) {
  for (double p : other.partials_) add(p);
  special_ += other.special_;
}

double ExactSum::value() const { return special_ != 0.0 ? special_ : round_partials(partials_); }  // NaN != 0 too

long double ExactSum::extended_value() const {
  const double hi = value();
  if (!std::isfinite(hi)) return hi;
  ExactSum rest = *this;
  rest.add(-hi);
  return static_cast<long double>(hi) + static_cast<long double>(rest.value());
}

void ExactSum::write(std::string& bytes) const {
  const std::uint64_t count = partials_.size();
  bytes.append(reinterpret_cast<const char*>(&count), sizeof count);
  bytes.append(reinterpret_cast<const char*>(&special_), sizeof special_);
  bytes.append(reinterpret_cast<const char*>(partials_.data()), count * sizeof(double));
}

ExactSum ExactSum::read(const std::string& bytes, std::size_t& cursor) {
  ExactSum s;
  std::uint64_t count = 0;
  if (cursor + sizeof count + sizeof s.special_ > bytes.size()) throw std::logic_error("ExactSum::read: truncated");
  std::memcpy(&count, bytes.data() + cursor, sizeof count);
  std::memcpy(&s.special_, bytes.data() + cursor + sizeof count, sizeof s.special_);
  cursor += sizeof count + sizeof s.special_;
  if (cursor + count * sizeof(double) > bytes.size()) throw std::logic_error("ExactSum::read: truncated");
  s.partials_.resize(count);
  std::memcpy(s.partials_.data(), bytes.data() + cursor, count * sizeof(double));
  cursor += count * sizeof(double);
  return s;
}

}  // namespace betahedge
