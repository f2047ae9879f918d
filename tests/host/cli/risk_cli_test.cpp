// stress, optimize, bands and run end to end on the demo inputs (few paths): what they write,
// and that a failing scenario or report leaves no output behind.
#include <gtest/gtest.h>

#include <map>

#include <nlohmann/json.hpp>

#include "model/model_json.hpp"
#include "test_support.hpp"

namespace betahedge {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

int lines_of(const fs::path& file) {
  const std::string text = test::read_text(file);
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

/// The 1-based line of `text` on which `marker` first appears.
int line_of(const std::string& text, const std::string& marker) {
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(text.find(marker)), '\n'));
}

class RiskCli : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"model.json", "book.yaml", "run.yaml"})
      fs::copy_file(test::source_dir() / "configs/demo" / name, dir_ / name);
    fs::create_directories(dir_ / "data");
    fs::copy_file(test::source_dir() / "data/demo_prices.csv", dir_ / "data/demo_prices.csv");
    std::string run = test::read_text(dir_ / "run.yaml");
    run.replace(run.find("../../data/"), 11, "data/");
    test::write_text(dir_ / "run.yaml", run);
  }
  test::CliResult cli(const std::string& command, const std::string& config, const std::string& out,
                      const std::string& environment = "") {
    // The demo book's replay stresses replay the demo prices (run: its calibration prices).
    const bool replays = command.starts_with("stress") || command.starts_with("optimize");
    return test::run_cli(command + " --backend cpu --paths 4000 --config " + (dir_ / config).string() + " --out " +
                             (dir_ / out).string() +
                             (replays ? " --prices " + (dir_ / "data/demo_prices.csv").string() : std::string()),
                         environment);
  }
  void append_to_book(const std::string& text) {
    test::write_text(dir_ / "book.yaml", test::read_text(dir_ / "book.yaml") + text);
  }
  test::TempDir dir_;
};

TEST_F(RiskCli, StressWritesOneRowPerScenarioWithWhatWasApplied) {
  const auto r = cli("stress --quiet", "book.yaml", "out");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  // One row per Monte Carlo scenario and horizon (the demo book reports 1, 10 and 30 days), then
  // one per replay.
  EXPECT_EQ(lines_of(dir_ / "out/stress.csv"), 1 + 7 * 3 + 2);
  const std::string stress_csv = test::read_text(dir_ / "out/stress.csv");
  EXPECT_NE(stress_csv.substr(0, stress_csv.find('\n')).find(",repair_distance,collateral"), std::string::npos);
  const json s = json::parse(test::read_text(dir_ / "out/summary.json"));
  EXPECT_EQ(s["scenarios"][0]["horizons"].size(), 3u);
  ASSERT_EQ(s["scenarios"].size(), 9u);
  EXPECT_EQ(s["scenarios"][0]["kind"], "monte_carlo");
  const json& blend = s["scenarios"][1];
  EXPECT_EQ(blend["name"], "corr-to-one");
  EXPECT_NEAR(blend["applied"]["corr"][0][0][1].get<double>(), 0.1 * 0.80 + 0.9, 1e-12);  // calm BTC-ETH
  EXPECT_EQ(s["scenarios"][2]["applied"]["forced_regime"], "stressed");
  EXPECT_GT(s["scenarios"][6]["applied"]["repair_distance"].get<double>(), 0.0);  // lockstep needs repair
  EXPECT_GT(s["scenarios"][3]["unhedged"]["es"]["0.99"].get<double>(), s["scenarios"][0]["unhedged"]["es"]["0.99"].get<double>());
  // contributions.csv beside it: one row per scenario and component (ETH, SOL, the hedge), the
  // ES parts summing to each scenario's hedged ES in summary.json.
  EXPECT_EQ(lines_of(dir_ / "out/contributions.csv"), 1 + 7 * 3);
  std::istringstream rows(test::read_text(dir_ / "out/contributions.csv"));
  std::string line;
  std::getline(rows, line);
  EXPECT_EQ(line, "scenario,level,component,es,var,standalone_es,marginal_es");
  std::map<std::string, double> es_sum;
  while (std::getline(rows, line)) {
    std::vector<std::string> cells;
    std::istringstream fields(line);
    for (std::string cell; std::getline(fields, cell, ',');) cells.push_back(cell);
    ASSERT_GE(cells.size(), 6u) << line;
    EXPECT_EQ(cells[1], "0.99");
    es_sum[cells[0]] += std::stod(cells[3]);
  }
  for (const json& scenario : s["scenarios"]) {
    if (scenario["kind"] == "replay") continue;  // one path: no tail to allocate
    const double es = scenario["hedged"]["es"]["0.99"].get<double>();
    EXPECT_NEAR(es_sum[scenario["name"].get<std::string>()], es, 1e-9 * es) << scenario["name"];
    EXPECT_EQ(scenario["contributions"]["es"].size(), 3u);
  }
}

