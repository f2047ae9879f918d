/// libFuzzer target: the prices CSV (SPEC 4) through parse_prices_csv, then, on a table it
/// returns, log_returns_on_common_window with default options and the first column as the
/// benchmark. Both return or throw InputError; what they return keeps the shapes and ranges
/// their headers state.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <set>
#include <sstream>

#include "betahedge/error.hpp"
#include "fuzz_support.hpp"
#include "market/prices_csv.hpp"
#include "market/returns.hpp"

namespace {

using betahedge::PriceTable;
using betahedge::ReturnData;

void check_table(const PriceTable& t) {
  BH_FUZZ_CHECK(std::set(t.symbols.begin(), t.symbols.end()).size() == t.symbols.size());
  BH_FUZZ_CHECK(t.lines.size() == t.dates.size());
  BH_FUZZ_CHECK(t.closes.rows() == t.num_rows() && t.closes.cols() == t.num_symbols());
  for (int r = 0; r < t.num_rows(); ++r) {
    BH_FUZZ_CHECK(betahedge::is_iso_date(t.dates[r]));
    BH_FUZZ_CHECK(r == 0 || t.dates[r - 1] < t.dates[r]);
    for (int c = 0; c < t.num_symbols(); ++c) {
      const double close = t.closes(r, c);
      BH_FUZZ_CHECK(std::isnan(close) || (std::isfinite(close) && close > 0.0));
    }
  }
}

void check_returns(const ReturnData& d) {
  BH_FUZZ_CHECK(d.num_assets() > 0 && d.benchmark_index >= 0 && d.benchmark_index < d.num_assets());
  BH_FUZZ_CHECK(d.log_returns.cols() == d.num_assets());
  BH_FUZZ_CHECK(d.price_dates.size() == static_cast<std::size_t>(d.num_returns()) + 1);
  BH_FUZZ_CHECK(d.spot.size() == d.assets.size());
  BH_FUZZ_CHECK(d.log_returns.allFinite());
  for (double s : d.spot) BH_FUZZ_CHECK(std::isfinite(s) && s > 0.0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(betahedge::fuzz::as_text(data, size));
  PriceTable table;
  try {
    table = betahedge::parse_prices_csv(in, "fuzz/prices.csv");
  } catch (const betahedge::InputError&) {
    return 0;
  }
  check_table(table);
  if (table.symbols.empty()) return 0;

  betahedge::ReturnWindowOptions options;
  options.benchmark = table.symbols.front();
  try {
    check_returns(betahedge::log_returns_on_common_window(table, options));
  } catch (const betahedge::InputError&) {
  }
  return 0;
}
