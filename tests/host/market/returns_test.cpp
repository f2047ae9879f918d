#include "market/returns.hpp"

#include <cmath>
#include <limits>
#include <sstream>

#include <gtest/gtest.h>

#include "betahedge/error.hpp"
#include "betahedge/model_types.hpp"
#include "test_support.hpp"

namespace betahedge {
namespace {

PriceTable parse(const std::string& text) {
  std::istringstream in(text);
  return parse_prices_csv(in, "prices.csv");
}

ReturnWindowOptions benchmark(const std::string& symbol) {
  ReturnWindowOptions o;
  o.benchmark = symbol;
  return o;
}

std::string rejection(const PriceTable& table, const ReturnWindowOptions& options) {
  try {
    log_returns_on_common_window(table, options);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

const char* kLeadingBlank =
    "date,BTC,SOL,ETH\n"
    "2024-01-01,100,,10\n"
    "2024-01-02,110,,11\n"
    "2024-01-03,121,5,12\n"
    "2024-01-04,110,4,12\n"
    "2024-01-05,99,5,13\n";

TEST(Returns, LogReturnsOfEveryColumnInFileOrder) {
  const ReturnData d = log_returns_on_common_window(parse("date,A,B\n2024-01-01,1,4\n2024-01-02,2,2\n2024-01-03,4,2\n"),
                                                    benchmark("B"));
  ASSERT_EQ(d.assets, (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(d.benchmark_index, 1);
  ASSERT_EQ(d.num_returns(), 2);
  EXPECT_DOUBLE_EQ(d.log_returns(0, 0), std::log(2.0));
  EXPECT_DOUBLE_EQ(d.log_returns(0, 1), std::log(0.5));
  EXPECT_DOUBLE_EQ(d.log_returns(1, 1), 0.0);
  EXPECT_EQ(d.return_date(0), "2024-01-02");
  EXPECT_EQ(d.spot, (std::vector<double>{4.0, 2.0}));
}

TEST(Returns, CommonWindowStartsAtTheLatestFirstValidDateAndSaysSo) {
  const ReturnData d = log_returns_on_common_window(parse(kLeadingBlank), benchmark("BTC"));
  EXPECT_EQ(d.price_dates.front(), "2024-01-03");
  ASSERT_EQ(d.num_returns(), 2);
  EXPECT_DOUBLE_EQ(d.log_returns(0, 1), std::log(4.0 / 5.0));
  ASSERT_EQ(d.notes.size(), 1u);
  EXPECT_NE(d.notes[0].find("2024-01-03 (line 4)"), std::string::npos) << d.notes[0];
  EXPECT_NE(d.notes[0].find("SOL"), std::string::npos) << d.notes[0];
}

TEST(Returns, AssetSelectionKeepsTheGivenOrderAndAddsTheBenchmark) {
  ReturnWindowOptions o = benchmark("BTC");
  o.assets = {"ETH"};
  const ReturnData d = log_returns_on_common_window(parse(kLeadingBlank), o);
  ASSERT_EQ(d.assets, (std::vector<std::string>{"BTC", "ETH"}));
  EXPECT_EQ(d.benchmark_index, 0);
  EXPECT_EQ(d.price_dates.front(), "2024-01-01");  // SOL's blanks no longer matter
  EXPECT_EQ(d.num_returns(), 4);
  EXPECT_TRUE(d.notes.empty());

  o.assets = {"ETH", "BTC"};
  const ReturnData e = log_returns_on_common_window(parse(kLeadingBlank), o);
  EXPECT_EQ(e.assets, (std::vector<std::string>{"ETH", "BTC"}));
  EXPECT_EQ(e.benchmark_index, 1);
}

TEST(Returns, StartAndEndAreInclusive) {
  ReturnWindowOptions o = benchmark("BTC");
  o.assets = {"BTC", "ETH"};
  o.start = "2024-01-02";
  o.end = "2024-01-04";
  const ReturnData d = log_returns_on_common_window(parse(kLeadingBlank), o);
  EXPECT_EQ(d.price_dates, (std::vector<std::string>{"2024-01-02", "2024-01-03", "2024-01-04"}));
  EXPECT_DOUBLE_EQ(d.spot[0], 110.0);
}

TEST(Returns, RejectsBadWindowOptions) {
  const PriceTable t = parse(kLeadingBlank);
  ReturnWindowOptions o = benchmark("BTC");
  o.start = "2024-1-2";
  EXPECT_NE(rejection(t, o).find("--start"), std::string::npos);
  o.start = "2024-01-04";
  o.end = "2024-01-02";
  EXPECT_NE(rejection(t, o).find("after --end"), std::string::npos);
  o.start = "2025-01-01";
  o.end.reset();
  EXPECT_NE(rejection(t, o).find("no rows between"), std::string::npos);
}

TEST(Returns, RejectsAMissingBenchmarkOrAssetColumnOnTheHeaderLine) {
  const PriceTable t = parse(kLeadingBlank);
  const std::string msg = rejection(t, benchmark("XRP"));
  EXPECT_NE(msg.find("prices.csv:1:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("benchmark 'XRP'"), std::string::npos) << msg;
  ReturnWindowOptions o = benchmark("BTC");
  o.assets = {"DOGE"};
  EXPECT_NE(rejection(t, o).find("prices.csv:1: header: no column for asset 'DOGE'"), std::string::npos);
  o.assets = {"ETH", "ETH"};
  EXPECT_NE(rejection(t, o).find("listed twice"), std::string::npos);
}

TEST(Returns, RejectsAnEmptyCellInsideTheWindowUnlessFilledForward) {
  const PriceTable t = parse("date,BTC,ETH\n2024-01-01,100,10\n2024-01-02,110,\n2024-01-03,121,12\n");
  const std::string msg = rejection(t, benchmark("BTC"));
  EXPECT_NE(msg.find("prices.csv:3:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'ETH'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--fill forward"), std::string::npos) << msg;

  ReturnWindowOptions o = benchmark("BTC");
  o.fill_forward = true;
  const ReturnData d = log_returns_on_common_window(t, o);
  EXPECT_EQ(d.filled_cells, 1);
  EXPECT_DOUBLE_EQ(d.log_returns(0, 1), 0.0);
  EXPECT_DOUBLE_EQ(d.log_returns(1, 1), std::log(1.2));
  ASSERT_EQ(d.notes.size(), 1u);
  EXPECT_EQ(d.notes[0], "--fill forward filled 1 empty cell");
}

// A's last close before the common window (2024-01-02) lies before B's first (2024-01-04):
// the window opened inside A's gap. The fill used to read the row before the window (out of
// bounds, garbage or NaN returns); it must carry A's close of 2024-01-02 into the window.
const char* kGapAcrossTheWindowStart =
    "date,BTC,A,B\n"
    "2024-01-01,100,10,\n"
    "2024-01-02,101,11,\n"
    "2024-01-03,102,,\n"
    "2024-01-04,103,,50\n"
    "2024-01-05,104,,51\n"
    "2024-01-06,105,12,52\n"
    "2024-01-07,106,13,50\n";

TEST(Returns, FillForwardCarriesACloseFromBeforeTheCommonWindowIntoIt) {
  ReturnWindowOptions o = benchmark("BTC");
  o.fill_forward = true;
  const ReturnData d = log_returns_on_common_window(parse(kGapAcrossTheWindowStart), o);
  EXPECT_EQ(d.price_dates, (std::vector<std::string>{"2024-01-04", "2024-01-05", "2024-01-06", "2024-01-07"}));
  ASSERT_EQ(d.num_returns(), 3);
  ASSERT_TRUE(d.log_returns.allFinite()) << d.log_returns;
  // A's closes in the window are 11 (filled), 11 (filled), 12, 13.
  EXPECT_EQ(d.log_returns(0, 1), 0.0);
  EXPECT_DOUBLE_EQ(d.log_returns(1, 1), std::log(12.0 / 11.0));
  EXPECT_DOUBLE_EQ(d.log_returns(2, 1), std::log(13.0 / 12.0));
  EXPECT_DOUBLE_EQ(d.log_returns(0, 2), std::log(51.0 / 50.0));
  EXPECT_EQ(d.filled_cells, 2);
  EXPECT_EQ(d.spot, (std::vector<double>{106.0, 13.0, 50.0}));
  ASSERT_EQ(d.notes.size(), 2u);
  EXPECT_NE(d.notes[0].find("common window starts at 2024-01-04 (line 5), the first price of B"), std::string::npos)
      << d.notes[0];
  EXPECT_NE(d.notes[1].find("filled 2 empty cells"), std::string::npos) << d.notes[1];
}

TEST(Returns, AGapAcrossTheWindowStartIsAnErrorWithoutFillNamingTheFirstEmptyCell) {
  const std::string msg = rejection(parse(kGapAcrossTheWindowStart), benchmark("BTC"));
  EXPECT_EQ(msg.rfind("prices.csv:5: field 'A': empty cell on 2024-01-04 inside the common window", 0), 0u) << msg;
  EXPECT_NE(msg.find("--fill forward"), std::string::npos) << msg;
}

TEST(Returns, ALongFilledStretchIsNotedWithTheDateOfTheCloseItRepeats) {
  std::string csv = "date,BTC,A\n2024-01-01,100,10\n2024-01-02,101,11\n";
  for (int day = 3; day <= 9; ++day) csv += "2024-01-0" + std::to_string(day) + "," + std::to_string(100 + day) + ",\n";
  csv += "2024-01-10,99,12\n2024-01-11,98,\n2024-01-12,97,13\n";
  ReturnWindowOptions o = benchmark("BTC");
  o.fill_forward = true;
  const ReturnData d = log_returns_on_common_window(parse(csv), o);
  EXPECT_EQ(d.filled_cells, 8);
  EXPECT_DOUBLE_EQ(d.log_returns(8, 1), std::log(12.0 / 11.0));  // 2024-01-10: the move across the stretch
  EXPECT_EQ(d.log_returns(9, 1), 0.0);
  ASSERT_EQ(d.notes.size(), 2u);
  EXPECT_EQ(d.notes[0], "--fill forward filled 8 empty cells");
  EXPECT_EQ(d.notes[1], "A: 7 closes in a row (2024-01-03 .. 2024-01-09, lines 4-10) forward-filled from the close "
                        "of 2024-01-02");
}

// Closes the reader accepts (finite, positive) whose ratio over- or underflows a double: the
// return used to be +inf or -inf and to stop the fit with "observations are not all finite".
TEST(Returns, ExtremePriceRatiosGiveFiniteReturns) {
  const PriceTable t = parse("date,BTC,A\n2024-01-01,100,1e-300\n2024-01-02,110,1e300\n2024-01-03,121,1e-300\n"
                             "2024-01-04,110,1\n");
  const ReturnData d = log_returns_on_common_window(t, benchmark("BTC"));
  ASSERT_TRUE(d.log_returns.allFinite()) << d.log_returns;
  EXPECT_NEAR(d.log_returns(0, 1), 600.0 * std::log(10.0), 1e-9);
  EXPECT_NEAR(d.log_returns(1, 1), -600.0 * std::log(10.0), 1e-9);
  EXPECT_NEAR(d.log_returns(2, 1), 300.0 * std::log(10.0), 1e-9);
}

// A table made elsewhere than the reader is held to the reader's rule on prices.
TEST(Returns, RejectsANonFiniteOrNonPositivePriceNamingTheLineAndSymbol) {
  PriceTable t = parse("date,BTC,A\n2024-01-01,100,10\n2024-01-02,110,11\n2024-01-03,121,12\n");
  for (double bad : {std::numeric_limits<double>::infinity(), -1.0, 0.0}) {
    t.closes(1, 1) = bad;
    const std::string msg = rejection(t, benchmark("BTC"));
    EXPECT_EQ(msg.rfind("prices.csv:3: field 'A': price must be a positive finite number", 0), 0u) << msg;
  }
}

TEST(Returns, RejectsAnAssetWithNoPriceInTheWindow) {
  ReturnWindowOptions o = benchmark("BTC");
  o.end = "2024-01-02";
  const std::string msg = rejection(parse(kLeadingBlank), o);
  EXPECT_NE(msg.find("'SOL': no price between lines 2 and 3"), std::string::npos) << msg;
}

TEST(Returns, RejectsTooFewRowsNamingTheLines) {
  ReturnWindowOptions o = benchmark("BTC");
  o.min_returns = 3;
  const std::string msg = rejection(parse(kLeadingBlank), o);
  EXPECT_NE(msg.find("prices.csv:4-6:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("gives 2 returns, the model needs at least 3"), std::string::npos) << msg;
}

TEST(Returns, SaysOneReturnInTheSingular) {
  ReturnWindowOptions o = benchmark("BTC");
  o.start = "2024-01-04";
  const std::string msg = rejection(parse(kLeadingBlank), o);
  EXPECT_NE(msg.find("gives 1 return, the model needs at least 2"), std::string::npos) << msg;
}

/// `num_columns` columns S0.. that all move, over `num_rows` dates from 2024-01-01.
std::string wide_prices(int num_columns, int num_rows) {
  std::string csv = "date";
  for (int j = 0; j < num_columns; ++j) csv += ",S" + std::to_string(j);
  csv += "\n";
  for (int r = 0; r < num_rows; ++r) {
    csv += "2024-01-" + std::string(r < 9 ? "0" : "") + std::to_string(r + 1);
    for (int j = 0; j < num_columns; ++j) csv += "," + std::to_string(100 + j + (r % 2) * (j + 1) + r);
    csv += "\n";
  }
  return csv;
}

// A 65-asset file used to fail with exit 3 only after the whole fit.
TEST(Returns, RejectsMoreThanKMaxAssetsBeforeAnyFit) {
  const PriceTable t = parse(wide_prices(kMaxAssets + 1, 4));
  const std::string all = rejection(t, benchmark("S0"));
  EXPECT_EQ(all.rfind("prices.csv: 65 assets selected (the benchmark included), more than the limit of 64", 0), 0u)
      << all;
  EXPECT_NE(all.find("--assets"), std::string::npos) << all;
  // 64 listed plus a benchmark not among them is 65.
  ReturnWindowOptions o = benchmark("S0");
  for (int j = 1; j <= kMaxAssets; ++j) o.assets.push_back("S" + std::to_string(j));
  EXPECT_NE(rejection(t, o).find("65 assets selected"), std::string::npos);
  // 64 in all is the limit, not past it.
  o.assets.pop_back();
  EXPECT_EQ(log_returns_on_common_window(t, o).num_assets(), kMaxAssets);
}

// A price that does not move used to fail inside the fit as "column 1", with no file or symbol.
TEST(Returns, RejectsAnAssetWhosePriceDoesNotMoveNamingFileAndSymbol) {
  const PriceTable t = parse("date,BTC,USDT,ETH\n2024-01-01,100,1,1\n2024-01-02,110,1,2\n2024-01-03,99,1,4\n"
                             "2024-01-04,101,1.01,3\n");
  ReturnWindowOptions o = benchmark("BTC");
  o.end = "2024-01-03";
  o.assets = {"BTC", "USDT"};
  const std::string still = rejection(t, o);
  EXPECT_EQ(still.rfind("prices.csv: field 'USDT': the price does not move from 2024-01-01 to 2024-01-03", 0), 0u)
      << still;
  EXPECT_NE(still.find("zero variance"), std::string::npos) << still;
  EXPECT_NE(still.find("hint: drop USDT from the selected assets"), std::string::npos) << still;
  // Over the whole file it moves.
  o.end.reset();
  o.assets.clear();
  EXPECT_EQ(log_returns_on_common_window(t, o).num_assets(), 3);
  // A ReturnData made elsewhere (a backtest's window) is held to the same rule.
  ReturnData d = log_returns_on_common_window(t, o);
  d.log_returns.col(2).setZero();
  EXPECT_THROW(require_moving_prices(d), InputError);
}

TEST(Returns, CryptoCommonWindowStartsWithSol) {
  if (!test::have_shared_data()) GTEST_SKIP() << "no ../shared/data";
  const PriceTable t = read_prices_csv(test::shared_dir() / "data" / "crypto_daily_close_yahoo_2014_2025.csv");
  ReturnWindowOptions o = benchmark("BTC");
  o.assets = {"BTC", "ETH", "SOL"};
  const ReturnData d = log_returns_on_common_window(t, o);
  EXPECT_EQ(d.price_dates.front(), "2020-04-10");
  EXPECT_EQ(d.price_dates.back(), "2025-02-11");
  EXPECT_EQ(d.num_returns(), 1768);
  EXPECT_TRUE(d.log_returns.allFinite());
}

}  // namespace
}  // namespace betahedge