TEST_F(RiskCli, OptimizeWritesTheCurveAndTheOptima) {
  const auto r = cli("optimize --quiet", "book.yaml", "out");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(lines_of(dir_ / "out/hedge_ratio_curve.csv"), 1 + 7 * 31);
  const json s = json::parse(test::read_text(dir_ / "out/summary.json"));
  for (const json& scenario : s["scenarios"]) {
    if (scenario["kind"] == "replay") {  // one path: nothing to optimise
      EXPECT_FALSE(scenario.contains("optimal_hedge_ratio")) << scenario["name"];
      continue;
    }
    ASSERT_TRUE(scenario.contains("optimal_hedge_ratio")) << scenario["name"];
    EXPECT_TRUE(scenario["optimal_hedge_ratio"]["min_es"].contains("0.99"));
  }
}

TEST_F(RiskCli, BandsWritesTheTableWithOneRecommendation) {
  const auto r = cli("bands --quiet", "book.yaml", "out");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  const std::string table = test::read_text(dir_ / "out/bands.csv");
  EXPECT_EQ(lines_of(dir_ / "out/bands.csv"), 1 + 3 * 5);  // the demo's 3 targets x 5 bands
  int recommended = 0;
  std::istringstream lines(table);
  for (std::string line; std::getline(lines, line);) recommended += line.size() > 2 && line.substr(line.size() - 2) == ",1";
  EXPECT_EQ(recommended, 1);
}

/// The demo book with its risk.target_beta_grid line replaced by `grid`.
std::string with_target_grid(std::string book, const std::string& grid) {
  const std::size_t at = book.find("  target_beta_grid: ");
  EXPECT_NE(at, std::string::npos);
  book.replace(at, book.find('\n', at) - at, "  target_beta_grid: " + grid);
  return book;
}

