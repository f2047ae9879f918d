// `betahedge calibrate` end to end: exit codes, one-line errors naming file and line, no
// partial output, and the real price histories of ../shared/data.
#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "betahedge/model_types.hpp"
#include "market/prices_csv.hpp"
#include "model/model_json.hpp"
#include "test_support.hpp"

namespace betahedge {
namespace {

using test::run_cli;
using test::TempDir;

/// A valid prices CSV of `days` closes of two assets (B moves with A), from 2021-01-01.
std::string synthetic_prices(int days) {
  std::mt19937_64 rng(9);
  std::normal_distribution<double> normal;
  std::ostringstream out;
  out << "date,A,B\n";
  double a = 100.0, b = 50.0;
  int y = 2021, m = 1, d = 1;
  const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  for (int t = 0; t < days; ++t) {
    char date[16];
    std::snprintf(date, sizeof date, "%04d-%02d-%02d", y, m, d);
    out << date << "," << a << "," << b << "\n";
    const double shock = 0.02 * normal(rng);
    a *= std::exp(shock);
    b *= std::exp(1.2 * shock + 0.01 * normal(rng));
    if (++d > month_days[m - 1]) {
      d = 1;
      if (++m > 12) { m = 1; ++y; }
    }
  }
  return out.str();
}

std::string calibrate_args(const TempDir& dir, const std::string& extra = "", const std::string& benchmark = "A") {
  return "calibrate --prices " + (dir / "prices.csv").string() + " --benchmark " + benchmark + " --out " +
         (dir / "out" / "model.json").string() + " --starts 2 " + extra;
}

/// Runs calibrate on `csv` and checks: exit 2, one `error:` line naming `where`, nothing written.
void expect_rejected(const std::string& csv, const std::string& where, const std::string& extra = "",
                     const std::string& benchmark = "A") {
  TempDir dir;
  test::write_text(dir / "prices.csv", csv);
  std::filesystem::create_directories(dir / "out");
  const auto r = run_cli(calibrate_args(dir, extra, benchmark));
  EXPECT_EQ(r.exit_code, 2) << r.stderr_text;
  EXPECT_EQ(r.stderr_text.rfind("error: ", 0), 0u) << r.stderr_text;
  EXPECT_EQ(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n'), 1) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find(where), std::string::npos) << "want '" << where << "' in: " << r.stderr_text;
  EXPECT_TRUE(std::filesystem::is_empty(dir / "out")) << "partial output written";
}

TEST(CalibrateCli, EveryCsvRejectionExitsTwoNamingTheLine) {
  const std::string good = synthetic_prices(40);
  // Replace the data line `line` (1-based in the file) by `text`.
  auto with_line = [&](int line, const std::string& text) {
    std::istringstream in(good);
    std::ostringstream out;
    std::string l;
    for (int n = 1; std::getline(in, l); ++n) out << (n == line ? text : l) << "\n";
    return out.str();
  };
  expect_rejected(with_line(7, "2021-01-06,12x,3"), "prices.csv:7: field 'A': cannot read '12x'");
  expect_rejected(with_line(9, "2021-01-08,100,-3"), "prices.csv:9: field 'B': price must be positive");
  expect_rejected(with_line(9, "2021-01-08,100,0"), "prices.csv:9: field 'B'");
  expect_rejected(with_line(10, "2021-01-08,100,3"), "prices.csv:10: field 'date': date 2021-01-08 repeats line 9");
  expect_rejected(with_line(10, "2020-12-31,100,3"), "prices.csv:10: field 'date': date 2020-12-31 comes after");
  expect_rejected(with_line(12, "2021-01-11,100"), "prices.csv:12: has 2 fields, the header has 3");
  expect_rejected(with_line(12, "2021-1-11,100,3"), "prices.csv:12: field 'date'");
  expect_rejected(with_line(12, "2021-01-11,100,"), "prices.csv:12: field 'B': empty cell on 2021-01-11 inside the common window");
  expect_rejected(good, "prices.csv:1: header: no column for benchmark 'Z'", "", "Z");
  expect_rejected(good, "prices.csv:1: header: no column for asset 'Q'", "--assets A,Q");
  // 9 returns; two regimes of two assets have 12 parameters, so at least 13 returns.
  expect_rejected(synthetic_prices(10), "prices.csv:2-11: the common window 2021-01-01 .. 2021-01-10 gives 9 returns, the model needs at least 13");
  expect_rejected(with_line(1, "day,A,B"), "prices.csv:1: header");
}

// Bounded reads: /dev/zero used to be read for 4.1 GB before failing.
TEST(CalibrateCli, PricesThatAreNotARegularFileExitTwo) {
  TempDir dir;
  std::filesystem::create_directories(dir / "out");
  const std::string out = " --benchmark A --out " + (dir / "out" / "model.json").string();
  const auto device = run_cli("calibrate --prices /dev/zero" + out);
  EXPECT_EQ(device.exit_code, 2) << device.stderr_text;
  EXPECT_EQ(device.stderr_text.rfind("error: /dev/zero: prices file is not a regular file", 0), 0u)
      << device.stderr_text;
  const auto directory = run_cli("calibrate --prices " + dir.path().string() + out);
  EXPECT_EQ(directory.exit_code, 2) << directory.stderr_text;
  EXPECT_NE(directory.stderr_text.find("prices file is a directory"), std::string::npos) << directory.stderr_text;
  EXPECT_TRUE(std::filesystem::is_empty(dir / "out"));
}

// 65 assets used to be fitted in full and then fail with exit 3 and a hint about the
// covariance floor; the count is an input error found before any fit.
TEST(CalibrateCli, MoreThanSixtyFourAssetsExitTwoBeforeFitting) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal;
  std::ostringstream csv;
  csv << "date,A";
  for (int j = 1; j <= kMaxAssets; ++j) csv << ",S" << j;
  csv << "\n";
  // Enough returns for a one-regime model of 65 assets (65 + 65 * 66 / 2 = 2210 parameters).
  std::vector<double> price(kMaxAssets + 1, 100.0);
  for (int t = 0; t < 2300; ++t) {
    char date[16];
    std::snprintf(date, sizeof date, "%04d-%02d-%02d", 2000 + t / 336, 1 + t / 28 % 12, 1 + t % 28);
    csv << date;
    for (double& p : price) {
      p *= std::exp(0.01 * normal(rng));
      csv << "," << p;
    }
    csv << "\n";
  }
  expect_rejected(csv.str(), "prices.csv: 65 assets selected (the benchmark included), more than the limit of 64",
                  "--regimes 1");
}

// A price that does not move used to fail inside the fit naming "column 1".
TEST(CalibrateCli, AConstantPriceExitsTwoNamingTheSymbolAndTheFile) {
  std::istringstream in(synthetic_prices(40));
  std::ostringstream out;
  std::string l;
  for (int n = 1; std::getline(in, l); ++n) out << (n == 1 ? l : l.substr(0, l.rfind(',') + 1) + "50") << "\n";
  expect_rejected(out.str(), "prices.csv: field 'B': the price does not move from 2021-01-01 to 2021-02-09");
}

TEST(CalibrateCli, BadOptionsExitTwo) {
  TempDir dir;
  test::write_text(dir / "prices.csv", synthetic_prices(100));
  std::filesystem::create_directories(dir / "out");
  for (const char* extra : {"--regimes 9", "--regimes two", "--dist cauchy", "--fill backward", "--start 2021-13-01",
                            "--start 2021-03-01 --end 2021-02-01", "--initial uniform", "--ewma-lambda 1"}) {
    const auto r = run_cli(calibrate_args(dir, extra));
    EXPECT_EQ(r.exit_code, 2) << extra << ": " << r.stderr_text;
    EXPECT_EQ(r.stderr_text.rfind("error: ", 0), 0u) << r.stderr_text;
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir / "out"));
  EXPECT_EQ(run_cli("calibrate --prices " + (dir / "missing.csv").string() + " --benchmark A").exit_code, 2);
}

TEST(CalibrateCli, WritesALoadableModelAndRegimesCsvAndFillsForward) {
  TempDir dir;
  std::string csv = synthetic_prices(300);
  // Blank a cell of B on line 100: an error without --fill forward, filled with it.
  std::istringstream in(csv);
  std::ostringstream out;
  std::string l;
  for (int n = 1; std::getline(in, l); ++n) out << (n == 100 ? l.substr(0, l.rfind(',') + 1) : l) << "\n";
  test::write_text(dir / "prices.csv", out.str());
  std::filesystem::create_directories(dir / "out");
  EXPECT_EQ(run_cli(calibrate_args(dir)).exit_code, 2);
  const auto r = run_cli(calibrate_args(dir, "--fill forward --start 2021-01-05"));
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("--fill forward filled 1 empty cell\n"), std::string::npos) << r.stderr_text;
  const Model m = load_model(dir / "out" / "model.json");
  EXPECT_EQ(m.assets, (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(m.calibration->start, "2021-01-05");
  EXPECT_EQ(m.calibration->nobs, 295);
  EXPECT_NEAR(m.betas.at("B").ols, 1.2, 5 * m.betas.at("B").ols_se);
  const std::string regimes = test::read_text(dir / "out" / "regimes.csv");
  EXPECT_EQ(std::count(regimes.begin(), regimes.end(), '\n'), 296);
  EXPECT_EQ(regimes.substr(0, regimes.find('\n')), "date,filtered_calm,smoothed_calm,filtered_stressed,smoothed_stressed");
  EXPECT_NE(regimes.find("\n2021-01-06,"), std::string::npos);
}

/// synthetic_prices(300) with a third asset C listed from data row 120 (2021-05-01, line 122),
/// while B has no close on rows 100..139 (2021-04-11 .. 2021-05-20): the common window opens
/// inside B's gap, as AVAX's 2020 gap straddles DOT's first date in the crypto file.
std::string prices_with_a_gap_across_the_window_start() {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal;
  std::istringstream in(synthetic_prices(300));
  std::ostringstream out;
  std::string l;
  double c = 20.0;
  for (int n = 1; std::getline(in, l); ++n) {
    const int row = n - 2;
    if (row < 0) {
      out << l << ",C\n";
      continue;
    }
    if (row >= 100 && row < 140) l = l.substr(0, l.rfind(',') + 1);
    out << l << ",";
    if (row >= 120) out << c;
    out << "\n";
    c *= std::exp(0.03 * normal(rng));
  }
  return out.str();
}

// The crypto file's AVAX/DOT window used to fill B's first closes from outside the price
// matrix: exit 3 with a vol of 48 or "observations are not all finite".
TEST(CalibrateCli, FillForwardAcrossTheStartOfTheCommonWindow) {
  const std::string csv = prices_with_a_gap_across_the_window_start();
  expect_rejected(csv, "prices.csv:122: field 'B': empty cell on 2021-05-01 inside the common window");

  TempDir dir;
  test::write_text(dir / "prices.csv", csv);
  std::filesystem::create_directories(dir / "out");
  const auto r = run_cli(calibrate_args(dir, "--fill forward"));
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("common window starts at 2021-05-01 (line 122), the first price of C"),
            std::string::npos) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("filled 20 empty cells"), std::string::npos) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("B: 20 closes in a row (2021-05-01 .. 2021-05-20, lines 122-141) forward-filled "
                               "from the close of 2021-04-10"),
            std::string::npos) << r.stderr_text;
  const Model m = load_model(dir / "out" / "model.json");
  EXPECT_EQ(m.calibration->start, "2021-05-01");
  EXPECT_EQ(m.calibration->nobs, 179);
  // Daily vols of a few percent (A: 2%, B: about 2.4%, C: 3%), not the tens of a garbage close.
  for (const auto& regime : m.regimes)
    for (int i = 0; i < 3; ++i) {
      EXPECT_GT(regime.vol[i], 0.0) << regime.name << " " << m.assets[i];
      EXPECT_LT(regime.vol[i], 0.5) << regime.name << " " << m.assets[i];
    }
}

