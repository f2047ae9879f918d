// betahedge backtest at the command line: bad options exit 2 with one line naming the option
// and leave no output behind; a short walk forward on the real crypto history writes SPEC 6's
// backtest.json keys and backtest.csv columns.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
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
      {"--benchmark XBT", "--benchmark: 'XBT' has no column in ", "(its columns: BTC, ETH, SOL)"},
      {"--paths abc", "--paths", "(see betahedge backtest --help)"},
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
  // The book as tested, and the worst window beside the latest.
  const json& book = j.at("book");
  EXPECT_EQ(book.at("portfolio").at("holdings"), json({{"ETH", 20.0}, {"SOL", 400.0}}));
  EXPECT_EQ(book.at("hedge").at("instrument"), "perpetual");
  EXPECT_EQ(book.at("hedge").at("benchmark"), "BTC");
  EXPECT_EQ(book.at("hedge").at("mode"), "dynamic");
  EXPECT_EQ(book.at("hedge").at("target_beta"), 0.0);
  EXPECT_EQ(book.at("hedge").at("band"), 0.05);
  EXPECT_EQ(book.at("hedge").at("fee_bps"), 2.0);
  EXPECT_EQ(book.at("hedge").at("funding_rate_8h"), 0.0001);
  EXPECT_EQ(book.at("margin").at("collateral"), "auto");
  EXPECT_NE(book.at("margin").at("collateral_sizing").get<std::string>().find("each test date"), std::string::npos);
  EXPECT_EQ(book.at("margin").at("on_call"), "liquidate");
  EXPECT_EQ(book.at("risk_levels"), json({"0.95", "0.99"}));
  EXPECT_EQ(book.at("horizon_days"), 1);
  for (const char* level : {"0.95", "0.99"})
    for (const char* side : {"hedged", "unhedged"}) {
      const json& t = j.at("levels").at(level).at(side);
      const json& worst = t.at("worst_window");
      EXPECT_EQ(worst.at("observations"), 182);  // fewer than 250: the whole test
      EXPECT_EQ(worst.at("exceptions"), t.at("exceptions"));
      EXPECT_EQ(worst.at("zone"), t.at("traffic_light"));
    }
  // Per date: the hedge as opened (short: negative) and the realised rebalances of the dynamic hedge.
  const auto column = [&](const std::string& name) {
    return static_cast<std::size_t>(std::find(rows[0].begin(), rows[0].end(), name) - rows[0].begin());
  };
  const std::size_t notional = column("hedge_notional"), rebalances = column("rebalances");
  ASSERT_LT(notional, rows[0].size());
  ASSERT_LT(rebalances, rows[0].size());
  for (std::size_t i = 1; i < rows.size(); ++i) {
    EXPECT_LT(std::stod(rows[i].at(notional)), 0.0) << rows[i][0];
    const int n = std::stoi(rows[i].at(rebalances));
    EXPECT_TRUE(n == 0 || n == 1) << rows[i][0];  // a one-day horizon has one beta check after t
  }
  // 182 observations at 99% expect 1.8 exceptions: the warning says widen the test period, and
  // gives the testable dates.
  const auto few = std::find_if(j.at("warnings").begin(), j.at("warnings").end(), [](const json& w) {
    return w.get<std::string>().rfind("backtest: 182 observations expect 1.8 exceptions at 0.99", 0) == 0;
  });
  ASSERT_NE(few, j.at("warnings").end()) << j.at("warnings");
  EXPECT_NE(few->get<std::string>().find("The test period 2024-01-01 .. 2024-06-30 is 182 of the "), std::string::npos);
  EXPECT_NE(few->get<std::string>().find("widen --from/--to"), std::string::npos);

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