// risk.target_beta_grid x risk.band_grid: one row per pair, target-major, in bands.csv and
// summary.json; summary.json's recommended pair is bands.csv's, and `bands` prints it and the rule.
TEST_F(RiskCli, BandsSweepsTargetsTimesBandsAndPrintsTheRecommendedPair) {
  test::write_text(dir_ / "book.yaml", with_target_grid(test::read_text(dir_ / "book.yaml"), "[0.0, 0.25, 0.5]"));
  const fs::path printed = dir_ / "stdout.txt";
  const std::string command = std::string(BETAHEDGE_CLI) + " bands --quiet --backend cpu --paths 4000 --config " +
                              (dir_ / "book.yaml").string() + " --out " + (dir_ / "out").string() + " >" +
                              printed.string() + " 2>/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0);
  std::istringstream lines(test::read_text(dir_ / "out/bands.csv"));
  std::string header;
  std::getline(lines, header);
  EXPECT_EQ(header.rfind("target_beta,band,mean_abs_deviation,", 0), 0u) << header;
  const std::string last_columns = ",call_probability,on_frontier,recommended";
  EXPECT_EQ(header.substr(header.size() - last_columns.size()), last_columns) << header;
  std::vector<std::string> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(line);
  ASSERT_EQ(rows.size(), 15u);
  const std::vector<std::string> targets = {"0", "0.25", "0.5"}, bands = {"0.01", "0.02", "0.05", "0.1", "0.2"};
  std::string recommended_row;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].rfind(targets[i / 5] + "," + bands[i % 5] + ",", 0), 0u) << rows[i];
    if (rows[i].substr(rows[i].size() - 2) == ",1") {
      EXPECT_TRUE(recommended_row.empty()) << "two recommended rows";
      recommended_row = rows[i];
    }
  }
  ASSERT_FALSE(recommended_row.empty());
  const json s = json::parse(test::read_text(dir_ / "out/summary.json"));
  const json& summary_bands = s["bands"];
  ASSERT_EQ(summary_bands["rows"].size(), 15u);
  int on_frontier = 0;
  for (const json& r : summary_bands["rows"]) on_frontier += r["on_frontier"].get<bool>() ? 1 : 0;
  EXPECT_GE(on_frontier, 1);
  const double target = summary_bands["recommended"]["target_beta"], band = summary_bands["recommended"]["band"];
  std::ostringstream pair;
  pair << target << "," << band << ",";
  EXPECT_EQ(recommended_row.rfind(pair.str(), 0), 0u) << recommended_row << " vs " << summary_bands["recommended"];
  const std::string rule = summary_bands["rule"];
  EXPECT_NE(rule.find("risk.tracking_tolerance (0.05)"), std::string::npos) << rule;
  std::ostringstream expected;
  expected << "recommended pair: target_beta " << target << ", band " << band;
  const std::string out = test::read_text(printed);
  EXPECT_EQ(out.rfind(expected.str(), 0), 0u) << out;
  EXPECT_NE(out.find("\nrule: " + rule + "\n"), std::string::npos) << out;
}

// A target beta out of range, or listed twice: exit 2 naming FILE:LINE: risk.target_beta_grid,
// before any work and with no output.
TEST_F(RiskCli, ABadTargetBetaGridIsAnInputError) {
  const std::string demo = test::read_text(dir_ / "book.yaml");
  for (const std::string& grid : {"[0.0, 20]", "[0.1, 0.1]", "[0.0, x]"}) {
    SCOPED_TRACE(grid);
    const std::string book = with_target_grid(demo, grid);
    test::write_text(dir_ / "book.yaml", book);
    const int line = 1 + static_cast<int>(std::count(book.begin(), book.begin() + static_cast<std::ptrdiff_t>(book.find("target_beta_grid")), '\n'));
    const auto r = cli("bands", "book.yaml", "out");
    EXPECT_EQ(r.exit_code, 2) << r.stderr_text;
    EXPECT_EQ(r.stderr_text.rfind("error: " + (dir_ / "book.yaml").string() + ":" + std::to_string(line) +
                                      ": risk.target_beta_grid",
                                  0),
              0u)
        << r.stderr_text;
    EXPECT_FALSE(fs::exists(dir_ / "out"));
  }
}

TEST_F(RiskCli, RunWritesEveryOutputWithProgressLines) {
  const auto r = cli("run", "run.yaml", "out");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  for (const char* name : {"model.json", "regimes.csv", "summary.json", "stress.csv", "hedge_ratio_curve.csv",
                           "bands.csv", "pnl_distribution.csv", "contributions.csv", "replay_paths.csv",
                           "report.html"})
    EXPECT_TRUE(fs::exists(dir_ / "out" / name)) << name;
  EXPECT_EQ(load_model(dir_ / "out/model.json").num_regimes(), 2);
  EXPECT_NE(r.stderr_text.find("] scenario base: simulating"), std::string::npos) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("] bands: sweeping"), std::string::npos);
  EXPECT_NE(r.stderr_text.find("calibrating"), std::string::npos);
  // What was fitted, before any path: the regimes, their durations and today's mix.
  EXPECT_NE(r.stderr_text.find("run: calibrated 2 regimes (gaussian) on 3 assets x "), std::string::npos)
      << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("; calm lasts "), std::string::npos) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find(" days on average, today "), std::string::npos) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("] replay crash-fortnight: 2022-07-24 to 2022-08-07 (14 days)"), std::string::npos);
}

