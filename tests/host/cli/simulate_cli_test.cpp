// `betahedge simulate` end to end: the output, determinism, and every bad input failing with
// exit 2, an `error:` line naming the problem, and no output directory.
#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "cpu_backend/cpu_backend.hpp"
#include "test_support.hpp"
#if BETAHEDGE_HAVE_CUDA
#include "betahedge/cuda_backend.hpp"
#endif

namespace betahedge {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

class SimulateCli : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::copy_file(test::source_dir() / "configs/demo/model.json", dir_ / "model.json");
    write_book("");
  }
  void write_book(const std::string& extra_simulation, const std::string& model = "model.json") {
    test::write_text(dir_ / "book.yaml", "model: " + model +
                                             "\nportfolio:\n  holdings: {ETH: 400, SOL: 6000}\n"
                                             "hedge:\n  instrument: none\n"
                                             "simulation:\n  paths: 20000\n  horizon_days: 30\n  seed: 42\n" +
                                             extra_simulation);
  }
  json run_ok(const std::string& options, const std::string& out_name) {
    const fs::path out = dir_ / out_name;
    const auto r = test::run_cli("simulate --quiet --backend cpu --config " + (dir_ / "book.yaml").string() +
                                 " --out " + out.string() + " " + options);
    EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
    return json::parse(test::read_text(out / "summary.json"));
  }
  void expect_input_error(const std::string& args, const std::string& must_mention) {
    const fs::path out = dir_ / "never";
    const auto r = test::run_cli("simulate --quiet --out " + out.string() + " " + args);
    EXPECT_EQ(r.exit_code, 2) << r.stderr_text;
    EXPECT_EQ(r.stderr_text.rfind("error: ", 0), 0u) << r.stderr_text;
    EXPECT_NE(r.stderr_text.find(must_mention), std::string::npos) << r.stderr_text;
    EXPECT_EQ(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n'), 1) << r.stderr_text;
    EXPECT_FALSE(fs::exists(out));
  }
  std::string book() const { return "--config " + (dir_ / "book.yaml").string(); }
  test::TempDir dir_;
};

TEST_F(SimulateCli, WritesSummaryWithSpecFields) {
  const json s = run_ok("", "out");
  EXPECT_EQ(s["format"], "betahedge.summary/1");
  EXPECT_EQ(s["run"]["paths"], 20000);
  EXPECT_EQ(s["run"]["steps"], 30);
  EXPECT_EQ(s["run"]["backend"], "cpu");
  EXPECT_GT(s["run"]["path_steps_per_s"].get<double>(), 0.0);
  EXPECT_NEAR(s["portfolio"]["value"].get<double>(), 400 * 2589.8 + 6000 * 195.8, 1e-6);
  const json& base = s["scenarios"][0];
  EXPECT_EQ(base["name"], "base");
  for (const char* level : {"0.95", "0.99"}) {
    EXPECT_GT(base["unhedged"]["var"][level].get<double>(), 0.0);
    EXPECT_GT(base["unhedged"]["es"][level].get<double>(), base["unhedged"]["var"][level].get<double>());
    EXPECT_GT(base["unhedged"]["es_se"][level].get<double>(), 0.0);
  }
}

json scenarios_of(json summary) { return summary["scenarios"]; }

TEST_F(SimulateCli, SameSeedSameSummaryAcrossRunsThreadsAndBatches) {
  const json reference = scenarios_of(run_ok("--threads 2 --batch-size 100000", "a"));
  EXPECT_EQ(scenarios_of(run_ok("--threads 2 --batch-size 100000", "b")), reference);
  EXPECT_EQ(scenarios_of(run_ok("--threads 1 --batch-size 100000", "c")), reference);
  EXPECT_EQ(scenarios_of(run_ok("--threads 2 --batch-size 1000", "d")), reference);
  EXPECT_NE(scenarios_of(run_ok("--threads 2 --seed 43", "e")), reference);
}

TEST_F(SimulateCli, OptionsOverrideTheConfig) {
  const json s = run_ok("--paths 5000 --horizon-days 10", "o");
  EXPECT_EQ(s["run"]["paths"], 5000);
  EXPECT_EQ(s["run"]["horizon_days"], 10);
}

TEST_F(SimulateCli, RejectsNonPositiveDefiniteModel) {
  json m = json::parse(test::read_text(dir_ / "model.json"));
  m["regimes"][0]["corr"] = {{1.0, 0.9, -0.9}, {0.9, 1.0, 0.9}, {-0.9, 0.9, 1.0}};
  test::write_text(dir_ / "model.json", m.dump());
  expect_input_error(book(), "regimes[0] (calm).corr': is not positive definite");
}

TEST_F(SimulateCli, RejectsTransitionRowsNotSummingToOne) {
  json m = json::parse(test::read_text(dir_ / "model.json"));
  m["transition"][1] = {0.5, 0.6};
  test::write_text(dir_ / "model.json", m.dump());
  expect_input_error(book(), "transition[1]");
}

