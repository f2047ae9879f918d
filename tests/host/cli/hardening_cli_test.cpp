// What the audit of bad inputs found at the command line: outputs that deleted inputs, a crash,
// exit 1 escapes, NaN written as null. Each case failed before its fix.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace betahedge {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

class HardeningCli : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "inputs/data");
    for (const char* name : {"model.json", "book.yaml", "run.yaml"})
      fs::copy_file(test::source_dir() / "configs/demo" / name, dir_ / "inputs" / name);
    fs::copy_file(test::source_dir() / "data/demo_prices.csv", dir_ / "inputs/data/demo_prices.csv");
    std::string run = test::read_text(dir_ / "inputs/run.yaml");
    run.replace(run.find("../../data/"), 11, "data/");
    test::write_text(dir_ / "inputs/run.yaml", run);
    snapshot_ = snapshot();
  }
  /// Every input file's contents, to show that nothing was deleted or overwritten.
  std::map<std::string, std::string> snapshot() const {
    std::map<std::string, std::string> files;
    for (const auto& e : fs::recursive_directory_iterator(dir_ / "inputs"))
      if (e.is_regular_file()) files[e.path().string()] = test::read_text(e.path());
    return files;
  }
  /// Runs the CLI; expects an input error (exit 2) whose one `error:` line mentions `must_mention`.
  void expect_input_error(const std::string& args, const std::string& must_mention) {
    const auto r = test::run_cli(args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.stderr_text;
    EXPECT_EQ(r.stderr_text.rfind("error: ", 0), 0u) << r.stderr_text;
    EXPECT_EQ(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n'), 1) << r.stderr_text;
    EXPECT_NE(r.stderr_text.find(must_mention), std::string::npos) << r.stderr_text;
    EXPECT_LT(r.stderr_text.size(), 600u) << r.stderr_text;
  }
  std::string in(const std::string& name) const { return (dir_ / "inputs" / name).string(); }
  std::string simulate(const std::string& out) const {
    return "simulate --quiet --backend cpu --paths 2000 --config " + in("book.yaml") + " --out " + out;
  }
  test::TempDir dir_;
  std::map<std::string, std::string> snapshot_;
};

TEST_F(HardeningCli, AnOutputDirectoryHoldingTheInputsIsRefused) {
  expect_input_error(simulate(in("")), "holds an input of this command");
  expect_input_error(simulate(dir_.path().string()), "holds an input of this command");
  expect_input_error(simulate(dir_.path().string() + " --force"), "holds an input of this command");
  expect_input_error("run --quiet --backend cpu --paths 2000 --config " + in("run.yaml") + " --out " + in("data"),
                     "demo_prices.csv");
  expect_input_error(simulate(in("model.json")), "is an input of this command");
  EXPECT_EQ(snapshot(), snapshot_);
}

TEST_F(HardeningCli, CalibrateNeverOverwritesItsPrices) {
  const std::string prices = in("data/demo_prices.csv");
  expect_input_error("calibrate --quiet --benchmark BTC --prices " + prices + " --out " + prices,
                     "is an input of this command");
  // regimes.csv is written beside the model: it must not be the prices either.
  fs::copy_file(prices, dir_ / "inputs/regimes.csv");
  snapshot_ = snapshot();
  expect_input_error("calibrate --quiet --benchmark BTC --prices " + in("regimes.csv") + " --out " + in("model2.json"),
                     "regimes.csv beside it");
  expect_input_error("calibrate --quiet --benchmark BTC --prices " + prices + " --out " + in("data"), "is a directory");
  expect_input_error("calibrate --quiet --benchmark BTC --prices " + prices + " --out ''", "--out: is empty");
  EXPECT_EQ(snapshot(), snapshot_);
}

TEST_F(HardeningCli, CalibrateOverwritesOnlyFilesBetahedgeWrote) {
  const std::string calibrate = "calibrate --quiet --benchmark BTC --regimes 1 --starts 1 --prices " +
                                in("data/demo_prices.csv") + " --out ";
  const fs::path out = dir_ / "cal/new/model.json";  // parents that do not exist yet are made
  ASSERT_EQ(test::run_cli(calibrate + out.string()).exit_code, 0);
  EXPECT_TRUE(fs::exists(dir_ / "cal/new/regimes.csv"));
  EXPECT_EQ(test::run_cli(calibrate + out.string()).exit_code, 0);  // its own files: replaced
  test::write_text(dir_ / "cal/mine.json", "my own notes\n");
  expect_input_error(calibrate + (dir_ / "cal/mine.json").string(), "was not written by betahedge");
  EXPECT_EQ(test::read_text(dir_ / "cal/mine.json"), "my own notes\n");
  test::write_text(dir_ / "cal/new/regimes.csv", "a,b\n1,2\n");
  expect_input_error(calibrate + out.string(), "regimes.csv beside it");
  EXPECT_EQ(test::read_text(dir_ / "cal/new/regimes.csv"), "a,b\n1,2\n");
  ASSERT_EQ(test::run_cli(calibrate + out.string() + " --force").exit_code, 0);
  EXPECT_NE(test::read_text(dir_ / "cal/new/regimes.csv"), "a,b\n1,2\n");
  expect_input_error(calibrate + (dir_ / "cal/x/").string(), "ends with '/'");
}

TEST_F(HardeningCli, TheForceHintSaysWhatForceDeletes) {
  fs::create_directories(dir_ / "results");
  test::write_text(dir_ / "results/q3.xlsx", "x");
  expect_input_error(simulate((dir_ / "results").string()), "pass --force to delete everything in it");
}

TEST_F(HardeningCli, MessagesNameTheModelGivenByOption) {
  // The book asks for kalman betas; the model given by --model has none: name that model.
  std::string book = test::read_text(dir_ / "inputs/book.yaml");
  book.replace(book.find("beta_estimate: model"), 20, "beta_estimate: kalman");
  test::write_text(dir_ / "inputs/kalman.yaml", book);
  fs::copy_file(dir_ / "inputs/model.json", dir_ / "inputs/other.json");
  expect_input_error("simulate --quiet --backend cpu --paths 2000 --config " + in("kalman.yaml") + " --model " +
                         in("other.json") + " --out " + (dir_ / "o").string(),
                     "other.json");
}

TEST_F(HardeningCli, WholeNumberOptionsSayWhatIsWrong) {
  expect_input_error(simulate((dir_ / "o").string()) + " --seed abc", "--seed: must be a whole number, got 'abc'");
  expect_input_error(simulate((dir_ / "o").string()) + " --seed 1.5", "must be a whole number");
}

TEST_F(HardeningCli, AnExistingDirectoryIsReplacedOnlyWhenBetahedgeWroteIt) {
  const fs::path out = dir_ / "results";
  fs::create_directories(out);
  test::write_text(out / "notes.txt", "mine\n");
  expect_input_error(simulate(out.string()), "that betahedge did not write");
  EXPECT_EQ(test::read_text(out / "notes.txt"), "mine\n");
  ASSERT_EQ(test::run_cli(simulate(out.string()) + " --force").exit_code, 0);
  EXPECT_FALSE(fs::exists(out / "notes.txt"));
  EXPECT_TRUE(fs::exists(out / "manifest.json"));
  // Its own output: replaced without --force.
  EXPECT_EQ(test::run_cli(simulate(out.string())).exit_code, 0);
}

TEST_F(HardeningCli, ATrailingSlashWritesTheDirectory) {
  // Before: exit 2, and an empty res/ left behind.
  const auto r = test::run_cli(simulate((dir_ / "res").string() + "/"));
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_TRUE(fs::exists(dir_ / "res/summary.json"));
}

TEST_F(HardeningCli, EmptyOutIsAnInputError) { expect_input_error(simulate("''"), "--out: is empty"); }

TEST_F(HardeningCli, HugePathCountsAreRangeErrorsNotCrashes) {
  // 2049638230412172402 x 9 columns wrapped 2^64 and crashed; 2^64-1 escaped as exit 1.
  for (const char* paths : {"2049638230412172402", "18446744073709551615", "0", "1"}) {
    const std::string args = "simulate --quiet --backend cpu --config " + in("book.yaml") + " --out " +
                             (dir_ / "o").string() + " --paths " + paths;
    expect_input_error(args, "--paths");
    EXPECT_EQ(test::run_cli(args).stderr_text.find("1797693134862315"), std::string::npos);  // no 309-digit range
  }
  EXPECT_FALSE(fs::exists(dir_ / "o"));
}

TEST_F(HardeningCli, PathCountsBeyondMemoryFailBeforeTheWork) {
  expect_input_error("simulate --quiet --backend cpu --paths 1000000000000 --config " + in("book.yaml") + " --out " +
                         (dir_ / "o").string(),
                     "use fewer paths");
}

TEST_F(HardeningCli, ThreadAndSeedRangesAreChecked) {
  expect_input_error(simulate((dir_ / "o").string()) + " --threads 2147483647", "--threads");
  expect_input_error(simulate((dir_ / "o").string()) + " --seed -1", "--seed");
  expect_input_error(simulate((dir_ / "o").string()) + " --seed 9223372036854775809", "--seed");
  expect_input_error(simulate((dir_ / "o").string()) + " --batch-size 18446744073709551615", "--batch-size");
  expect_input_error("bench --paths 0", "--paths");
  expect_input_error("bench --threads 100000", "--threads");
}

TEST_F(HardeningCli, ADirectoryAsModelIsAnInputError) {
  expect_input_error(simulate((dir_ / "o").string()) + " --model " + in("data"), "data");
}

TEST_F(HardeningCli, NonFiniteCalibrationOptionsAreRefused) {
  const std::string calibrate = "calibrate --quiet --benchmark BTC --prices " + in("data/demo_prices.csv") +
                                " --out " + (dir_ / "m.json").string();
  expect_input_error(calibrate + " --covariance-floor nan", "--covariance-floor");
  expect_input_error(calibrate + " --tolerance nan", "--tolerance");
  expect_input_error(calibrate + " --seed -1", "--seed");
}

TEST_F(HardeningCli, AnUnderCollateralisedTopUpBookGivesFiniteNumbers) {
  // configs/examples/future.yaml with 10x the ETH holding: top-ups sell the whole book on some
  // paths, whose beta was then 0/0 and summary.json carried beta.mean_abs_deviation: null.
  std::string book = test::read_text(test::source_dir() / "configs/examples/future.yaml");
  book.replace(book.find("ETH: 400"), 8, "ETH: 4000");
  book.replace(book.find("../demo/model.json"), 18, "model.json");
  test::write_text(dir_ / "inputs/topup.yaml", book);
  const auto r = test::run_cli("simulate --quiet --backend cpu --paths 20000 --config " + in("topup.yaml") +
                               " --out " + (dir_ / "topup").string());
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  const std::string text = test::read_text(dir_ / "topup/summary.json");
  const json s = json::parse(text);
  const json& base = s["scenarios"][0];
  EXPECT_TRUE(base["beta"]["mean_abs_deviation"].is_number()) << base["beta"];
  EXPECT_GT(base["margin"]["call_probability"].get<double>(), 0.5);  // the case is the under-collateralised one
  EXPECT_GT(base["margin"]["liquidation_probability"].get<double>(), 0.0);
  // Only mean_first_call_day and margin_constrained may be null, and only by design.
  EXPECT_EQ(text.find("\"mean_abs_deviation\": null"), std::string::npos);
}

TEST_F(HardeningCli, APnlThatOverflowsToNaNIsANumericalErrorSayingSo) {
  // Daily log returns of mean 1 and vol 1 over 1000 days under drift: model: prices overflow to
  // infinity and the P&L to NaN. The unhedged book ended in "internal: TailSample: order
  // statistic ... not kept" (exit 3 by accident), the hedged one in a crash (formatting the
  // collateral). Both are the numerical failure they are, one line naming the cause.
  json model = json::parse(test::read_text(dir_ / "inputs/model.json"));
  for (json& regime : model["regimes"])
    for (const char* key : {"mean", "vol"})
      for (json& x : regime[key]) x = 1.0;
  test::write_text(dir_ / "inputs/model.json", model.dump());
  std::string hedged = test::read_text(dir_ / "inputs/book.yaml");
  hedged.replace(hedged.find("horizon_days: 30"), 16, "horizon_days: 1000\n  drift: model");
  hedged.replace(hedged.find("horizons_days: [1, 10, 30]"), 26, "horizons_days: [1]");
  test::write_text(dir_ / "inputs/hedged.yaml", hedged);
  test::write_text(dir_ / "inputs/plain.yaml",
                   "model: model.json\nportfolio:\n  holdings: {ETH: 400, SOL: 6000}\n"
                   "simulation:\n  horizon_days: 1000\n  drift: model\n");
  for (const char* book : {"plain.yaml", "hedged.yaml"}) {
    const auto r = test::run_cli("simulate --quiet --backend cpu --paths 2000 --config " + in(book) + " --out " +
                                 (dir_ / "o").string());
    EXPECT_EQ(r.exit_code, 3) << book << "\n" << r.stderr_text;
    EXPECT_EQ(r.stderr_text.rfind("error: scenario base: ", 0), 0u) << r.stderr_text;
    EXPECT_NE(r.stderr_text.find("is NaN on 2000 of 2000 paths (the simulation overflowed"), std::string::npos)
        << r.stderr_text;
    EXPECT_EQ(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n'), 1) << r.stderr_text;
    EXPECT_EQ(r.stderr_text.find("internal"), std::string::npos) << r.stderr_text;
  }
}

TEST_F(HardeningCli, ABookWithoutModelRunsWithModelOptionOnly) {
  std::string book = test::read_text(dir_ / "inputs/book.yaml");
  book.erase(book.find("model: model.json\n"), 18);
  test::write_text(dir_ / "inputs/nomodel.yaml", book);
  const std::string simulate_nomodel =
      "simulate --quiet --backend cpu --paths 2000 --config " + in("nomodel.yaml") + " --out " + (dir_ / "o").string();
  expect_input_error(simulate_nomodel, "model: is missing");
  const auto r = test::run_cli(simulate_nomodel + " --model " + in("model.json"));
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_TRUE(fs::exists(dir_ / "o/summary.json"));
  // run.yaml's calibrate: block gives the run its model: the book need not name one.
  std::string run = test::read_text(dir_ / "inputs/run.yaml");
  run.replace(run.find("book: book.yaml"), 15, "book: nomodel.yaml");
  run = run.substr(0, run.find("backtest:")) + "report: false\n";
  test::write_text(dir_ / "inputs/run_nomodel.yaml", run);
  const auto ran = test::run_cli("run --quiet --backend cpu --paths 2000 --config " + in("run_nomodel.yaml") +
                                 " --out " + (dir_ / "r").string());
  EXPECT_EQ(ran.exit_code, 0) << ran.stderr_text;
  EXPECT_TRUE(fs::exists(dir_ / "r/summary.json"));
}

}  // namespace
}  // namespace betahedge