TEST_F(RiskCli, AFailingScenarioFailsTheRunAndWritesNothing) {
  append_to_book("  - {name: doge-crash, shock: {DOGE: -0.5}}\n");
  auto r = cli("run --quiet", "run.yaml", "out");
  EXPECT_EQ(r.exit_code, 2) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("stress[8].shock.DOGE"), std::string::npos) << r.stderr_text;
  EXPECT_FALSE(fs::exists(dir_ / "out"));
  for (const auto& entry : fs::directory_iterator(dir_.path()))
    EXPECT_EQ(entry.path().filename().string().find(".out"), std::string::npos) << "leftover " << entry.path();
}

TEST_F(RiskCli, AFailingReportFailsTheRunAndWritesNothing) {
  const auto r = cli("run --quiet", "run.yaml", "out", "BETAHEDGE_REPORT_SCRIPT=/nonexistent/render.py");
  EXPECT_EQ(r.exit_code, 2) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("report.html"), std::string::npos) << r.stderr_text;
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST_F(RiskCli, BadRunConfigsNameTheField) {
  test::write_text(dir_ / "bad.yaml", "book: book.yaml\nreprot: false\n");
  auto r = cli("run --quiet", "bad.yaml", "out");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.stderr_text.find("bad.yaml:2: reprot: unknown key"), std::string::npos) << r.stderr_text;
  test::write_text(dir_ / "bad.yaml", "report: true\n");
  r = cli("run --quiet", "bad.yaml", "out");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.stderr_text.find("book: is missing"), std::string::npos) << r.stderr_text;
  test::write_text(dir_ / "bad.yaml", "book: book.yaml\ncalibrate: {prices: data/demo_prices.csv, benchmark: BTC, regimes: 9}\n");
  r = cli("run --quiet", "bad.yaml", "out");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.stderr_text.find("calibrate.regimes"), std::string::npos) << r.stderr_text;
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST_F(RiskCli, BandsWithoutAHedgeIsAnInputError) {
  test::write_text(dir_ / "none.yaml", "model: model.json\nportfolio:\n  holdings: {ETH: 1}\n");
  const auto r = cli("bands --quiet", "none.yaml", "out");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.stderr_text.find("hedge.instrument"), std::string::npos) << r.stderr_text;
}

// Book errors that only the model reveals are found before any work: exit 2, one `error:` line
// naming FILE:LINE: field, no output directory, and no backend chosen (no "backend" line).
TEST_F(RiskCli, BookErrorsTheModelRevealsComeBeforeAnyWork) {
  const std::string demo = test::read_text(dir_ / "book.yaml");
  struct Case {
    std::string command, from, to, field;
  };
  const std::vector<Case> cases = {
      {"simulate", "funding_rate_8h: [0.0001, -0.0003]", "funding_rate_8h: [0.0001, -0.0003, 0.0002]",
       "hedge.funding_rate_8h"},
      {"run", "funding_rate_8h: [0.0001, -0.0003]", "funding_rate_8h: [0.0001, -0.0003, 0.0002]",
       "hedge.funding_rate_8h"},
      {"stress", "instrument: perpetual", "instrument: future\n  future: {expiry_days: 30, annual_basis: [0.1, 0.2, 0.3]}",
       "hedge.future.annual_basis"},
      {"simulate", "holdings: {ETH: 400, SOL: 6000}", "holdings: {ETH: 400, DOGE: 6000}", "portfolio.holdings.DOGE"},
      {"optimize", "benchmark: BTC", "benchmark: XRP", "hedge.benchmark"},
      {"bands", "benchmark: BTC", "benchmark: XRP", "hedge.benchmark"},
      {"stress", "force_regime: stressed", "force_regime: panic", "stress[1].force_regime"},
      {"optimize", "shock: {BTC: -0.30,", "shock: {XRP: -0.30,", "stress[2].shock.XRP"},
      {"stress", "{\"ETH,SOL\": 0.98", "{\"ETH,XRP\": 0.98", "stress[5].correlation_set.ETH,XRP"},
  };
  for (const Case& c : cases) {
    std::string book = demo;
    ASSERT_NE(book.find(c.from), std::string::npos) << c.from;
    book.replace(book.find(c.from), c.from.size(), c.to);
    test::write_text(dir_ / "book.yaml", book);
    const std::string marker = c.to.substr(c.to.rfind('\n') + 1);
    const int line = 1 + static_cast<int>(std::count(book.begin(), book.begin() + static_cast<std::ptrdiff_t>(book.find(marker)), '\n'));
    const std::string location = (dir_ / "book.yaml").string() + ":" + std::to_string(line) + ": " + c.field + ": ";
    const auto r = cli(c.command, c.command == "run" ? "run.yaml" : "book.yaml", "out");
    SCOPED_TRACE(c.command + " with " + c.to);
    EXPECT_EQ(r.exit_code, 2) << r.stderr_text;
    const std::size_t error = r.stderr_text.find("error: ");
    ASSERT_NE(error, std::string::npos) << r.stderr_text;
    EXPECT_EQ(r.stderr_text.find(location, error), error + 7) << r.stderr_text;
    EXPECT_EQ(std::count(r.stderr_text.begin() + static_cast<std::ptrdiff_t>(error), r.stderr_text.end(), '\n'), 1)
        << r.stderr_text;
    EXPECT_EQ(r.stderr_text.find("backend"), std::string::npos) << r.stderr_text;
    if (c.command != "run") EXPECT_EQ(error, 0u) << r.stderr_text;  // nothing said before the error
    EXPECT_FALSE(fs::exists(dir_ / "out"));
  }
}

