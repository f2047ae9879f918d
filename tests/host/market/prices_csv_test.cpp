#include "market/prices_csv.hpp"

#include <cmath>
#include <filesystem>
#include <sstream>

#include <gtest/gtest.h>

#include "betahedge/error.hpp"
#include "test_support.hpp"

namespace betahedge {
namespace {

using namespace std::string_literals;

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

// Bounded reads: a device would be read without end, a directory used to escape as exit 1.
TEST(PricesCsv, RefusesDevicesAndDirectoriesBeforeReading) {
  auto message = [](const std::filesystem::path& path) {
    try {
      read_prices_csv(path);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const std::string device = message("/dev/zero");
  EXPECT_NE(device.find("/dev/zero: prices file is not a regular file"), std::string::npos) << device;
  test::TempDir dir;
  const std::string directory = message(dir.path());
  EXPECT_NE(directory.find("prices file is a directory"), std::string::npos) << directory;
  EXPECT_NE(message(dir / "missing.csv").find("no such file"), std::string::npos);
}

std::string header_of(int num_columns) {
  std::string header = "date";
  for (int j = 0; j < num_columns; ++j) header += ",S" + std::to_string(j);
  return header + "\n";
}

// The duplicate check was quadratic: 10^5 columns took 24 s. The count is capped before any
// per-column work, so this case returns at once.
TEST(PricesCsv, RejectsAHundredThousandColumnsAtOnce) {
  const std::string msg = rejection(header_of(100000) + "2024-01-01" + std::string(100000, ',') + "\n");
  EXPECT_NE(msg.find("prices.csv:1: header: 100000 price columns, more than the limit of 4096"), std::string::npos)
      << msg.substr(0, 300);
}

TEST(PricesCsv, CapsTheColumnCount) {
  const std::string msg = rejection(header_of(5000) + "2024-01-01" + std::string(5000, ',') + "\n");
  EXPECT_NE(msg.find("5000 price columns, more than the limit of 4096"), std::string::npos) << msg.substr(0, 300);
  // At the cap: read, and a duplicate found by the hash set names both columns.
  std::string row = "2024-01-01";
  for (int j = 0; j < kMaxPriceColumns; ++j) row += ",1";
  EXPECT_EQ(parse(header_of(kMaxPriceColumns) + row + "\n").num_symbols(), kMaxPriceColumns);
  std::string duplicate = header_of(kMaxPriceColumns);
  duplicate.replace(duplicate.rfind(',') + 1, std::string::npos, "S7\n");
  const std::string twice = rejection(duplicate + row + "\n");
  EXPECT_NE(twice.find("prices.csv:1: header: column 'S7' appears twice (columns 9 and 4097)"), std::string::npos)
      << twice;
}

TEST(PricesCsv, RejectsControlCharactersInColumnNamesNamingTheColumn) {
  const std::string nul = rejection("date,BTC,ET\0H\n2024-01-01,1,2\n"s);
  EXPECT_NE(nul.find("prices.csv:1: header: column 3 name 'ET\\x00H' holds a control character"), std::string::npos)
      << nul;
  const std::string bell = rejection("date,B\aTC\n2024-01-01,1\n");
  EXPECT_NE(bell.find("header: column 2 name 'B\\x07TC'"), std::string::npos) << bell;
  // UTF-8 names are names.
  EXPECT_EQ(parse("date,\xC3\x89TH\n2024-01-01,1\n").symbols[0], "\xC3\x89TH");
}

TEST(PricesCsv, RejectsALineOverOneMebibyteNamingIt) {
  const std::string msg = rejection("date,BTC\n2024-01-01,1\n2024-01-02,1" + std::string(2u << 20, '0') + "\n");
  EXPECT_NE(msg.find("prices.csv:3: line is longer than the limit of 1 MiB"), std::string::npos) << msg.substr(0, 300);
  const std::string header = rejection("date," + std::string(kMaxCsvLineBytes, 'A') + "\n2024-01-01,1\n");
  EXPECT_NE(header.find("prices.csv:1: line is longer"), std::string::npos) << header.substr(0, 300);
  // A line of exactly the limit is read.
  const std::string cell = "1." + std::string(kMaxCsvLineBytes - 13, '0');
  EXPECT_EQ(parse("date,BTC\n2024-01-01," + cell + "\n").num_rows(), 1);
}

// One 50 MB cell used to be echoed whole in the error line.
TEST(PricesCsv, ClipsLongValuesInMessages) {
  const std::string cell = rejection("date,BTC\n2024-01-01,1" + std::string(1000000, '9') + "x\n");
  EXPECT_LT(cell.size(), 200u) << cell.substr(0, 300);
  EXPECT_NE(cell.find("prices.csv:2: field 'BTC': cannot read '1999"), std::string::npos) << cell;
  EXPECT_NE(cell.find("(1000002 bytes)"), std::string::npos) << cell;
  const std::string date = rejection("date,BTC\n" + std::string(500000, '2') + ",1\n");
  EXPECT_LT(date.size(), 200u) << date.substr(0, 300);
  EXPECT_NE(date.find("prices.csv:2: field 'date'"), std::string::npos) << date;
  const std::string first = rejection(std::string(500000, 'd') + ",BTC\n2024-01-01,1\n");
  EXPECT_LT(first.size(), 200u) << first.substr(0, 300);
  const std::string symbol = std::string(100000, 'S');
  const std::string negative = rejection("date," + symbol + "\n2024-01-01,-1\n");
  EXPECT_LT(negative.size(), 200u) << negative.substr(0, 300);
  EXPECT_NE(negative.find("price must be positive"), std::string::npos) << negative;
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