/// stdout of `betahedge ARGS`.
std::string cli_stdout(const std::string& args) {
  std::string out;
  FILE* pipe = ::popen((std::string(BETAHEDGE_CLI) + " " + args + " 2>/dev/null").c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  ::pclose(pipe);
  return out;
}

/// The help line of `option` and the description lines under it.
std::string help_entry(const std::string& help, const std::string& option) {
  const std::size_t at = help.find("  " + option + " ");
  if (at == std::string::npos) return "";
  const std::size_t next = help.find("\n  --", at + 1);
  return help.substr(at, next == std::string::npos ? std::string::npos : next - at);
}

TEST(BacktestCli, HelpShowsEveryDefault) {
  const std::string help = cli_stdout("backtest --help");
  ASSERT_NE(help.find("walk-forward test"), std::string::npos) << help;
  const struct {
    const char* option;
    const char* shows;
  } cases[] = {
      {"--paths", "=100000"},        {"--horizon-days", "=1\n"}, {"--window-days", "=730"},
      {"--refit-every", "=20"},      {"--regimes", "=2"},         {"--dist", "=gaussian"},
      {"--seed", "default: the book's simulation.seed"},          {"--backend", "default: the book's simulation.backend"},
      {"--threads", "default: the book's simulation.threads"},    {"--batch-size", "default: the book's"},
      {"--benchmark", "default: the book's hedge.benchmark"},     {"--from", "default: the first with a full window"},
      {"--to", "default: the last with a full horizon"},
  };
  for (const auto& c : cases) {
    const std::string entry = help_entry(help, c.option);
    EXPECT_NE(entry.find(c.shows), std::string::npos) << c.option << ":\n" << entry;
  }
  EXPECT_NE(help.find("VaR and ES levels: the book's risk.levels (default 0.95, 0.99)"), std::string::npos) << help;
  EXPECT_EQ(help.find("{false}"), std::string::npos) << help;  // CLI11's marker of a negated flag
  EXPECT_EQ(help.find("WHOLE NUMBER"), std::string::npos) << help;  // a validator's name, not a type
}

// --benchmark is the model's (each window's market factor): the hedge still trades the book's
// hedge.benchmark, and backtest.json says so in its two places.
TEST(BacktestCli, BenchmarkOptionIsTheModelsAndTheBookBlockTheHedgesUnderlying) {
  test::TempDir dir;
  const test::CliResult r = test::run_cli(
      "backtest --quiet --no-report --backend cpu --prices " + (test::source_dir() / "data/demo_prices.csv").string() +
      " --config " + (test::source_dir() / "configs/demo/book.yaml").string() +
      " --benchmark ETH --window-days 365 --from 2025-02-10 --paths 2000 --out " + (dir / "out").string());
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  const json j = json::parse(test::read_text(dir / "out/backtest.json"));
  EXPECT_EQ(j.at("run").at("benchmark"), "ETH");
  EXPECT_EQ(j.at("book").at("hedge").at("benchmark"), "BTC");
}

// A book asset the prices lack is named at the book's line, not only at the prices' header.
TEST(BacktestCli, ABookAssetWithoutPricesNamesTheBooksField) {
  test::TempDir dir;
  test::write_text(dir / "book.yaml",
                   "portfolio:\n"                      // 1
                   "  holdings: {ETH: 400, DOGEX: 10}\n"  // 2
                   "hedge:\n"                          // 3
                   "  instrument: perpetual\n"         // 4
                   "  benchmark: BTC\n"                // 5
                   "  ratio: 0.8\n");                  // 6
  const test::CliResult r = test::run_cli(
      "backtest --quiet --no-report --prices " + (test::source_dir() / "data/demo_prices.csv").string() +
      " --config " + (dir / "book.yaml").string() + " --window-days 365 --paths 2000 --out " + (dir / "out").string());
  EXPECT_EQ(r.exit_code, 2) << r.stderr_text;
  EXPECT_EQ(r.stderr_text.rfind("error: " + (dir / "book.yaml").string() + ":2: portfolio.holdings.DOGEX: 'DOGEX' has "
                                "no column in ", 0), 0u) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("(its columns: BTC, ETH, SOL)"), std::string::npos) << r.stderr_text;
  EXPECT_FALSE(fs::exists(dir / "out"));
}

/// A small book on the demo prices for `betahedge run`: no stresses, 2,000 paths on the command line.
void write_run_book(const fs::path& dir) {
  test::write_text(dir / "book.yaml",
                   "model: unused.json\n"
                   "portfolio:\n"
                   "  holdings: {ETH: 400, SOL: 6000}\n"
                   "hedge:\n"
                   "  instrument: perpetual\n"
                   "  benchmark: BTC\n"
                   "  mode: static\n"
                   "  ratio: 0.8\n"
                   "margin:\n"
                   "  collateral: 500000\n"
                   "simulation:\n"
                   "  horizon_days: 5\n"
                   "risk:\n"
                   "  levels: [0.99]\n");
}

/// run.yaml on the demo prices (closes 2022-02-11 .. 2025-02-15), calibrated up to 2024-06-30,
/// with `backtest` as the block's lines (from line 9).
std::string run_yaml(const std::string& backtest) {
  return "book: book.yaml\n"                                                              // 1
         "calibrate:\n"                                                                   // 2
         "  prices: " + (test::source_dir() / "data/demo_prices.csv").string() + "\n"     // 3
         "  benchmark: BTC\n"                                                              // 4
         "  assets: [BTC, ETH, SOL]\n"                                                     // 5
         "  regimes: 2\n"                                                                  // 6
         "  starts: 2\n"                                                                   // 7
         "  end: 2024-06-30\n"                                                             // 8
         "backtest:\n" +                                                                   // 9
         backtest;                                                                         // 10..
}