// auto collateral (the demo book's) says what it chose, on stderr and in summary.json; warnings
// go to both too, and `bands` says when no band qualified.
TEST_F(RiskCli, AutoCollateralAndWarningsAreReported) {
  std::string book = test::read_text(dir_ / "book.yaml");
  ASSERT_NE(book.find("  collateral: auto "), std::string::npos);
  book.replace(book.find("max_call_probability: 0.01"), 26, "max_call_probability: 0.05\n  tracking_tolerance: 0.000001");
  test::write_text(dir_ / "book.yaml", book);
  auto r = cli("simulate", "book.yaml", "out");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  json s = json::parse(test::read_text(dir_ / "out/summary.json"));
  const json& margin = s["scenarios"][0]["margin"];
  EXPECT_EQ(margin["collateral_rule"], "auto: the least collateral with call probability <= 0.05 on the base scenario");
  EXPECT_EQ(margin["collateral"], margin["collateral_for_call_probability"]["0.05"]);
  EXPECT_EQ(margin["call_probability"].get<double>(), 200 / 4000.0);  // floor(0.05 x 4000) of 4000 paths
  EXPECT_NE(r.stderr_text.find("] collateral: auto, "), std::string::npos) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find(" for call probability <= 0.05 on the base scenario\n"), std::string::npos);
  EXPECT_TRUE(s["warnings"].is_array());
  EXPECT_TRUE(s["warnings"].empty()) << s["warnings"];
  EXPECT_EQ(r.stderr_text.find("warning: "), std::string::npos) << r.stderr_text;
  EXPECT_EQ(s["run"]["drift"], "martingale");  // the default

  r = cli("bands --quiet", "book.yaml", "bands");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  s = json::parse(test::read_text(dir_ / "bands/summary.json"));
  ASSERT_EQ(s["warnings"].size(), 1u) << s["warnings"];
  const std::string warning = s["warnings"][0];
  EXPECT_EQ(warning.rfind("no pair of risk.target_beta_grid x risk.band_grid keeps the mean |beta - target| within "
                          "risk.tracking_tolerance 1e-06", 0), 0u) << warning;
  EXPECT_NE(r.stderr_text.find("warning: " + warning + "\n"), std::string::npos) << r.stderr_text;
  // stdout: the recommendation says that none qualified.
  const fs::path printed = dir_ / "stdout.txt";
  const std::string command = std::string(BETAHEDGE_CLI) + " bands --quiet --backend cpu --paths 4000 --config " +
                              (dir_ / "book.yaml").string() + " --out " + (dir_ / "again").string() + " >" +
                              printed.string() + " 2>/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0);
  const std::string recommendation = test::read_text(printed);
  EXPECT_EQ(recommendation.rfind("recommended pair: target_beta ", 0), 0u) << recommendation;
  EXPECT_NE(recommendation.find(" (none qualified: no pair is within risk.tracking_tolerance 1e-06; this one tracks best)\n"
                                "rule: a pair qualifies when"),
            std::string::npos)
      << recommendation;

  // The drift rule the book asks for is the one summary.json names.
  book.replace(book.find("simulation:\n"), 12, "simulation:\n  drift: zero\n");
  test::write_text(dir_ / "book.yaml", book);
  r = cli("simulate --quiet", "book.yaml", "zero");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(json::parse(test::read_text(dir_ / "zero/summary.json"))["run"]["drift"], "zero");
}

