#include "market/prices_csv.hpp"

#include <cmath>
#include <sstream>

#include <gtest/gtest.h>

#include "betahedge/error.hpp"
#include "test_support.hpp"

namespace betahedge {
namespace {

PriceTable parse(const std::string& text) {
  std::istringstream in(text);
  return parse_prices_csv(in, "prices.csv");
}

/// The InputError message of parsing `text`, or "" when it parses.
std::string rejection(const std::string& text) {
  try {
    parse(text);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(PricesCsv, ReadsAWideTableWithEmptyCellsAsNaN) {
  const PriceTable t = parse("date,BTC,ETH\n2024-01-01,100,\n2024-01-02,101.5,2.5\n");
  ASSERT_EQ(t.symbols, (std::vector<std::string>{"BTC", "ETH"}));
  ASSERT_EQ(t.dates, (std::vector<std::string>{"2024-01-01", "2024-01-02"}));
  EXPECT_EQ(t.lines, (std::vector<int>{2, 3}));
  EXPECT_DOUBLE_EQ(t.closes(0, 0), 100.0);
  EXPECT_TRUE(std::isnan(t.closes(0, 1)));
  EXPECT_DOUBLE_EQ(t.closes(1, 1), 2.5);
  EXPECT_FALSE(t.converted_fractional_years);
}

TEST(PricesCsv, AcceptsQuotesCrlfAndTrailingBlankLines) {
  const PriceTable t = parse("\"date\",\"BTC\"\r\n\"2024-01-01\",100\r\n2024-01-02,1e2\r\n\r\n\n");
  ASSERT_EQ(t.num_rows(), 2);
  EXPECT_EQ(t.symbols[0], "BTC");
  EXPECT_DOUBLE_EQ(t.closes(1, 0), 100.0);
}

TEST(PricesCsv, RejectsAnUnparseableNumberWithLineAndField) {
  const std::string msg = rejection("date,BTC,ETH\n2024-01-01,100,2\n2024-01-02,101,abc\n");
  EXPECT_NE(msg.find("prices.csv:3:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'ETH'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'abc'"), std::string::npos) << msg;
}

TEST(PricesCsv, RejectsTrailingGarbageAndNonFiniteNumbers) {
  EXPECT_NE(rejection("date,BTC\n2024-01-01,100x\n").find("prices.csv:2:"), std::string::npos);
  EXPECT_NE(rejection("date,BTC\n2024-01-01,100\n2024-01-02,inf\n").find("prices.csv:3:"), std::string::npos);
  EXPECT_NE(rejection("date,BTC\n2024-01-01,nan\n").find("prices.csv:2:"), std::string::npos);
}

TEST(PricesCsv, RejectsNonPositivePrices) {
  const std::string zero = rejection("date,BTC\n2024-01-01,100\n2024-01-02,0\n");
  EXPECT_NE(zero.find("prices.csv:3:"), std::string::npos) << zero;
  EXPECT_NE(zero.find("positive"), std::string::npos) << zero;
  const std::string negative = rejection("date,BTC,ETH\n2024-01-01,100,-2\n");
  EXPECT_NE(negative.find("prices.csv:2:"), std::string::npos) << negative;
  EXPECT_NE(negative.find("'ETH'"), std::string::npos) << negative;
}

TEST(PricesCsv, RejectsDuplicateDatesNamingBothLines) {
  const std::string msg = rejection("date,BTC\n2024-01-01,1\n2024-01-02,2\n2024-01-02,3\n");
  EXPECT_NE(msg.find("prices.csv:4:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("repeats line 3"), std::string::npos) << msg;
}

TEST(PricesCsv, RejectsUnsortedDates) {
  const std::string msg = rejection("date,BTC\n2024-01-01,1\n2024-01-03,2\n2024-01-02,3\n");
  EXPECT_NE(msg.find("prices.csv:4:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("ascend"), std::string::npos) << msg;
}

TEST(PricesCsv, RejectsInvalidDates) {
  EXPECT_NE(rejection("date,BTC\n2024-02-30,1\n").find("prices.csv:2:"), std::string::npos);
  EXPECT_NE(rejection("date,BTC\n2024-01-01,1\n01/02/2024,1\n").find("prices.csv:3:"), std::string::npos);
}

TEST(PricesCsv, RejectsRowsWithTheWrongNumberOfFields) {
  const std::string msg = rejection("date,BTC,ETH\n2024-01-01,1,2\n2024-01-02,1\n");
  EXPECT_NE(msg.find("prices.csv:3:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("has 2 fields, the header has 3"), std::string::npos) << msg;
}

TEST(PricesCsv, RejectsBadHeaders) {
  EXPECT_NE(rejection("day,BTC\n2024-01-01,1\n").find("prices.csv:1:"), std::string::npos);
  EXPECT_NE(rejection("date\n2024-01-01\n").find("prices.csv:1:"), std::string::npos);
  const std::string twice = rejection("date,BTC,BTC\n2024-01-01,1,1\n");
  EXPECT_NE(twice.find("prices.csv:1:"), std::string::npos) << twice;
  EXPECT_NE(twice.find("appears twice"), std::string::npos) << twice;
  EXPECT_NE(rejection("").find("empty"), std::string::npos);
  EXPECT_NE(rejection("date,BTC\n").find("no data rows"), std::string::npos);
}

TEST(PricesCsv, RejectsABlankLineInsideTheData) {
  const std::string msg = rejection("date,BTC\n2024-01-01,1\n\n2024-01-03,1\n");
  EXPECT_NE(msg.find("prices.csv:3:"), std::string::npos) << msg;
}

TEST(PricesCsv, ValidatesIsoDates) {
  EXPECT_TRUE(is_iso_date("2024-02-29"));
  EXPECT_FALSE(is_iso_date("2023-02-29"));
  EXPECT_FALSE(is_iso_date("2024-13-01"));
  EXPECT_FALSE(is_iso_date("2024-1-01"));
  EXPECT_FALSE(is_iso_date("2024/01/01"));
}

// R's ts index of a 260-a-year business-day series: year + i / 260 is the i-th weekday.
TEST(PricesCsv, ConvertsFractionalYearsToWeekdays) {
  EXPECT_EQ(fractional_year_to_date(1992.0), "1992-01-01");        // a Wednesday
  EXPECT_EQ(fractional_year_to_date(1992.0 + 3.0 / 260), "1992-01-06");  // Thu, Fri, then Monday
  EXPECT_EQ(fractional_year_to_date(1991.496154), "1991-07-01");   // index 129 of 1991
  EXPECT_EQ(fractional_year_to_date(1991.0 + 259.0 / 260), "1991-12-30");
  EXPECT_EQ(fractional_year_to_date(1991.4961), "");               // off the grid
}

TEST(PricesCsv, ReadsEuStockMarketsTimeColumn) {
  if (!test::have_shared_data()) GTEST_SKIP() << "no ../shared/data";
  const PriceTable t = read_prices_csv(test::shared_dir() / "data" / "EuStockMarkets.csv");
  EXPECT_TRUE(t.converted_fractional_years);
  EXPECT_EQ(t.symbols, (std::vector<std::string>{"DAX", "SMI", "CAC", "FTSE"}));
  ASSERT_EQ(t.num_rows(), 1860);
  EXPECT_EQ(t.dates.front(), "1991-07-01");
  EXPECT_DOUBLE_EQ(t.closes(0, 0), 1628.75);
  EXPECT_EQ(t.dates.back(), "1998-08-25");
  EXPECT_DOUBLE_EQ(t.closes(1859, 0), 5473.72);
  EXPECT_DOUBLE_EQ(t.closes(1859, 3), 5455.0);
}

TEST(PricesCsv, ReadsTheCryptoFileWithLeadingBlanks) {
  if (!test::have_shared_data()) GTEST_SKIP() << "no ../shared/data";
  const PriceTable t = read_prices_csv(test::shared_dir() / "data" / "crypto_daily_close_yahoo_2014_2025.csv");
  ASSERT_EQ(t.num_rows(), 3801);
  EXPECT_EQ(t.dates.front(), "2014-09-17");
  EXPECT_EQ(t.dates.back(), "2025-02-11");
  EXPECT_TRUE(std::isnan(t.closes(0, t.column("SOL"))));
  EXPECT_DOUBLE_EQ(t.closes(0, t.column("BTC")), 457.33401);
}

}  // namespace
}  // namespace betahedge
