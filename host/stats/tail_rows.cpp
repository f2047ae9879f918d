#include "stats/tail_rows.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <stdexcept>

namespace betahedge {

void TailRowKeeper::push(double loss, std::uint64_t path, const double* row_values, std::uint64_t stride) {
  loss_.push_back(loss);
  path_.push_back(path);
  for (int c = 0; c < width_; ++c) values_.push_back(row_values[c * stride]);
  peak_ = std::max<std::uint64_t>(peak_, loss_.size());
}

bool TailRowKeeper::higher(std::uint64_t a, std::uint64_t b) const {
  return loss_[a] != loss_[b] ? loss_[a] > loss_[b] : path_[a] < path_[b];
}

void TailRowKeeper::add(const double* pnl, const std::vector<const double*>& columns, std::uint64_t first_path,
                        std::uint64_t count) {
  if (keep_ == 0) return;
  // As TailKeeper: trim once half as many again are held, so after the first batches almost
  // every path is turned away by the threshold's one comparison.
  const std::uint64_t trim_at = keep_ + std::max<std::uint64_t>(keep_ / 2, 4096);
  std::vector<double> row(width_);
  for (std::uint64_t i = 0; i < count; ++i) {
    const double loss = -pnl[i] + 0.0;  // + 0.0: -0.0 and +0.0 are one loss, as in TailKeeper
    if (!(loss >= threshold_)) continue;
    for (int c = 0; c < width_; ++c) row[c] = columns[c][i];
    push(loss, first_path + i, row.data(), 1);
    if (loss_.size() >= trim_at) trim();
  }
}

void TailRowKeeper::add(const TailRowKeeper& other) {
  for (std::uint64_t r = 0; r < other.loss_.size(); ++r)
    if (other.loss_[r] >= threshold_) push(other.loss_[r], other.path_[r], other.values_.data() + r * width_, 1);
  trim();
}

std::vector<std::uint64_t> TailRowKeeper::ranked(std::uint64_t count) const {
  std::vector<std::uint64_t> index(loss_.size());
  std::iota(index.begin(), index.end(), 0);
  const auto higher = [this](std::uint64_t a, std::uint64_t b) { return this->higher(a, b); };
  count = std::min<std::uint64_t>(count, index.size());
  std::partial_sort(index.begin(), index.begin() + static_cast<std::ptrdiff_t>(count), index.end(), higher);
  return index;
}

void TailRowKeeper::trim() {
  if (loss_.size() <= keep_) return;
  std::vector<std::uint64_t> index(loss_.size());
  std::iota(index.begin(), index.end(), 0);
  const auto higher = [this](std::uint64_t a, std::uint64_t b) { return this->higher(a, b); };
  const auto cut = index.begin() + static_cast<std::ptrdiff_t>(keep_);
  std::nth_element(index.begin(), cut - 1, index.end(), higher);
  index.erase(cut, index.end());
  std::vector<double> loss, values;
  std::vector<std::uint64_t> path;
  loss.reserve(keep_), path.reserve(keep_), values.reserve(keep_ * width_);
  for (std::uint64_t r : index) {
    loss.push_back(loss_[r]);
    path.push_back(path_[r]);
    values.insert(values.end(), values_.begin() + r * width_, values_.begin() + (r + 1) * width_);
  }
  threshold_ = loss_[index.back()];  // the lowest kept (nth_element put it last)
  loss_ = std::move(loss), path_ = std::move(path), values_ = std::move(values);
}

TailRows TailRowKeeper::sorted_rows() const {
  const std::uint64_t count = std::min<std::uint64_t>(keep_, loss_.size());
  const std::vector<std::uint64_t> index = ranked(count);
  TailRows rows;
  rows.width = width_;
  rows.loss.resize(count);
  rows.path.resize(count);
  rows.values.resize(count * width_);
  for (std::uint64_t k = 0; k < count; ++k) {
    const std::uint64_t r = index[count - 1 - k];  // ascending: the highest last
    rows.loss[k] = loss_[r];
    rows.path[k] = path_[r];
    std::copy(values_.begin() + r * width_, values_.begin() + (r + 1) * width_, rows.values.begin() + k * width_);
  }
  return rows;
}

void TailRowKeeper::write(std::string& bytes) const {
  const std::uint64_t header[3] = {keep_, static_cast<std::uint64_t>(width_), loss_.size()};
  bytes.append(reinterpret_cast<const char*>(header), sizeof header);
  bytes.append(reinterpret_cast<const char*>(loss_.data()), loss_.size() * sizeof(double));
  bytes.append(reinterpret_cast<const char*>(path_.data()), path_.size() * sizeof(std::uint64_t));
  bytes.append(reinterpret_cast<const char*>(values_.data()), values_.size() * sizeof(double));
}

TailRowKeeper TailRowKeeper::read(const std::string& bytes, std::size_t& cursor) {
  const auto take = [&](void* to, std::size_t size) {
    if (cursor + size > bytes.size()) throw std::logic_error("TailRowKeeper::read: truncated");
    std::memcpy(to, bytes.data() + cursor, size);
    cursor += size;
  };
  std::uint64_t header[3];
  take(header, sizeof header);
  TailRowKeeper k(header[0], static_cast<int>(header[1]));
  k.loss_.resize(header[2]);
  k.path_.resize(header[2]);
  k.values_.resize(header[2] * header[1]);
  take(k.loss_.data(), k.loss_.size() * sizeof(double));
  take(k.path_.data(), k.path_.size() * sizeof(std::uint64_t));
  take(k.values_.data(), k.values_.size() * sizeof(double));
  k.peak_ = header[2];
  // A keeper read back holds at most keep rows (write follows a trim or holds fewer): its
  // threshold is only a filter, and -inf admits everything, which trim() then sorts out.
  return k;
}

}  // namespace betahedge