// `--regimes auto` at the end of its range is a warning: on stderr from `calibrate`, and in the
// summary.json (and on stderr) of a `run` that calibrates so.
TEST_F(RiskCli, AnAutoRegimeCountAtItsBoundIsAWarning) {
  const std::string expected =
      "regimes auto chose 1 regime, the bottom of the range it tried (1..2): no regime switching was found worth its "
      "parameters";
  // 27 returns: two regimes are the most the data can identify, and one wins.
  const auto r = test::run_cli("calibrate --quiet --prices " + (dir_ / "data/demo_prices.csv").string() +
                               " --benchmark BTC --regimes auto --end 2022-03-10 --out " + (dir_ / "m/model.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(r.stderr_text, "warning: " + expected + "\n");

  test::write_text(dir_ / "short.yaml",
                   "model: model.json\nportfolio:\n  holdings: {ETH: 400}\n"
                   "hedge: {instrument: perpetual, benchmark: BTC, funding_rate_8h: [0.0001]}\n");
  test::write_text(dir_ / "short-run.yaml",
                   "book: short.yaml\ncalibrate: {prices: data/demo_prices.csv, benchmark: BTC, regimes: auto, "
                   "end: 2022-03-10}\nreport: false\n");
  const auto run = cli("run --quiet", "short-run.yaml", "out");
  ASSERT_EQ(run.exit_code, 0) << run.stderr_text;
  const json s = json::parse(test::read_text(dir_ / "out/summary.json"));
  ASSERT_FALSE(s["warnings"].empty());
  EXPECT_EQ(s["warnings"][0], expected);
  EXPECT_NE(run.stderr_text.find("warning: " + expected + "\n"), std::string::npos) << run.stderr_text;

  // The demo's two regimes (1..4 tried): no warning.
  const auto demo = test::run_cli("calibrate --quiet --prices " + (dir_ / "data/demo_prices.csv").string() +
                                  " --benchmark BTC --regimes auto --out " + (dir_ / "m2/model.json").string());
  ASSERT_EQ(demo.exit_code, 0) << demo.stderr_text;
  EXPECT_EQ(demo.stderr_text, "");
}


/// The close of `symbol` on `date` in the demo prices, read here by hand.
double demo_close(const fs::path& prices, const std::string& date, const std::string& symbol) {
  std::istringstream in(test::read_text(prices));
  std::string header;
  std::getline(in, header);
  std::vector<std::string> names;
  std::istringstream h(header);
  for (std::string cell; std::getline(h, cell, ',');) names.push_back(cell);
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with(date)) continue;
    std::istringstream row(line);
    std::vector<std::string> cells;
    for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i] == symbol) return std::stod(cells[i]);
  }
  return std::nan("");
}