// run.yaml's backtest: errors name the YAML field at its file and line, never the CLI's flag.
TEST(BacktestCli, RunYamlErrorsNameTheFieldAndLine) {
  test::TempDir dir;
  write_run_book(dir.path());
  const struct {
    std::string block, names, mentions;
  } cases[] = {
      {"  window_days: 5000\n  paths: 2000\n", ":10: backtest.window_days: 5000 returns", "has 1101"},
      {"  paths: 2000\n  window_days: 365\n  from: 2020-01-01\n", ":12: backtest.from: 2020-01-01",
       "the testable dates are 2023-02-11 .. 2025-02-14"},
      {"  window_days: 365\n  to: 2030-01-01\n", ":11: backtest.to: 2030-01-01", "outside the test period"},
      {"  to: 2022-06-01\n", ":10: backtest.to: 2022-06-01", "a 730-day window before"},  // the default window
      {"", ":9: backtest: is empty: give its fields, or write `backtest: {}` for every default", ""},  // empty, at the end of the file: its own line, not past it
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.block);
    test::write_text(dir / "run.yaml", run_yaml(c.block));
    const test::CliResult r = test::run_cli("run --quiet --backend cpu --paths 2000 --config " +
                                            (dir / "run.yaml").string() + " --out " + (dir / "out").string());
    EXPECT_EQ(r.exit_code, 2) << r.stderr_text;
    EXPECT_EQ(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n'), 1) << r.stderr_text;
    EXPECT_EQ(r.stderr_text.rfind("error: " + (dir / "run.yaml").string() + c.names, 0), 0u) << r.stderr_text;
    EXPECT_NE(r.stderr_text.find(c.mentions), std::string::npos) << r.stderr_text;
    EXPECT_EQ(r.stderr_text.find("--"), std::string::npos) << r.stderr_text;
    EXPECT_FALSE(fs::exists(dir / "out"));
  }
  // A bad backtest field fails before the run's calibration, not after it.
  test::write_text(dir / "run.yaml", run_yaml("  window_days: 5\n"));
  test::CliResult r = test::run_cli("run --backend cpu --paths 2000 --config " + (dir / "run.yaml").string() +
                                    " --out " + (dir / "out").string());
  EXPECT_EQ(r.exit_code, 2) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find(":10: backtest.window_days: 5 returns are too few"), std::string::npos) << r.stderr_text;
  EXPECT_EQ(r.stderr_text.find("calibrating"), std::string::npos) << r.stderr_text;
  // A block-style backtest: without calibrate: is named at its own line, not its first field's.
  test::write_text(dir / "run.yaml", "book: book.yaml\nbacktest:\n  window_days: 365\n");
  r = test::run_cli("run --quiet --config " + (dir / "run.yaml").string() + " --out " + (dir / "out").string());
  EXPECT_EQ(r.exit_code, 2) << r.stderr_text;
  EXPECT_EQ(r.stderr_text.rfind("error: " + (dir / "run.yaml").string() + ":2: backtest: needs calibrate:", 0), 0u)
      << r.stderr_text;
}

// The run's backtest is out of sample by design: without backtest.to it tests up to the last
// close with a full horizon, past calibrate.end (2024-06-30); backtest.to, when given, ends it.
TEST(BacktestCli, RunTestsPastCalibrateEndUnlessToIsGiven) {
  test::TempDir dir;
  write_run_book(dir.path());
  for (const auto& [to, last] : {std::pair<std::string, std::string>{"", "2025-02-14"},
                                 std::pair<std::string, std::string>{"  to: 2025-02-10\n", "2025-02-10"}}) {
    SCOPED_TRACE(last);
    test::write_text(dir / "run.yaml", run_yaml("  window_days: 365\n  paths: 2000\n  from: 2025-02-05\n" + to) +
                                           "report: false\n");
    const fs::path out = dir / ("out-" + last);
    const test::CliResult r = test::run_cli("run --quiet --backend cpu --paths 2000 --config " +
                                            (dir / "run.yaml").string() + " --out " + out.string());
    ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
    // stdout carries the backtest's verdict, as `betahedge backtest` prints it.
    EXPECT_EQ(r.stdout_text.rfind("0.99 unhedged: ", 0), 0u) << r.stdout_text;
    EXPECT_NE(r.stdout_text.find("\n0.99 hedged: "), std::string::npos) << r.stdout_text;
    const json j = json::parse(test::read_text(out / "backtest.json"));
    EXPECT_EQ(j.at("run").at("from"), "2025-02-05");
    EXPECT_EQ(j.at("run").at("to"), last);
    // The book block records what was tested: the static hedge and its fixed collateral.
    EXPECT_EQ(j.at("book").at("hedge").at("ratio"), 0.8);
    EXPECT_EQ(j.at("book").at("margin").at("collateral"), 500000.0);
    EXPECT_EQ(j.at("book").at("margin").at("collateral_sizing"), "fixed: the same collateral on every test date");
  }
}

