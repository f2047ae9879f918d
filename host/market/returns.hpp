#pragma once
/// From a price table to the log returns a model is fitted on: asset selection, date window,
/// the common window of assets listed on different dates, and `--fill forward` (SPEC 4).
#include <optional>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "market/prices_csv.hpp"

namespace betahedge {

struct ReturnWindowOptions {
  std::string benchmark;                 ///< must be a column of the table
  std::vector<std::string> assets;       ///< empty: every column; the benchmark is added first if absent
  std::optional<std::string> start;      ///< first price date kept (inclusive, YYYY-MM-DD)
  std::optional<std::string> end;        ///< last price date kept (inclusive, YYYY-MM-DD)
  bool fill_forward = false;             ///< an empty cell repeats the asset's previous close, which may lie
                                         ///< before the common window (the window opened inside a gap)
  /// How the caller's user turns fill_forward on, for messages: "--fill forward",
  /// "calibrate.fill_forward: true" (run.yaml), `fill="forward"` (Python).
  std::string fill_forward_setting = "--fill forward";
  int min_returns = 2;                   ///< fewer returns in the common window is an error
};

/// Daily log returns of the selected assets on their common window.
struct ReturnData {
  std::string source;
  std::vector<std::string> assets;       ///< [num_assets], the model's asset order
  int benchmark_index = 0;               ///< position of the benchmark in `assets`
  std::vector<std::string> price_dates;  ///< [num_returns + 1] dates of the closes used
  Eigen::MatrixXd log_returns;           ///< [num_returns x num_assets]; row t is log(P[t+1] / P[t])
  /// [num_returns + 1 x num_assets] the closes P[t] the returns are taken from, on price_dates,
  /// with fill_forward's previous closes in place of empty cells (log_returns_on_common_window;
  /// a backtest's spot and realised paths read these, never the raw table).
  Eigen::MatrixXd closes;
  std::vector<double> spot;              ///< [num_assets] last close of each asset in the window
  int filled_cells = 0;                  ///< empty cells replaced by the previous close
  std::vector<int> filled_per_close;     ///< [num_returns + 1] of filled_cells, those on each price date
  /// Decisions the user should hear about: the trimmed window, the number of filled cells, and
  /// per asset its longest run of filled closes when that is a week (5 closes) or more.
  std::vector<std::string> notes;

  int num_returns() const { return static_cast<int>(log_returns.rows()); }
  int num_assets() const { return static_cast<int>(assets.size()); }
  /// Date of return t (the date of its closing price).
  const std::string& return_date(int t) const { return price_dates[static_cast<std::size_t>(t) + 1]; }
};

/// Selects the columns and the [start, end] window, starts the common window at the latest
/// first-valid date among the selected assets (saying so in `notes`), applies `--fill forward`,
/// and takes log returns, every one finite (a ratio of closes that over- or underflows is taken
/// as a difference of logs). Throws InputError naming the file, line and field for: a missing
/// benchmark or asset column, more than kMaxAssets selected assets (benchmark included;
/// checked before anything else is computed), a bad --start/--end, an empty cell inside the
/// common window without fill_forward (the first one, with its date), a close in the window
/// that is not positive and finite (a table not made by the reader), an asset with no price in
/// the window, fewer than `min_returns` returns, and an asset whose price does not move
/// (require_moving_prices).
ReturnData log_returns_on_common_window(const PriceTable& table, const ReturnWindowOptions& options);

/// Throws InputError naming the file and the symbol when an asset's price does not move over
/// the window (every return is 0, as with a stale or pegged series): its variance is zero and
/// no model can be fitted to it.
void require_moving_prices(const ReturnData& data);

}  // namespace betahedge