TEST(CalibrateCli, SameSeedSameFile) {
  TempDir dir;
  test::write_text(dir / "prices.csv", synthetic_prices(400));
  std::filesystem::create_directories(dir / "out");
  ASSERT_EQ(run_cli(calibrate_args(dir, "--regimes 3 --seed 7 --quiet")).exit_code, 0);
  const std::string first = test::read_text(dir / "out" / "model.json");
  ASSERT_EQ(run_cli(calibrate_args(dir, "--regimes 3 --seed 7 --quiet")).exit_code, 0);
  EXPECT_EQ(test::read_text(dir / "out" / "model.json"), first);
}

TEST(CalibrateCli, IterationCapExitsThreeWithAHintAndWritesNothing) {
  TempDir dir;
  test::write_text(dir / "prices.csv", synthetic_prices(200));
  std::filesystem::create_directories(dir / "out");
  const auto r = run_cli(calibrate_args(dir, "--max-iterations 1"));
  EXPECT_EQ(r.exit_code, 3) << r.stderr_text;
  EXPECT_EQ(r.stderr_text.rfind("error: calibration did not converge", 0), 0u) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("hint:"), std::string::npos);
  EXPECT_TRUE(std::filesystem::is_empty(dir / "out"));
  const auto accepted = run_cli(calibrate_args(dir, "--max-iterations 1 --accept-unconverged"));
  ASSERT_EQ(accepted.exit_code, 0) << accepted.stderr_text;
  EXPECT_FALSE(load_model(dir / "out" / "model.json").calibration->converged);
}