TEST_F(SimulateCli, RejectsWrongShapes) {
  json m = json::parse(test::read_text(dir_ / "model.json"));
  m["regimes"][1]["mean"] = {0.0};
  test::write_text(dir_ / "model.json", m.dump());
  expect_input_error(book(), "regimes[1].mean");
}

TEST_F(SimulateCli, RejectsUnknownYamlKey) {
  write_book("  pathz: 10\n");
  expect_input_error(book(), "simulation.pathz: unknown key");
}

TEST_F(SimulateCli, RejectsNegativePaths) {
  write_book("  paths: -3\n");
  // The key appears twice; yaml-cpp keeps the first, so write a clean book instead.
  test::write_text(dir_ / "book.yaml", "model: model.json\nportfolio:\n  holdings: {ETH: 1}\nsimulation:\n  paths: -3\n");
  expect_input_error(book(), "simulation.paths");
  write_book("");
  expect_input_error(book() + " --paths -5", "--paths");
}

TEST_F(SimulateCli, RejectsMissingFilesAndUnknownAssets) {
  expect_input_error("--config " + (dir_ / "nope.yaml").string(), "nope.yaml");
  write_book("", "missing-model.json");
  expect_input_error(book(), "missing-model.json");
  test::write_text(dir_ / "book.yaml", "model: model.json\nportfolio:\n  holdings: {DOGE: 1}\n");
  expect_input_error(book(), "portfolio.holdings.DOGE");
}

TEST_F(SimulateCli, CudaWithoutDeviceExitsFour) {
#if BETAHEDGE_HAVE_CUDA
  std::string why;
  if (cuda_device_usable(&why)) GTEST_SKIP() << "a CUDA device is present";
#endif
  const auto r = test::run_cli("simulate --quiet --backend cuda " + book() + " --out " + (dir_ / "x").string());
  EXPECT_EQ(r.exit_code, 4) << r.stderr_text;
  EXPECT_EQ(r.stderr_text.rfind("error: ", 0), 0u);
  EXPECT_FALSE(fs::exists(dir_ / "x"));
}

TEST_F(SimulateCli, ExistingOutputIsReplacedWhole) {
  // An earlier run's output, one of whose files (listed in its manifest) this run does not write.
  run_ok("", "out");
  json manifest = json::parse(test::read_text(dir_ / "out" / "manifest.json"));
  manifest["files"].push_back("stale.txt");
  test::write_text(dir_ / "out" / "manifest.json", manifest.dump());
  test::write_text(dir_ / "out" / "stale.txt", "old");
  run_ok("", "out");
  EXPECT_FALSE(fs::exists(dir_ / "out" / "stale.txt"));
  EXPECT_TRUE(fs::exists(dir_ / "out" / "summary.json"));
}

}  // namespace
}  // namespace betahedge

namespace betahedge {
namespace {

TEST_F(SimulateCli, AWrongCpuInstructionSetIsAOneLineInputErrorAndNoOutput) {
  for (const std::string value : {"bogus", "AVX2", "avx512"}) {
    bool supported = false;
    for (const CpuIsaVariant& v : cpu_isa_variants()) supported |= v.name == value && v.supported;
    if (supported) continue;  // a machine with AVX-512 runs it
    const auto r = test::run_cli("simulate --quiet --backend cpu " + book() + " --out " + (dir_ / "x").string(),
                                 "BETAHEDGE_CPU_ISA=" + value);
    EXPECT_EQ(r.exit_code, 2) << value << ": " << r.stderr_text;
    EXPECT_EQ(r.stderr_text.rfind("error: BETAHEDGE_CPU_ISA '" + value + "'", 0), 0u) << r.stderr_text;
    EXPECT_EQ(std::count(r.stderr_text.begin(), r.stderr_text.end(), '\n'), 1) << r.stderr_text;
    EXPECT_FALSE(fs::exists(dir_ / "x"));
  }
}

TEST_F(SimulateCli, EveryCpuInstructionSetGivesTheSameFigures) {
  std::vector<json> summaries;
  for (const CpuIsaVariant& v : cpu_isa_variants()) {
    if (!v.supported) continue;
    const fs::path out = dir_ / ("isa-" + v.name);
    const auto r = test::run_cli("simulate --quiet --backend cpu --paths 3000 " + book() + " --out " + out.string(),
                                 "BETAHEDGE_CPU_ISA=" + v.name);
    ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
    json summary = json::parse(test::read_text(out / "summary.json"));
    summary.erase("run");  // device, threads, instruction set and timing
    summaries.push_back(summary);
  }
  ASSERT_GE(summaries.size(), 2u) << "this CPU runs only the baseline variant";
  for (const json& s : summaries) EXPECT_EQ(s, summaries.front());
}

}  // namespace
}  // namespace betahedge