TEST_F(RiskCli, StressReplaysTheDemoWindowsIntoSummaryTablesAndPaths) {
  const auto r = cli("stress --quiet", "book.yaml", "out");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  const json s = json::parse(test::read_text(dir_ / "out/summary.json"));
  const json& replay = s["scenarios"][7];
  EXPECT_EQ(replay["name"], "crash-fortnight");
  EXPECT_EQ(replay["kind"], "replay");
  EXPECT_EQ(replay["replay"]["from"], "2022-07-24");
  EXPECT_EQ(replay["replay"]["days"], 14);
  ASSERT_EQ(replay["path"].size(), 15u);
  ASSERT_EQ(replay["replay"]["regimes"].size(), 15u);
  EXPECT_EQ(replay["margin"]["called"], false);
  EXPECT_TRUE(replay["margin"]["first_call_day"].is_null());
  // The unhedged P&L by hand: 400 ETH and 6000 SOL at today's spot, moved by the window's
  // close ratios.
  const fs::path prices = dir_ / "data/demo_prices.csv";
  const auto ratio = [&](const std::string& sym) {
    return demo_close(prices, "2022-08-07", sym) / demo_close(prices, "2022-07-24", sym);
  };
  const double unhedged = 400 * 2589.8 * (ratio("ETH") - 1.0) + 6000 * 195.8 * (ratio("SOL") - 1.0);
  EXPECT_NEAR(replay["unhedged"]["pnl"].get<double>(), unhedged, 1e-9 * 2.2e6);
  EXPECT_DOUBLE_EQ(replay["path"][14]["pnl_hedged"].get<double>(), replay["hedged"]["pnl"].get<double>());
  // The hedge (short BTC against a long book) cushions the crash.
  EXPECT_GT(replay["hedged"]["pnl"].get<double>(), unhedged);
  // replay_paths.csv: a header and days + 1 rows per replay; stress.csv: a row per replay.
  EXPECT_EQ(lines_of(dir_ / "out/replay_paths.csv"), 1 + 2 * 15);
  const std::string paths = test::read_text(dir_ / "out/replay_paths.csv");
  EXPECT_TRUE(paths.starts_with("scenario,date,day,pnl_unhedged,pnl_hedged,equity,regime\n"));
  EXPECT_NE(paths.find("\ncrash-fortnight,2022-07-24,0,0,"), std::string::npos);
  EXPECT_NE(test::read_text(dir_ / "out/stress.csv").find("\nrally-fortnight,14,"), std::string::npos);
}

TEST_F(RiskCli, ReplayInputErrorsExitTwoNamingTheStressTheDateOrTheSymbol) {
  // No prices.
  auto r = test::run_cli("stress --quiet --backend cpu --paths 4000 --config " + (dir_ / "book.yaml").string() +
                         " --out " + (dir_ / "out").string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.stderr_text.find("stress[6].replay: stress 'crash-fortnight' replays history"), std::string::npos)
      << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("--prices"), std::string::npos) << r.stderr_text;
  EXPECT_FALSE(fs::exists(dir_ / "out"));
  // A close missing inside the window, and a model asset the file lacks.
  std::string text = test::read_text(dir_ / "data/demo_prices.csv");
  const std::size_t row = text.find("\n2022-07-30,");
  const std::size_t end = text.find('\n', row + 1);
  const std::string full = text;
  text.replace(row, end - row, text.substr(row, text.rfind(',', end) - row) + ",");  // SOL empty that day
  test::write_text(dir_ / "data/demo_prices.csv", text);
  r = cli("stress --quiet", "book.yaml", "out");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.stderr_text.find("demo_prices.csv:"), std::string::npos) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find(": SOL: no close on 2022-07-30"), std::string::npos) << r.stderr_text;
  std::string no_sol;
  std::istringstream lines(full);
  for (std::string line; std::getline(lines, line);) no_sol += line.substr(0, line.rfind(',')) + "\n";
  test::write_text(dir_ / "data/demo_prices.csv", no_sol);
  r = cli("stress --quiet", "book.yaml", "out");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.stderr_text.find("demo_prices.csv: SOL: the model's asset has no column"), std::string::npos)
      << r.stderr_text;
  // A window outside the file's dates names the field with its line.
  test::write_text(dir_ / "data/demo_prices.csv", full);
  std::string book = test::read_text(dir_ / "book.yaml");
  book.replace(book.find("from: 2022-07-05"), 16, "from: 2019-07-05");
  test::write_text(dir_ / "book.yaml", book);
  r = cli("optimize --quiet", "book.yaml", "out");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.stderr_text.find("book.yaml:" + std::to_string(line_of(book, "from: 2019-07-05")) +
                               ": stress[7].replay.from: 2019-07-05 is outside the dates of"),
            std::string::npos)
      << r.stderr_text;
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

}  // namespace
}  // namespace betahedge