TEST(CalibrateCli, CryptoBtcEthSol) {
  if (!test::have_shared_data()) GTEST_SKIP() << "no ../shared/data";
  TempDir dir;
  const auto r = run_cli("calibrate --prices " + (test::shared_dir() / "data" / "crypto_daily_close_yahoo_2014_2025.csv").string() +
                         " --benchmark BTC --assets BTC,ETH,SOL --regimes 2 --out " + (dir / "model.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("common window starts at 2020-04-10"), std::string::npos) << r.stderr_text;
  const Model m = load_model(dir / "model.json");
  EXPECT_EQ(m.calibration->nobs, 1768);
  const PriceTable table = read_prices_csv(test::shared_dir() / "data" / "crypto_daily_close_yahoo_2014_2025.csv");
  for (const char* symbol : {"BTC", "ETH", "SOL"})
    EXPECT_EQ(m.spot[m.asset_index(symbol)], table.closes(table.num_rows() - 1, table.column(symbol))) << symbol;
  EXPECT_LT(m.regimes[0].vol[0], m.regimes[1].vol[0]);
  EXPECT_TRUE(m.calibration->converged);
}

TEST(CalibrateCli, EuStockMarketsWithFractionalYearTime) {
  if (!test::have_shared_data()) GTEST_SKIP() << "no ../shared/data";
  TempDir dir;
  const auto r = run_cli("calibrate --prices " + (test::shared_dir() / "data" / "EuStockMarkets.csv").string() +
                         " --benchmark DAX --regimes auto --out " + (dir / "model.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("fractional years"), std::string::npos) << r.stderr_text;
  const Model m = load_model(dir / "model.json");
  EXPECT_EQ(m.calibration->nobs, 1859);
  EXPECT_EQ(m.calibration->start, "1991-07-01");
  EXPECT_EQ(m.calibration->end, "1998-08-25");
  EXPECT_GE(m.num_regimes(), 2);
}

}  // namespace
}  // namespace betahedge
