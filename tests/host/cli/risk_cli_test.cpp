// stress, optimize, bands and run end to end on the demo inputs (few paths): what they write,
// and that a failing scenario or report leaves no output behind.
#include <gtest/gtest.h>

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
    return test::run_cli(command + " --backend cpu --paths 4000 --config " + (dir_ / config).string() + " --out " +
                             (dir_ / out).string(),
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
  EXPECT_EQ(lines_of(dir_ / "out/stress.csv"), 1 + 7);
  const json s = json::parse(test::read_text(dir_ / "out/summary.json"));
  ASSERT_EQ(s["scenarios"].size(), 7u);
  const json& blend = s["scenarios"][1];
  EXPECT_EQ(blend["name"], "corr-to-one");
  EXPECT_NEAR(blend["applied"]["corr"][0][0][1].get<double>(), 0.1 * 0.80 + 0.9, 1e-12);  // calm BTC-ETH
  EXPECT_EQ(s["scenarios"][2]["applied"]["forced_regime"], "stressed");
  EXPECT_GT(s["scenarios"][6]["applied"]["repair_distance"].get<double>(), 0.0);  // lockstep needs repair
  EXPECT_GT(s["scenarios"][3]["unhedged"]["es"]["0.99"].get<double>(), s["scenarios"][0]["unhedged"]["es"]["0.99"].get<double>());
}

TEST_F(RiskCli, OptimizeWritesTheCurveAndTheOptima) {
  const auto r = cli("optimize --quiet", "book.yaml", "out");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(lines_of(dir_ / "out/hedge_ratio_curve.csv"), 1 + 7 * 31);
  const json s = json::parse(test::read_text(dir_ / "out/summary.json"));
  for (const json& scenario : s["scenarios"]) {
    ASSERT_TRUE(scenario.contains("optimal_hedge_ratio")) << scenario["name"];
    EXPECT_TRUE(scenario["optimal_hedge_ratio"]["min_es"].contains("0.99"));
  }
}

TEST_F(RiskCli, BandsWritesTheTableWithOneRecommendation) {
  const auto r = cli("bands --quiet", "book.yaml", "out");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  const std::string table = test::read_text(dir_ / "out/bands.csv");
  EXPECT_EQ(lines_of(dir_ / "out/bands.csv"), 1 + 5);
  int recommended = 0;
  std::istringstream lines(table);
  for (std::string line; std::getline(lines, line);) recommended += line.size() > 2 && line.substr(line.size() - 2) == ",1";
  EXPECT_EQ(recommended, 1);
}

TEST_F(RiskCli, RunWritesEveryOutputWithProgressLines) {
  const auto r = cli("run", "run.yaml", "out");
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  for (const char* name : {"model.json", "regimes.csv", "summary.json", "stress.csv", "hedge_ratio_curve.csv",
                           "bands.csv", "pnl_distribution.csv", "report.html"})
    EXPECT_TRUE(fs::exists(dir_ / "out" / name)) << name;
  EXPECT_EQ(load_model(dir_ / "out/model.json").num_regimes(), 2);
  EXPECT_NE(r.stderr_text.find("] scenario base: simulating"), std::string::npos) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("] bands: sweeping"), std::string::npos);
  EXPECT_NE(r.stderr_text.find("calibrating"), std::string::npos);
}

TEST_F(RiskCli, AFailingScenarioFailsTheRunAndWritesNothing) {
  append_to_book("  - {name: doge-crash, shock: {DOGE: -0.5}}\n");
  auto r = cli("run --quiet", "run.yaml", "out");
  EXPECT_EQ(r.exit_code, 2) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("stress[6].shock.DOGE"), std::string::npos) << r.stderr_text;
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

}  // namespace
}  // namespace betahedge
