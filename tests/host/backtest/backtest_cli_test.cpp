// betahedge backtest at the command line: bad options exit 2 with one line naming the option
// and leave no output behind; a short walk forward on the real crypto history writes SPEC 6's
// backtest.json keys and backtest.csv columns.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace betahedge {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

/// The fields of one CSV line (no quoting in betahedge's own output).
std::vector<std::string> fields(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string f; std::getline(in, f, ',');) out.push_back(f);
  return out;
}

std::vector<std::vector<std::string>> csv_rows(const fs::path& file) {
  std::istringstream in(test::read_text(file));
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(in, line);) rows.push_back(fields(line));
  return rows;
}

// The demo prices (closes 2022-02-11 .. 2025-02-15) and book: with a 365-day window and a
// 1-day horizon the testable dates are 2023-02-11 .. 2025-02-14.
TEST(BacktestCli, BadOptionsExitTwoNamingTheOptionAndWriteNothing) {
  test::TempDir dir;
  const std::string base = "backtest --quiet --no-report --prices " +
                           (test::source_dir() / "data/demo_prices.csv").string() + " --config " +
                           (test::source_dir() / "configs/demo/book.yaml").string() + " --paths 2000 --out " +
                           (dir / "out").string();
  const struct {
    std::string options, option, mentions;
  } cases[] = {
      {"--window-days 1100", "--window-days", "need at least 1102 closes"},  // the file has 1101
      {"--window-days 5000", "--window-days", "has 1101"},
      {"--window-days 365 --from 2020-01-01", "--from", "the testable dates are 2023-02-11 .. 2025-02-14"},
      {"--window-days 365 --from 2025-02-15", "--from", "outside the test period"},  // the last close: no horizon
      {"--window-days 365 --to 2023-02-10", "--to", "outside the test period"},       // one return short of a window
      {"--window-days 365 --to 2030-01-01", "--to", "outside the test period"},
      {"--window-days 365 --from 2024-02-30", "--from", "not a date"},
      {"--window-days 365 --to 2024/06/01", "--to", "not a date"},
      {"--window-days 365 --from yesterday", "--from", "not a date"},
      {"--window-days 365 --from 2024-06-01 --to 2024-01-01", "--to", "before --from 2024-06-01"},
      {"--horizon-days 0", "--horizon-days", ""},
      {"--paths 0", "--paths", ""},
      {"--refit-every 0", "--refit-every", ""},
      {"--regimes 9", "--regimes", "'9'"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.options);
    const test::CliResult r = test::run_cli(base + " " + c.options);
    EXPECT_EQ(r.exit_code, 2) << r.stderr_text;
    EXPECT_EQ(r.stderr_text.rfind("error: ", 0), 0u) << r.stderr_text;
    EXPECT_EQ(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n'), 1) << r.stderr_text;
    EXPECT_NE(r.stderr_text.find(c.option), std::string::npos) << r.stderr_text;
    EXPECT_NE(r.stderr_text.find(c.mentions), std::string::npos) << r.stderr_text;
    EXPECT_FALSE(fs::exists(dir / "out")) << r.stderr_text;
    // No half-written sibling either (write_directory_atomically stages beside the target).
    EXPECT_TRUE(fs::is_empty(dir.path()));
  }
}

// A small BTC/ETH/SOL book on the real daily closes (SPEC 6's files): the first half of 2024,
// each date forecast from the 365 returns before it.
TEST(BacktestCli, RealHistoryWritesSpecKeysAndColumns) {
  const fs::path prices = test::shared_dir() / "data/crypto_daily_close_yahoo_2014_2025.csv";
  if (!fs::exists(prices)) GTEST_SKIP() << "no " << prices;
  test::TempDir dir;
  test::write_text(dir / "book.yaml",
                   "model: unused.json\n"
                   "portfolio:\n"
                   "  holdings: {ETH: 20, SOL: 400}\n"
                   "hedge:\n"
                   "  instrument: perpetual\n"
                   "  benchmark: BTC\n"
                   "  mode: dynamic\n"
                   "  target_beta: 0.0\n"
                   "  band: 0.05\n"
                   "  fee_bps: 2\n"
                   "  funding_rate_8h: [0.0001]\n"
                   "margin:\n"
                   "  collateral: auto\n"
                   "simulation:\n"
                   "  seed: 11\n"
                   "risk:\n"
                   "  levels: [0.95, 0.99]\n");
  const test::CliResult r =
      test::run_cli("backtest --quiet --no-report --backend cpu --prices " + prices.string() + " --config " +
                    (dir / "book.yaml").string() + " --from 2024-01-01 --to 2024-06-30 --window-days 365 --paths 5000 --out " +
                    (dir / "out").string());
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;

  const json j = json::parse(test::read_text(dir / "out/backtest.json"));
  EXPECT_EQ(j.at("format"), "betahedge.backtest/1");
  EXPECT_EQ(j.at("observations"), 182);  // 2024-01-01 .. 2024-06-30, every day a close
  for (const char* level : {"0.95", "0.99"})
    for (const char* side : {"hedged", "unhedged"}) {
      SCOPED_TRACE(std::string(level) + " " + side);
      const json& t = j.at("levels").at(level).at(side);
      for (const char* key : {"exceptions", "rate", "kupiec_lr", "kupiec_p", "independence_lr", "independence_p",
                              "conditional_coverage_lr", "conditional_coverage_p"})
        EXPECT_TRUE(t.at(key).is_number()) << key;
      EXPECT_TRUE(t.at("traffic_light") == "green" || t.at("traffic_light") == "yellow" || t.at("traffic_light") == "red");
      EXPECT_TRUE(t.at("es_test").is_object());
      EXPECT_TRUE(t.at("es_test").at("z2").is_number());
      EXPECT_TRUE(t.at("es_test").at("p_value").is_number());
      EXPECT_NEAR(t.at("rate").get<double>(), t.at("exceptions").get<double>() / 182.0, 1e-15);
    }

  // SPEC 6's columns first, in its order, then the extras backtest_files.hpp lists.
  const std::vector<std::vector<std::string>> rows = csv_rows(dir / "out/backtest.csv");
  ASSERT_EQ(rows.size(), 1u + 182u);
  std::vector<std::string> spec = {"date", "realised_unhedged", "realised_hedged"};
  for (const char* level : {"0.95", "0.99"})
    for (const char* column : {"var_unhedged_", "var_hedged_", "es_unhedged_", "es_hedged_", "exception_unhedged_",
                               "exception_hedged_"})
      spec.push_back(column + std::string(level));
  ASSERT_GE(rows[0].size(), spec.size());
  EXPECT_EQ(std::vector<std::string>(rows[0].begin(), rows[0].begin() + static_cast<std::ptrdiff_t>(spec.size())), spec);
  EXPECT_EQ(rows[1][0], "2024-01-01");
  EXPECT_EQ(rows.back()[0], "2024-06-30");
  // The json's exception counts are the csv's columns summed (horizon 1: every date sampled).
  for (std::size_t level = 0; level < 2; ++level)
    for (std::size_t side = 0; side < 2; ++side) {
      const std::size_t column = 3 + 6 * level + 4 + side;
      int sum = 0;
      for (std::size_t i = 1; i < rows.size(); ++i) sum += std::stoi(rows[i].at(column));
      EXPECT_EQ(j.at("levels").at(level == 0 ? "0.95" : "0.99").at(side == 0 ? "unhedged" : "hedged").at("exceptions"),
                sum)
          << rows[0][column];
    }
}

}  // namespace
}  // namespace betahedge