// A gap in the prices: the backtest names its own --fill option, and fills with it; run.yaml's
// message names calibrate.fill_forward.
TEST(BacktestCli, AGapInThePricesNamesTheFillOptionThatFillsIt) {
  test::TempDir dir;
  std::istringstream demo(test::read_text(test::source_dir() / "data/demo_prices.csv"));
  std::string gapped;
  int line_number = 0;
  for (std::string line; std::getline(demo, line);) {
    if (++line_number == 10) line = line.substr(0, line.rfind(',') + 1);  // the last column's close empty
    gapped += line + "\n";
  }
  test::write_text(dir / "prices.csv", gapped);
  const std::string base = "backtest --no-report --backend cpu --prices " + (dir / "prices.csv").string() +
                           " --config " + (test::source_dir() / "configs/demo/book.yaml").string() +
                           " --window-days 365 --from 2025-02-12 --paths 2000 --out ";
  test::CliResult r = test::run_cli(base + (dir / "unfilled").string());
  EXPECT_EQ(r.exit_code, 2) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("prices.csv:10: field 'SOL': empty cell on "), std::string::npos) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("(use --fill forward to repeat the previous close)"), std::string::npos)
      << r.stderr_text;
  r = test::run_cli(base + (dir / "filled").string() + " --fill forward");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("--fill forward filled 1 empty cell"), std::string::npos) << r.stderr_text;
  // The gap (2022-02-19) lies before anything this test period reads (its first window starts in
  // 2024): filled, but not counted, and no date warned of.
  EXPECT_EQ(json::parse(test::read_text(dir / "filled/backtest.json")).at("run").at("filled_cells"), 0);
  EXPECT_EQ(r.stderr_text.find("forward-filled close"), std::string::npos) << r.stderr_text;
  // A test date on a gap: its spot is the previous close and its realised P&L runs from there.
  // 2025-02-12's SOL close empty: that date tests from 2025-02-11's close.
  std::string late;
  std::istringstream again(test::read_text(test::source_dir() / "data/demo_prices.csv"));
  for (std::string line; std::getline(again, line);) {
    if (line.rfind("2025-02-12,", 0) == 0) line = line.substr(0, line.rfind(',') + 1);
    late += line + "\n";
  }
  test::write_text(dir / "late.csv", late);
  r = test::run_cli("backtest --quiet --no-report --backend cpu --prices " + (dir / "late.csv").string() + " --config " +
                    (test::source_dir() / "configs/demo/book.yaml").string() +
                    " --window-days 365 --from 2025-02-11 --to 2025-02-12 --paths 2000 --fill forward --out " +
                    (dir / "on-gap").string());
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(json::parse(test::read_text(dir / "on-gap/backtest.json")).at("run").at("filled_cells"), 1);
  // 2025-02-11's horizon ends on the filled close and 2025-02-12 starts on it: both are warned of.
  EXPECT_NE(r.stderr_text.find("warning: backtest: 2 of 2 observations read a forward-filled close at their start "
                               "or within their horizon (2025-02-11 .. 2025-02-12)"),
            std::string::npos)
      << r.stderr_text;
  const std::vector<std::vector<std::string>> rows = csv_rows(dir / "on-gap/backtest.csv");
  ASSERT_EQ(rows.size(), 3u);
  const auto column = [&](const std::string& name) {
    return std::find(rows[0].begin(), rows[0].end(), name) - rows[0].begin();
  };
  EXPECT_EQ(rows[2][column("date")], "2025-02-12");
  // Read from the raw table, 2025-02-12's spot would be NaN: both dates have a finite realised P&L.
  for (int d : {1, 2})
    for (const char* name : {"realised_unhedged", "realised_hedged"})
      EXPECT_TRUE(std::isfinite(std::stod(rows[d][column(name)]))) << name << " " << rows[d][0];
  EXPECT_EQ(test::run_cli(base + (dir / "other").string() + " --fill backward").exit_code, 2);

  write_run_book(dir.path());
  test::write_text(dir / "run.yaml", "book: book.yaml\ncalibrate:\n  prices: prices.csv\n  benchmark: BTC\n"
                                     "backtest:\n  window_days: 365\n");
  r = test::run_cli("run --quiet --config " + (dir / "run.yaml").string() + " --out " + (dir / "run").string());
  EXPECT_EQ(r.exit_code, 2) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("(use calibrate.fill_forward: true to repeat the previous close)"), std::string::npos)
      << r.stderr_text;
}

}  // namespace
}  // namespace betahedge
