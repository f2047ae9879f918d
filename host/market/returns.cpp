#include "market/returns.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "betahedge/error.hpp"
#include "betahedge/model_types.hpp"
#include "io/message_text.hpp"

namespace betahedge {
namespace {

[[noreturn]] void fail_at(const std::string& source, int line, const std::string& what) {
  throw InputError(source + ":" + std::to_string(line) + ": " + what);
}

void check_option_date(const std::optional<std::string>& date, const char* option) {
  if (date && !is_iso_date(*date))
    throw InputError(std::string(option) + ": " + quoted_for_message(*date) + " is not a date written YYYY-MM-DD");
}

/// "1 return", "2 returns".
std::string count_of(int count, const std::string& noun) {
  return std::to_string(count) + " " + noun + (count == 1 ? "" : "s");
}

/// A run of consecutive empty cells of one asset, filled with the close on row `source`.
struct FillStretch {
  int first = 0;   ///< table row of the first empty cell
  int length = 0;  ///< number of empty cells
  int source = 0;  ///< table row of the close repeated
};

/// A week of repeated closes is more than a holiday: the user should hear about it.
constexpr int kNotedFillStretch = 5;

std::string fill_note(const PriceTable& table, const std::string& symbol, const FillStretch& s) {
  const int end = s.first + s.length - 1;
  return clip_for_message(symbol) + ": " + std::to_string(s.length) + " closes in a row (" + table.dates[s.first] +
         " .. " + table.dates[end] + ", lines " + std::to_string(table.lines[s.first]) + "-" +
         std::to_string(table.lines[end]) + ") forward-filled from the close of " + table.dates[s.source];
}

}  // namespace

ReturnData log_returns_on_common_window(const PriceTable& table, const ReturnWindowOptions& options) {
  const std::string& source = table.source;
  check_option_date(options.start, "--start");
  check_option_date(options.end, "--end");
  if (options.start && options.end && *options.start > *options.end)
    throw InputError("--start " + *options.start + " is after --end " + *options.end);  // both checked as dates above

  ReturnData data;
  data.source = source;
  if (table.column(options.benchmark) < 0)
    fail_at(source, 1, "header: no column for benchmark " + quoted_for_message(options.benchmark));
  if (options.assets.empty()) {
    data.assets = table.symbols;
  } else {
    for (const auto& symbol : options.assets) {
      if (table.column(symbol) < 0) fail_at(source, 1, "header: no column for asset " + quoted_for_message(symbol));
      for (const auto& kept : data.assets)
        if (kept == symbol) throw InputError("--assets: " + quoted_for_message(symbol) + " is listed twice");
      data.assets.push_back(symbol);
    }
    bool has_benchmark = false;
    for (const auto& symbol : data.assets) has_benchmark = has_benchmark || symbol == options.benchmark;
    if (!has_benchmark) data.assets.insert(data.assets.begin(), options.benchmark);
  }
  // Before any work sized by the asset count: the model holds at most kMaxAssets.
  if (data.num_assets() > kMaxAssets)
    throw InputError(source + ": " + std::to_string(data.num_assets()) +
                     " assets selected (the benchmark included), more than the limit of " +
                     std::to_string(kMaxAssets) + "; hint: select at most " + std::to_string(kMaxAssets) +
                     " with --assets (calibrate.assets in a run config)");
  for (int i = 0; i < data.num_assets(); ++i)
    if (data.assets[i] == options.benchmark) data.benchmark_index = i;
  const int num_assets = data.num_assets();
  std::vector<int> columns(num_assets);
  for (int i = 0; i < num_assets; ++i) columns[i] = table.column(data.assets[i]);

  // Rows [first, last] of the table fall inside the requested dates.
  int first = 0;
  int last = table.num_rows() - 1;
  while (first <= last && options.start && table.dates[first] < *options.start) ++first;
  while (last >= first && options.end && table.dates[last] > *options.end) --last;
  if (first > last)
    throw InputError(source + ": no rows between " + options.start.value_or(table.dates.front()) + " and " +
                     options.end.value_or(table.dates.back()) + " (the file spans " + table.dates.front() +
                     " .. " + table.dates.back() + ")");

  // The common window starts at the latest first-valid row among the selected assets.
  int common_first = first;
  int latest_asset = -1;
  for (int i = 0; i < num_assets; ++i) {
    int r = first;
    while (r <= last && std::isnan(table.closes(r, columns[i]))) ++r;
    if (r > last)
      throw InputError(source + ": field " + quoted_for_message(data.assets[i]) + ": no price between lines " +
                       std::to_string(table.lines[first]) + " and " + std::to_string(table.lines[last]));
    if (r > common_first) {
      common_first = r;
      latest_asset = i;
    }
  }
  if (latest_asset >= 0)
    data.notes.push_back("common window starts at " + table.dates[common_first] + " (line " +
                         std::to_string(table.lines[common_first]) + "), the first price of " +
                         clip_for_message(data.assets[latest_asset]));

  const int num_prices = last - common_first + 1;
  const int num_returns = num_prices - 1;
  if (num_returns < options.min_returns)
    throw InputError(source + ":" + std::to_string(table.lines[common_first]) + "-" +
                     std::to_string(table.lines[last]) + ": the common window " + table.dates[common_first] +
                     " .. " + table.dates[last] + " gives " + count_of(std::max(num_returns, 0), "return") +
                     ", the model needs at least " + std::to_string(options.min_returns));

  Eigen::MatrixXd prices(num_prices, num_assets);
  // The close a fill repeats may lie before the common window (the window opened inside the
  // asset's gap), never before `first`: every asset has a close in rows [first, common_first].
  std::vector<int> last_valid(num_assets, -1);
  std::vector<FillStretch> stretch(num_assets), longest(num_assets);
  for (int i = 0; i < num_assets; ++i)
    for (int r = first; r < common_first; ++r)
      if (!std::isnan(table.closes(r, columns[i]))) last_valid[i] = r;
  data.filled_per_close.assign(num_prices, 0);
  for (int p = 0; p < num_prices; ++p) {
    const int r = common_first + p;
    for (int i = 0; i < num_assets; ++i) {
      const double close = table.closes(r, columns[i]);
      if (std::isnan(close)) {
        if (!options.fill_forward)
          fail_at(source, table.lines[r], "field " + quoted_for_message(data.assets[i]) + ": empty cell on " + table.dates[r] +
                                              " inside the common window (use " + options.fill_forward_setting +
                                              " to repeat the previous close)");
        if (stretch[i].length == 0) {
          stretch[i].first = r;
          stretch[i].source = last_valid[i];
        }
        ++stretch[i].length;
        if (stretch[i].length > longest[i].length) longest[i] = stretch[i];
        ++data.filled_cells;
        ++data.filled_per_close[p];
      } else {
        // The reader rejects these; a table built elsewhere is held to the same rule.
        if (!(std::isfinite(close) && close > 0.0))
          fail_at(source, table.lines[r], "field " + quoted_for_message(data.assets[i]) +
                                              ": price must be a positive finite number");
        last_valid[i] = r;
        stretch[i].length = 0;
      }
      prices(p, i) = table.closes(last_valid[i], columns[i]);
    }
    data.price_dates.push_back(table.dates[r]);
  }
  if (data.filled_cells > 0)
    data.notes.push_back(options.fill_forward_setting + " filled " + count_of(data.filled_cells, "empty cell"));
  for (int i = 0; i < num_assets; ++i)
    if (longest[i].length >= kNotedFillStretch) data.notes.push_back(fill_note(table, data.assets[i], longest[i]));

  const Eigen::ArrayXXd ratios = prices.bottomRows(num_returns).array() / prices.topRows(num_returns).array();
  data.log_returns = ratios.log().matrix();
  // The ratio of two closes the reader accepts (1e-300, then 1e300) can overflow or underflow;
  // the difference of their logs cannot, so every return is finite.
  for (int i = 0; i < num_assets; ++i)
    for (int t = 0; t < num_returns; ++t)
      if (!std::isnormal(ratios(t, i))) data.log_returns(t, i) = std::log(prices(t + 1, i)) - std::log(prices(t, i));
  data.spot.resize(num_assets);
  for (int i = 0; i < num_assets; ++i) data.spot[i] = prices(num_prices - 1, i);
  data.closes = std::move(prices);
  require_moving_prices(data);
  return data;
}

void require_moving_prices(const ReturnData& data) {
  if (data.num_returns() == 0) return;
  for (int i = 0; i < data.num_assets(); ++i) {
    if (!(data.log_returns.col(i).array() == 0.0).all()) continue;
    const std::string symbol = clip_for_message(data.assets[i]);
    throw InputError(data.source + ": field '" + symbol + "': the price does not move from " +
                     data.price_dates.front() + " to " + data.price_dates.back() +
                     ", so its returns have zero variance and no model can be fitted; hint: drop " + symbol +
                     " from the selected assets (--assets, calibrate.assets in a run config)");
  }
}

}  // namespace betahedge
