#pragma once
/// The paths in a loss tail together with a row of other figures per path, kept exactly while
/// paths stream past: the Euler risk contributions read, for the paths whose hedged loss is among
/// the largest, the P&L of each component of the book (euler_contributions.hpp).
///
/// Paths are ordered by (loss, path id): a larger loss ranks higher, and of equal losses the
/// smaller path id. That is a total order on the paths, so the `keep` highest are one set, the
/// same for any batch size, thread count or rank split, ties included. Memory: about 1.5 x keep
/// rows of (width + 2) values.
#include <cstdint>
#include <string>
#include <vector>

namespace betahedge {

/// The rows of the highest-ranked paths, sorted ascending by rank (the highest last): row r has
/// loss[r], path[r] and width values at values[r * width, (r + 1) * width).
struct TailRows {
  int width = 0;
  std::vector<double> loss;
  std::vector<std::uint64_t> path;
  std::vector<double> values;
  std::uint64_t size() const { return loss.size(); }
  const double* row(std::uint64_t r) const { return values.data() + r * static_cast<std::uint64_t>(width); }
};

/// The `keep` highest-ranked paths of a stream, each with `width` values.
class TailRowKeeper {
 public:
  explicit TailRowKeeper(std::uint64_t keep = 0, int width = 0) : keep_(keep), width_(width) {}
  /// Offers paths first_path + i, i in [0, count): loss -pnl[i], row columns[c][i] for c < width.
  /// NaN losses are turned away.
  void add(const double* pnl, const std::vector<const double*>& columns, std::uint64_t first_path,
           std::uint64_t count);
  void add(const TailRowKeeper& other);
  std::uint64_t keep() const { return keep_; }
  int width() const { return width_; }
  /// The most rows held at once.
  std::uint64_t peak_rows() const { return peak_; }
  /// The kept rows (the highest min(keep, offered) of all offered), ascending.
  TailRows sorted_rows() const;

  void write(std::string& bytes) const;
  static TailRowKeeper read(const std::string& bytes, std::size_t& cursor);

 private:
  /// Row a ranks above row b.
  bool higher(std::uint64_t a, std::uint64_t b) const;
  void push(double loss, std::uint64_t path, const double* row_values, std::uint64_t stride);
  /// Keeps the highest keep_ rows held, which raises the admission threshold.
  void trim();
  /// Indices of the held rows, the highest first (the first `count` of them in order, the rest unordered).
  std::vector<std::uint64_t> ranked(std::uint64_t count) const;

  std::uint64_t keep_ = 0;
  int width_ = 0;
  std::vector<double> loss_;
  std::vector<std::uint64_t> path_;
  std::vector<double> values_;
  double threshold_ = -__builtin_inf();  ///< losses below it can no longer be among the highest keep_
  std::uint64_t peak_ = 0;
};

}  // namespace betahedge
